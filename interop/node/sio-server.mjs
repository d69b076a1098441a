// A socket.io Server (the npm package, pinned in package.json) on
// 127.0.0.1, for the Go client's interop tests. The first stdout line is
// the port; then events as JSON lines (report in peer.mjs):
//   {event:"connection", data:"<id>[ recovered]"}
//   {event:"disconnect", reason}
//   {event:"job", data:"<n>:<attempt>"}
// Arguments (key=value): port=N (default: any), recovery=on,
// pingInterval=ms, pingTimeout=ms.
//
// The main namespace requires auth {token:"secret"} (otherwise the
// middleware refuses with "not authorized" and data {code:401}), greets
// each socket with "welcome" <id>, and answers:
//   echo(...args, ack)      ack(...args)
//   join(room, ack)         joins room, then ack()
//   to-room(room, ev, data) io.to(room).emit(ev, data)
//   broadcast(ev, data)     socket.broadcast.emit(ev, data)
//   ask()                   emitWithAck("question", "name?"), then emits
//                           "answer" with the reply
//   count(n)                emits "n" 0..n-1
//   cut()                   closes the socket's connection, then emits "n"
//                           3, 4, 5 to everyone (missed by the cut client)
//   job(n, ack)             ignores each n's first attempt, acks the next
//                           ("done", n)
//   engines(ack)            ack(number of engine connections)
//   bye()                   disconnects the socket
// Namespace /admin (no auth): where(ack) -> ack("/admin").
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { exitAfter, report } from './peer.mjs';

const opts = { port: 0, recovery: false, pingInterval: 25000, pingTimeout: 20000 };
for (const arg of process.argv.slice(2)) {
  const i = arg.indexOf('=');
  const key = arg.slice(0, i);
  const value = arg.slice(i + 1);
  if (key === 'recovery') opts.recovery = value === 'on';
  else if (key in opts) opts[key] = Number(value);
  else throw new Error(`unknown argument ${arg}`);
}
exitAfter(60_000);

const httpServer = createServer();
const io = new Server(httpServer, {
  pingInterval: opts.pingInterval,
  pingTimeout: opts.pingTimeout,
  connectionStateRecovery: opts.recovery ? { maxDisconnectionDuration: 60_000 } : undefined,
});

io.use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.token === 'secret') return next();
  const err = new Error('not authorized');
  err.data = { code: 401 };
  next(err);
});

const attempts = new Map();
io.on('connection', (socket) => {
  report({ event: 'connection', data: socket.id + (socket.recovered ? ' recovered' : '') });
  socket.emit('welcome', socket.id);
  socket.on('echo', (...args) => {
    const ack = args.pop();
    ack(...args);
  });
  socket.on('join', (room, ack) => {
    socket.join(room);
    ack();
  });
  socket.on('to-room', (room, ev, data) => io.to(room).emit(ev, data));
  socket.on('broadcast', (ev, data) => socket.broadcast.emit(ev, data));
  socket.on('ask', async () => {
    const reply = await socket.emitWithAck('question', 'name?');
    socket.emit('answer', reply);
  });
  socket.on('count', (n) => {
    for (let i = 0; i < n; i++) socket.emit('n', i);
  });
  socket.on('cut', () => {
    socket.conn.close();
    setTimeout(() => {
      for (let i = 3; i < 6; i++) io.emit('n', i);
    }, 100);
  });
  socket.on('job', (n, ack) => {
    const a = (attempts.get(n) ?? 0) + 1;
    attempts.set(n, a);
    report({ event: 'job', data: `${n}:${a}` });
    if (a > 1) ack('done', n);
  });
  socket.on('engines', (ack) => ack(io.engine.clientsCount));
  socket.on('bye', () => socket.disconnect());
  socket.on('disconnect', (reason) => report({ event: 'disconnect', reason }));
});

io.of('/admin').on('connection', (socket) => {
  socket.on('where', (ack) => ack('/admin'));
});

httpServer.listen(opts.port, '127.0.0.1', () => {
  process.stdout.write(`${httpServer.address().port}\n`);
});
