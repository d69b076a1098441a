// An engine.io Server (the npm package, pinned in package.json) on
// 127.0.0.1, on a port the system picks, for one session. The first stdout
// line is the port; then events as JSON lines (report in peer.mjs):
//   {event:"open", data:<transport>}     a session opened
//   {event:"upgrade", data:<transport>}  it moved to another transport
//   {event:"message", binary, length, sha256}
//   {event:"close", reason}              it closed; the process then exits
// Arguments (key=value): transports=polling,websocket pingInterval=ms
// pingTimeout=ms maxHttpBufferSize=bytes.
//
// Every message is echoed with its type, except these text commands:
//   cmd:close   the server closes the session
//   cmd:freeze  the process stops itself with SIGSTOP: the server stops
//               answering anything (the Go test kills it)
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { Server } from 'engine.io';
import { exitAfter, report } from './peer.mjs';

const opts = { transports: ['polling', 'websocket'], pingInterval: 25000, pingTimeout: 20000, maxHttpBufferSize: 1e6 };
for (const arg of process.argv.slice(2)) {
  const i = arg.indexOf('=');
  const key = arg.slice(0, i);
  const value = arg.slice(i + 1);
  if (key === 'transports') opts.transports = value.split(',');
  else if (key in opts) opts[key] = Number(value);
  else throw new Error(`unknown argument ${arg}`);
}
exitAfter(60_000);

const httpServer = createServer();
const engine = new Server(opts);
engine.attach(httpServer);

engine.on('connection', (socket) => {
  report({ event: 'open', data: socket.transport.name });
  socket.on('upgrade', (transport) => report({ event: 'upgrade', data: transport.name }));
  socket.on('message', (data) => {
    const binary = typeof data !== 'string';
    if (!binary && data === 'cmd:close') {
      socket.close();
      return;
    }
    if (!binary && data === 'cmd:freeze') {
      process.kill(process.pid, 'SIGSTOP');
      return;
    }
    const sha256 = createHash('sha256').update(data).digest('hex');
    const length = binary ? data.length : Buffer.byteLength(data);
    report({ event: 'message', binary, length, sha256 });
    socket.send(data);
  });
  socket.on('close', (reason) => {
    report({ event: 'close', reason });
    // One session per run: let the last frames go out, then exit.
    setTimeout(() => process.exit(0), 50);
  });
});

httpServer.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${httpServer.address().port}\n`);
});
