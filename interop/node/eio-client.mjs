// An engine.io-client Socket (the npm package, pinned in package.json) that
// connects to the Go engineio server under test and runs one scenario.
//
// Arguments (key=value):
//   url=http://127.0.0.1:PORT   the server (path /engine.io/)
//   transports=polling,websocket  the client's transports; with both, the
//                               scenario waits for the upgrade (except
//                               "order" and "heartbeat", which run across it)
//   scenario=NAME               see the scenarios object below
//   text=N binary=N             sizes of the "big" and "too-big" payloads
//   count=N                     messages of the "order" scenario
//   hold=MS                     how long "heartbeat" stays connected
//
// Events, one JSON line each on stdout (report in peer.mjs):
//   {event:"open", transport, sid}
//   {event:"upgrading"|"upgrade", transport}
//   {event:"sent", binary, length, sha256, data, transport}
//   {event:"message", binary, length, sha256, data, transport, ok}
//       ok: the message is byte-identical to, and of the same type as, the
//       oldest sent message not yet echoed (for scenarios that echo)
//   {event:"pings", n, transport}        heartbeat: pings seen while held
//   {event:"error", message}
//   {event:"close", reason, desc, code, status}
//       reason and description as engine.io-client reports them; code is the
//       WebSocket close code and status the HTTP status, when there is one
//   {event:"done"}                       every echo is back, or the
//                                        scenario's action is taken
// data is the message itself when it is at most 64 bytes: text as is,
// binary in hex.
import { Socket } from 'engine.io-client';
import { createHash, randomBytes } from 'node:crypto';
import { exitAfter, report } from './peer.mjs';

const opts = { url: '', transports: 'polling,websocket', scenario: '', text: 0, binary: 0, count: 200, hold: 1000 };
for (const arg of process.argv.slice(2)) {
  const i = arg.indexOf('=');
  const key = arg.slice(0, i);
  const value = arg.slice(i + 1);
  if (!(key in opts)) throw new Error(`unknown argument ${arg}`);
  opts[key] = typeof opts[key] === 'number' ? Number(value) : value;
}
exitAfter(60_000);

const transports = opts.transports.split(',');
const upgrading = transports.length > 1;
const socket = new Socket(opts.url, { transports });

function describe(data) {
  const binary = typeof data !== 'string';
  const bytes = binary ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data, 'utf8');
  const out = {
    binary,
    length: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    transport: socket.transport ? socket.transport.name : '',
  };
  if (bytes.length <= 64) out.data = binary ? bytes.toString('hex') : data;
  return out;
}

// Echo bookkeeping: every sent message is expected back, in order.
const pending = [];
let onAllEchoed = null;

function send(data) {
  pending.push(data);
  report({ event: 'sent', ...describe(data) });
  socket.send(data);
}

function sameMessage(sent, got) {
  const sentBinary = typeof sent !== 'string';
  const gotBinary = typeof got !== 'string';
  if (sentBinary !== gotBinary) return false;
  if (!sentBinary) return sent === got;
  return Buffer.from(sent.buffer, sent.byteOffset, sent.byteLength).equals(got);
}

socket.on('message', (data) => {
  // engine.io-client hands an empty text message (packet "4") over as
  // undefined, as it does with Node's server: count it as "".
  if (data === undefined) data = '';
  const expected = pending.shift();
  const ok = expected !== undefined && sameMessage(expected, data);
  report({ event: 'message', ...describe(data), ok });
  if (pending.length === 0 && onAllEchoed) onAllEchoed();
});

// echoAll sends every item and calls then once all have been echoed.
function echoAll(items, then) {
  onAllEchoed = () => {
    onAllEchoed = null;
    report({ event: 'done' });
    then();
  };
  for (const item of items) send(item);
}

