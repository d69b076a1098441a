// The Node side of the Engine.IO throughput comparison (bench/, wsbench
// -only eio): an engine.io Server (the npm package pinned in package.json)
// with its defaults on 127.0.0.1, on a port the system picks. The first
// stdout line is the port; nothing else is printed on stdout.
//
// Every message is sent back to its socket as it came (text or binary),
// except the text command "bcast:K:<filler>": the whole command is then
// sent K times to every open socket (the sender included) and not echoed.
// bench/internal/eioserver does the same with github.com/wsio/wsio/engineio.
//
// The process exits when its stdin closes (the Go parent went away or is
// done) or after limit=<seconds> (default 900).
import { createServer } from 'node:http';
import { Server } from 'engine.io';

let limit = 900;
for (const arg of process.argv.slice(2)) {
  const i = arg.indexOf('=');
  const key = arg.slice(0, i);
  const value = arg.slice(i + 1);
  if (key === 'limit') limit = Number(value);
  else throw new Error(`unknown argument ${arg}`);
}

// Node's defaults: pingInterval 25000, pingTimeout 20000,
// maxHttpBufferSize 1e6, perMessageDeflate false, httpCompression
// {threshold: 1024}, transports polling and websocket.
const engine = new Server();
const httpServer = createServer();
engine.attach(httpServer);

const PREFIX = 'bcast:';

engine.on('connection', (socket) => {
  socket.on('message', (data) => {
    if (typeof data === 'string' && data.startsWith(PREFIX)) {
      const end = data.indexOf(':', PREFIX.length);
      const k = end > 0 ? Number(data.slice(PREFIX.length, end)) : NaN;
      if (Number.isInteger(k) && k >= 1 && k <= 10000) {
        const clients = Object.values(engine.clients);
        for (let i = 0; i < k; i++) {
          for (const c of clients) c.send(data);
        }
        return;
      }
    }
    socket.send(data);
  });
});

const stop = () => {
  engine.close();
  httpServer.close();
  process.exit(0);
};
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
setTimeout(() => {
  process.stderr.write(`bench-eio-server: time limit of ${limit}s reached\n`);
  process.exit(2);
}, limit * 1000).unref();

httpServer.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${httpServer.address().port}\n`);
});
