// A ws WebSocketServer on 127.0.0.1, on a port the system picks, for one
// connection. The first stdout line is the port; then events as JSON lines
// (see peer.mjs). Arguments: deflate=on|off maxPayload=N.
import { WebSocketServer } from 'ws';
import { exitAfter, parseArgs, report, serve } from './peer.mjs';

const opts = parseArgs(process.argv.slice(2));
exitAfter(60_000);

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  perMessageDeflate: opts.deflate,
  maxPayload: opts.maxPayload,
});
wss.on('listening', () => process.stdout.write(`${wss.address().port}\n`));
wss.on('error', (err) => {
  report({ event: 'error', message: err.message, errorCode: err.code || '' });
  process.exit(1);
});
wss.on('connection', (ws) => {
  // One connection per run: stop listening, exit once it has closed.
  wss.close();
  serve(ws);
});
