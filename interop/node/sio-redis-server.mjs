// A socket.io Server (npm, pinned) joined to a Redis cluster with
// @socket.io/redis-adapter 8.3.0, for the mixed Go + Node cluster test.
// The first stdout line is the port; then events as JSON lines:
//   {event:"sse", data:<text>}   a server-side event from another server
// Arguments (key=value): redis=redis://127.0.0.1:PORT; adapter=streams
// uses @socket.io/redis-streams-adapter 0.3.1 instead, with connection
// state recovery (maxDisconnectionDuration 60 s), and with it
// streamCount=N and useShardedPubSub=true set those options; adapter=sharded uses
// createShardedAdapter of @socket.io/redis-adapter (sharded pub/sub,
// subscriptionMode "dynamic").
//
// Sockets of the main namespace (no auth) may call:
//   join(room, ack)              joins room, then ack()
//   emit-all(ev, data)           io.emit(ev, data)
//   emit-room(room, ev, data)    io.to(room).emit(ev, data)
//   emit-bin(ev)                 io.emit(ev, {bytes: <Buffer 01 02 03>})
//   fetch(room, ack)             ack(ids of io.in(room).fetchSockets(), sorted)
//   server-count(ack)            ack(io.of("/").adapter.serverCount())
//   sse-ack(ack)                 ack(answers of io.serverSideEmitWithAck("ping", "node"))
//   bcast-ack(ev, ack)           ack(answers of io.timeout(3000).emitWithAck(ev))
//   emitter(room, ev, data)      @socket.io/redis-emitter: emitter.to(room).emit(ev, data)
//                                (to everyone when room is "")
// Server-side events: "ping" is answered with "pong from node"; "hello" is
// reported.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { Emitter } from '@socket.io/redis-emitter';
import { createClient } from 'redis';
import { exitAfter, report } from './peer.mjs';

let redisURL = '';
let kind = 'classic';
const streamsOptions = {};
for (const arg of process.argv.slice(2)) {
  const i = arg.indexOf('=');
  const key = arg.slice(0, i);
  if (key === 'redis') redisURL = arg.slice(i + 1);
  else if (key === 'adapter') kind = arg.slice(i + 1);
  else if (key === 'streamCount') streamsOptions.streamCount = Number(arg.slice(i + 1));
  else if (key === 'useShardedPubSub') streamsOptions.useShardedPubSub = arg.slice(i + 1) === 'true';
  else throw new Error(`unknown argument ${arg}`);
}
exitAfter(90_000);

const pub = createClient({ url: redisURL });
const sub = pub.duplicate();
const emitterClient = pub.duplicate();
for (const c of [pub, sub, emitterClient]) c.on('error', () => {});
await Promise.all([pub.connect(), sub.connect(), emitterClient.connect()]);
const emitter = new Emitter(emitterClient);

const httpServer = createServer();
let io;
if (kind === 'streams') {
  const { createAdapter: createStreamsAdapter } = await import('@socket.io/redis-streams-adapter');
  io = new Server(httpServer, {
    adapter: createStreamsAdapter(pub, streamsOptions),
    connectionStateRecovery: { maxDisconnectionDuration: 60_000 },
  });
} else if (kind === 'sharded') {
  io = new Server(httpServer, { adapter: createShardedAdapter(pub, sub) });
} else {
  io = new Server(httpServer, { adapter: createAdapter(pub, sub) });
}

io.on('hello', (text) => report({ event: 'sse', data: text }));
io.on('ping', (from, cb) => cb('pong from node'));

io.on('connection', (socket) => {
  report({ event: 'connection', data: socket.id + (socket.recovered ? ' recovered' : '') });
  socket.on('join', (room, ack) => {
    socket.join(room);
    ack();
  });
  socket.on('emit-all', (ev, data) => io.emit(ev, data));
  socket.on('emit-room', (room, ev, data) => io.to(room).emit(ev, data));
  socket.on('emit-bin', (ev) => io.emit(ev, { bytes: Buffer.from([1, 2, 3]) }));
  socket.on('fetch', async (room, ack) => {
    try {
      const sockets = room ? await io.in(room).fetchSockets() : await io.fetchSockets();
      ack(sockets.map((s) => s.id).sort());
    } catch (err) {
      ack({ error: String(err) });
    }
  });
  socket.on('server-count', async (ack) => ack(await io.of('/').adapter.serverCount()));
  socket.on('sse-ack', async (ack) => {
    try {
      ack(await io.serverSideEmitWithAck('ping', 'node'));
    } catch (err) {
      ack({ error: String(err) });
    }
  });
  socket.on('bcast-ack', async (ev, ack) => {
    try {
      ack(await io.timeout(3000).emitWithAck(ev));
    } catch (err) {
      ack({ error: String(err) });
    }
  });
  socket.on('emitter', (room, ev, data) => {
    (room ? emitter.to(room) : emitter).emit(ev, data);
  });
});

httpServer.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${httpServer.address().port}\n`);
});
