// What ws-server.mjs and ws-client.mjs share: argument parsing, event
// reports (one JSON object per stdout line) and the echo behaviour the Go
// tests drive over the WebSocket itself.
import { createHash } from 'node:crypto';

// report writes one event as a JSON line on stdout.
export function report(event) {
  process.stdout.write(JSON.stringify(event) + '\n');
}

// parseArgs reads key=value arguments: deflate=on|off, maxPayload=N, url=U.
export function parseArgs(argv) {
  const opts = { deflate: false, maxPayload: 100 * 1024 * 1024, url: '' };
  for (const arg of argv) {
    const i = arg.indexOf('=');
    const key = i < 0 ? arg : arg.slice(0, i);
    const value = i < 0 ? '' : arg.slice(i + 1);
    if (key === 'deflate') opts.deflate = value === 'on';
    else if (key === 'maxPayload') opts.maxPayload = Number(value);
    else if (key === 'url') opts.url = value;
    else throw new Error(`unknown argument ${arg}`);
  }
  return opts;
}

// exitAfter ends the process if the test has not finished it by then, so a
// stuck run never outlives its test.
export function exitAfter(ms) {
  setTimeout(() => {
    report({ event: 'timeout' });
    process.exit(2);
  }, ms).unref();
}

// serve echoes every message with its type and obeys text commands:
//   close:<code>:<reason>  close with that code (none if empty) and reason
//   fragment-next:<n>      echo the next message in n fragments
//   ping:<data>            ping with data, then send the text "pinged"
// Commands are not echoed or reported; every other message is reported
// with its type, length and SHA-256.
export function serve(ws) {
  let fragments = 0;
  report({ event: 'open', extensions: ws.extensions });

  ws.on('message', (data, isBinary) => {
    if (!isBinary && data.length < 200 && command(ws, data.toString(), (n) => { fragments = n; })) {
      return;
    }
    const sha256 = createHash('sha256').update(data).digest('hex');
    report({ event: 'message', binary: isBinary, length: data.length, sha256 });
    if (fragments > 1) {
      sendFragments(ws, data, isBinary, fragments);
      report({ event: 'fragments', parts: fragments });
      fragments = 0;
      return;
    }
    fragments = 0;
    ws.send(data, { binary: isBinary });
  });
  ws.on('pong', (data) => report({ event: 'pong', data: data.toString() }));
  ws.on('error', (err) => report({ event: 'error', message: err.message, errorCode: err.code || '' }));
  ws.on('close', (code, reason) => {
    report({ event: 'close', code, reason: reason.toString() });
  });
}

function command(ws, text, setFragments) {
  const colon = text.indexOf(':');
  if (colon < 0) return false;
  const name = text.slice(0, colon);
  const arg = text.slice(colon + 1);
  switch (name) {
    case 'close': {
      const i = arg.indexOf(':');
      const code = i < 0 ? arg : arg.slice(0, i);
      const reason = i < 0 ? '' : arg.slice(i + 1);
      if (code === '') ws.close();
      else ws.close(Number(code), reason);
      return true;
    }
    case 'fragment-next':
      setFragments(Number(arg));
      return true;
    case 'ping':
      ws.ping(arg);
      ws.send('pinged');
      return true;
  }
  return false;
}

// sendFragments sends data as one message in n frames of about equal size.
function sendFragments(ws, data, isBinary, n) {
  const size = Math.ceil(data.length / n);
  for (let i = 0; i < n; i++) {
    const part = data.subarray(i * size, Math.min((i + 1) * size, data.length));
    ws.send(part, { binary: isBinary, fin: i === n - 1 });
  }
}
