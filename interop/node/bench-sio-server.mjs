// The Node side of the Socket.IO throughput comparison (bench/, wsbench
// -only sio): a socket.io Server (npm socket.io, installed in
// interop/node_modules) with its defaults on 127.0.0.1, on a port the
// system picks. The first stdout line is the port; nothing else is printed
// on stdout.
//
// "echo" is acknowledged with its arguments; "bcast" with K and data emits
// "msg" with data K times to every socket of the main namespace (the sender
// included). bench/internal/sioserver does the same with
// github.com/wsio/wsio/socketio.
//
// With redis=redis://HOST:PORT the server joins a cluster through Redis
// with @socket.io/redis-adapter (the cross-server measurement);
// adapter=sharded uses its createShardedAdapter (sharded pub/sub).
//
// The process exits when its stdin closes (the Go parent went away or is
// done) or after limit=<seconds> (default 900).
import { createServer } from 'node:http';
import { Server } from 'socket.io';

let limit = 900;
let redisURL = '';
let kind = 'classic';
for (const arg of process.argv.slice(2)) {
  const i = arg.indexOf('=');
  const key = arg.slice(0, i);
  const value = arg.slice(i + 1);
  if (key === 'limit') limit = Number(value);
  else if (key === 'redis') redisURL = value;
  else if (key === 'adapter') kind = value;
  else throw new Error(`unknown argument ${arg}`);
}

const httpServer = createServer();
const opts = {};
if (redisURL) {
  const { createAdapter, createShardedAdapter } = await import('@socket.io/redis-adapter');
  const { createClient } = await import('redis');
  const pub = createClient({ url: redisURL });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  opts.adapter = kind === 'sharded' ? createShardedAdapter(pub, sub) : createAdapter(pub, sub);
}
const io = new Server(httpServer, opts);

io.on('connection', (socket) => {
  socket.on('echo', (...args) => {
    const ack = args.pop();
    if (typeof ack === 'function') ack(...args);
  });
  socket.on('bcast', (k, data) => {
    if (!Number.isInteger(k) || k < 1 || k > 10000) return;
    for (let i = 0; i < k; i++) io.emit('msg', data);
  });
});

const stop = () => {
  io.close();
  process.exit(0);
};
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
setTimeout(() => {
  process.stderr.write(`bench-sio-server: time limit of ${limit}s reached\n`);
  process.exit(2);
}, limit * 1000).unref();

httpServer.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${httpServer.address().port}\n`);
});