let pings = 0;
socket.on('ping', () => { pings++; });
socket.on('open', () => report({ event: 'open', transport: socket.transport.name, sid: socket.id }));
socket.on('upgrading', (t) => report({ event: 'upgrading', transport: t.name }));
socket.on('upgrade', (t) => report({ event: 'upgrade', transport: t.name }));
socket.on('upgradeError', (err) => report({ event: 'error', message: `upgrade error: ${err.message}` }));
socket.on('error', (err) => report({ event: 'error', message: String(err && err.message ? err.message : err) }));
socket.on('close', (reason, description) => {
  const out = { event: 'close', reason, desc: '', code: 0, status: 0 };
  if (description instanceof Error) {
    out.desc = description.message;
    if (typeof description.description === 'number') out.status = description.description;
  } else if (description && typeof description === 'object') {
    out.desc = String(description.description ?? '');
    if (description.context && typeof description.context.code === 'number') out.code = description.context.code;
  }
  report(out);
});

// ready calls fn once the socket is open and, when it may upgrade, upgraded.
function ready(fn) {
  socket.once('open', () => {
    if (upgrading) socket.once('upgrade', () => fn());
    else fn();
  });
}

// text returns n bytes of ASCII text.
function text(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = 0x61 + ((i * 7 + (i >> 10)) % 26);
  return b.toString('latin1');
}

// orderItem is the i-th message of the "order" scenario: text, except every
// third one, binary.
function orderItem(i) {
  if (i % 3 === 2) {
    const b = Buffer.alloc(8);
    b.writeUInt32BE(i, 0);
    b.writeUInt32BE(0xfeedf00d, 4);
    return new Uint8Array(b);
  }
  return `m${i}`;
}

const scenarios = {
  // Text and binary messages, echoed.
  echo() {
    ready(() => echoAll([
      'hello',
      'héllo wörld ✓ 😀 中文',
      '',
      '4 looks like a packet',
      JSON.stringify({ a: 1, b: [true, null, 'x'] }),
      Uint8Array.from({ length: 256 }, (_, i) => i),
      Buffer.from('a Buffer \u0000 with a NUL', 'utf8'),
      new Uint8Array(0),
    ], () => socket.close()));
  },

  // Payloads at maxHttpBufferSize, echoed.
  big() {
    ready(() => echoAll([text(opts.text), new Uint8Array(randomBytes(opts.binary))], () => socket.close()));
  },

  // count messages back-to-back. With an upgrade: a quarter when the socket
  // opens (over polling, or held by the client once the probe succeeds), a
  // quarter when the probe has succeeded (held while the client pauses
  // polling, then sent over WebSocket) and the rest after the upgrade.
  order() {
    let next = 0;
    const burst = (n) => {
      for (const end = Math.min(opts.count, next + n); next < end; next++) send(orderItem(next));
    };
    onAllEchoed = () => {
      if (next < opts.count) return; // the rest is still to be sent
      onAllEchoed = null;
      report({ event: 'done' });
      socket.close();
    };
    socket.once('open', () => {
      if (!upgrading) {
        burst(opts.count);
        return;
      }
      burst(opts.count / 4);
      socket.once('upgrading', () => burst(opts.count / 4));
      socket.once('upgrade', () => burst(opts.count));
    });
  },

  // Stay connected for hold ms, answering pings, then close.
  heartbeat() {
    socket.once('open', () => {
      setTimeout(() => {
        report({ event: 'pings', n: pings, transport: socket.transport.name });
        socket.close();
      }, opts.hold);
    });
  },

  // Stop answering pings (once ready): the server must time out. Pongs go
  // through Socket._sendPacket, a private method of the pinned version;
  // probes and messages do not, so the upgrade still works.
  'ping-timeout'() {
    ready(() => {
      const sendPacket = socket._sendPacket;
      socket._sendPacket = function (type, ...rest) {
        if (type === 'pong') return; // swallowed
        return sendPacket.call(this, type, ...rest);
      };
      report({ event: 'done' });
    });
  },

  // Ask the server to close the session ("cmd:close": it sends "bye" first).
  'server-close'() {
    ready(() => {
      socket.send('cmd:close');
      report({ event: 'done' });
    });
  },

  // One echo, then the client closes.
  'client-close'() {
    ready(() => echoAll(['hello'], () => socket.close()));
  },

  // A text message one byte over maxHttpBufferSize once encoded.
  'too-big'() {
    ready(() => {
      socket.send(text(opts.text));
      report({ event: 'done' });
    });
  },
};

const run = scenarios[opts.scenario];
if (!run) throw new Error(`unknown scenario ${opts.scenario}`);
run();
