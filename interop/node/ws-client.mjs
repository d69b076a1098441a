// A ws client that connects to url=ws://... and serves the connection as
// peer.mjs describes, reporting events as JSON lines on stdout.
// Arguments: url=U deflate=on|off maxPayload=N.
import WebSocket from 'ws';
import { exitAfter, parseArgs, report, serve } from './peer.mjs';

const opts = parseArgs(process.argv.slice(2));
exitAfter(60_000);

const ws = new WebSocket(opts.url, {
  perMessageDeflate: opts.deflate,
  maxPayload: opts.maxPayload,
});
let opened = false;
ws.on('open', () => {
  opened = true;
  serve(ws);
});
ws.on('unexpected-response', (req, res) => {
  report({ event: 'error', message: `handshake answered ${res.statusCode}`, errorCode: '' });
  process.exit(1);
});
ws.on('error', (err) => {
  // After 'open', serve reports errors.
  if (!opened) report({ event: 'error', message: err.message, errorCode: err.code || '' });
});
