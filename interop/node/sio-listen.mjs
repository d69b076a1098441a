// A socket.io-client (npm, pinned) that connects to url and reports, as
// JSON lines: {event:"connect", data:<id>} once connected, then
// {event:"got", data:"<event>:<first argument>"} for every event. It
// answers the event "q" with "answer from <id>". Arguments (key=value):
// url=URL, transports=polling,websocket.
import { io } from 'socket.io-client';
import { exitAfter, report } from './peer.mjs';

const opts = { url: '', transports: ['polling', 'websocket'] };
for (const arg of process.argv.slice(2)) {
  const i = arg.indexOf('=');
  const key = arg.slice(0, i);
  const value = arg.slice(i + 1);
  if (key === 'url') opts.url = value;
  else if (key === 'transports') opts.transports = value.split(',');
  else throw new Error(`unknown argument ${arg}`);
}
exitAfter(90_000);

const socket = io(opts.url, { transports: opts.transports, reconnection: false });
socket.on('connect', () => report({ event: 'connect', data: socket.id }));
socket.on('connect_error', (err) => report({ event: 'connect_error', message: err.message }));
socket.on('q', (ack) => ack(`answer from ${socket.id}`));
socket.onAny((event, ...args) => {
  const first = args.length && typeof args[0] !== 'function' ? String(args[0]) : '';
  report({ event: 'got', data: `${event}:${first}` });
});
