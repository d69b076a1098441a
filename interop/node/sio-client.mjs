// socket.io-client (the npm package, pinned in package.json) against the Go
// socketio server under test, running one scenario.
//
// Arguments (key=value):
//   url=http://127.0.0.1:PORT   the server (path /socket.io/)
//   transports=polling|websocket|default
//                               default leaves the client's own choice
//                               (polling, then the upgrade to WebSocket);
//                               the scenario then waits for the upgrade
//   scenario=NAME               see the scenarios object below
//
// Events, one JSON line each on stdout (report in peer.mjs). Every event
// has "event" and, where it applies, "client" (which socket), "transport"
// (the engine's transport at that moment) and scenario fields.
import { io, Manager } from 'socket.io-client';
import { createHash } from 'node:crypto';
import { exitAfter, report } from './peer.mjs';

const opts = { url: '', transports: 'default', scenario: '' };
for (const arg of process.argv.slice(2)) {
  const i = arg.indexOf('=');
  const key = arg.slice(0, i);
  if (!(key in opts)) throw new Error(`unknown argument ${arg}`);
  opts[key] = arg.slice(i + 1);
}
exitAfter(25_000);

const upgrading = opts.transports === 'default';

// options returns the client options of the scenario's transports.
function options(extra = {}) {
  const o = { forceNew: true, reconnection: false, timeout: 5000, ...extra };
  if (!upgrading) o.transports = [opts.transports];
  return o;
}

function transportOf(socket) {
  const engine = socket.io.engine;
  return engine && engine.transport ? engine.transport.name : '';
}

// ready resolves once socket is connected and, in default mode, upgraded.
function ready(socket) {
  return new Promise((resolve, reject) => {
    const done = () => {
      const engine = socket.io.engine;
      if (!upgrading || engine.transport.name === 'websocket') return resolve();
      engine.once('upgrade', () => resolve());
      engine.once('upgradeError', (err) => reject(err));
    };
    if (socket.connected) done();
    else {
      socket.once('connect', done);
      socket.once('connect_error', (err) => reject(err));
    }
  });
}

function sha256(buf) {
  return createHash('sha256').update(buf).digest('hex');
}

function hex(buf) {
  return Buffer.from(buf).toString('hex');
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// bytes returns n bytes 0, 1, 2... (mod 256) starting at start.
function bytes(n, start = 0) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (start + i) & 0xff;
  return b;
}

function finish(...sockets) {
  for (const s of sockets) s.disconnect();
  report({ event: 'done' });
  // Give the close packets their chance to leave, then end.
  setTimeout(() => process.exit(0), 100).unref();
}

const scenarios = {
  // A wrong token gets connect_error with our ConnectError's message and
  // data; the right one connects and the server sees the auth.
  async auth() {
    const bad = io(opts.url, options({ auth: { token: 'wrong' } }));
    const err = await new Promise((resolve) => bad.once('connect_error', resolve));
    report({ event: 'connect_error', message: err.message, data: err.data, active: bad.active });
    bad.close();
    const good = io(opts.url, options({ auth: { token: 'secret' } }));
    await ready(good);
    report({ event: 'connect', id: good.id, transport: transportOf(good) });
    const who = await good.timeout(5000).emitWithAck('whoami');
    report({ event: 'whoami', data: who });
    finish(good);
  },

  // Acknowledgements both ways.
  async ack() {
    const socket = io(opts.url, options());
    socket.on('s2c', (n, label, cb) => {
      report({ event: 's2c', n, label, transport: transportOf(socket) });
      cb(n * 2, `${label}!`);
    });
    await ready(socket);
    report({ event: 'connect', id: socket.id, transport: transportOf(socket) });
    // emit with a callback
    const first = await new Promise((resolve) => {
      socket.emit('c2s', { n: 1, s: 'héllo' }, 'x', (...args) => resolve(args));
    });
    report({ event: 'ack', data: first, kind: 'callback' });
    // timeout(...).emitWithAck
    const second = await socket.timeout(5000).emitWithAck('c2s', { n: 2, s: 'two' }, 'y');
    report({ event: 'ack', data: second, kind: 'emitWithAck' });
    // a handler that never answers: the promise rejects
    try {
      await socket.timeout(300).emitWithAck('noanswer', 1);
      report({ event: 'noanswer', message: 'answered' });
    } catch (err) {
      report({ event: 'noanswer', message: err.message });
    }
    // Ask the server to call EmitWithAck (its s2c is answered above),
    // and wait for its report of the answer.
    const back = await socket.timeout(5000).emitWithAck('ask-me');
    report({ event: 'server-got', data: back, transport: transportOf(socket) });
    finish(socket);
  },

  // Buffers inside nested objects both ways.
  async binary() {
    const socket = io(opts.url, options());
    const got = [];
    socket.on('bin', (obj) => {
      const b = obj.deep.deeper[1].payload;
      got.push(b);
      report({
        event: 'bin',
        isBuffer: Buffer.isBuffer(b),
        length: b.length,
        sha256: sha256(b),
        label: obj.deep.deeper[0],
        top: Buffer.isBuffer(obj.top) ? hex(obj.top) : null,
      });
    });
    await ready(socket);
    report({ event: 'connect', id: socket.id, transport: transportOf(socket) });
    const big = bytes(70000, 7);
    const small = Buffer.from([0, 1, 2, 0xfe, 0xff]);
    report({ event: 'sent', length: big.length, sha256: sha256(big), small: hex(small) });
    const answer = await socket.timeout(5000).emitWithAck(
      'bin',
      { a: { b: { big, list: [1, { small }] } } },
      small,
    );
    const echoed = answer.x.y[0].z;
    report({
      event: 'ack',
      isBuffer: Buffer.isBuffer(echoed),
      length: echoed.length,
      sha256: sha256(echoed),
      note: answer.note,
    });
    // the server also emitted "bin" before answering
    while (got.length < 1) await sleep(10);
    finish(socket);
  },

  // A static and a dynamic namespace beside the main one, over one
  // connection; and a namespace nobody serves.
  async namespaces() {
    const manager = new Manager(opts.url, options());
    const sockets = { '/': manager.socket('/'), '/admin': manager.socket('/admin'), '/dyn-42': manager.socket('/dyn-42') };
    for (const [name, socket] of Object.entries(sockets)) {
      await ready(socket);
      report({ event: 'connect', client: name, id: socket.id, transport: transportOf(socket) });
    }
    const engineIDs = new Set(Object.values(sockets).map((s) => s.io.engine.id));
    report({ event: 'engines', n: engineIDs.size, managers: new Set(Object.values(sockets).map((s) => s.io)).size });
    for (const [name, socket] of Object.entries(sockets)) {
      const where = await socket.timeout(5000).emitWithAck('where');
      report({ event: 'where', client: name, data: where });
    }
    const none = manager.socket('/dyn-x');
    const err = await new Promise((resolve) => none.once('connect_error', resolve));
    report({ event: 'connect_error', client: '/dyn-x', message: err.message, data: err.data });
    // the others are still connected
    const again = await sockets['/dyn-42'].timeout(5000).emitWithAck('where');
    report({ event: 'where', client: '/dyn-42', data: again, connected: Object.values(sockets).every((s) => s.connected) });
    finish(...Object.values(sockets));
  },

  // Rooms and broadcasts: a joins room1 and vip, b joins room1.
  async rooms() {
    const a = io(opts.url, options());
    const b = io(opts.url, options());
    const ends = [];
    for (const [name, socket] of [['a', a], ['b', b]]) {
      socket.on('ev', (what) => report({ event: 'ev', client: name, data: what }));
      ends.push(new Promise((resolve) => socket.on('end', resolve)));
    }
    await Promise.all([ready(a), ready(b)]);
    report({ event: 'connect', client: 'a', id: a.id, transport: transportOf(a) });
    report({ event: 'connect', client: 'b', id: b.id, transport: transportOf(b) });
    await a.timeout(5000).emitWithAck('join', ['room1', 'vip']);
    await b.timeout(5000).emitWithAck('join', ['room1']);
    await a.timeout(5000).emitWithAck('fanout');
    await Promise.all(ends);
    finish(a, b);
  },

  // Volatile events from the socket and from a broadcast arrive.
  async volatile() {
    const socket = io(opts.url, options());
    socket.on('v', (what) => report({ event: 'v', data: what }));
    const marks = [];
    let next = null;
    socket.on('mark', (what) => {
      report({ event: 'mark', data: what });
      marks.push(what);
      if (next) next();
    });
    await ready(socket);
    report({ event: 'connect', id: socket.id, transport: transportOf(socket) });
    for (const step of ['socket', 'broadcast', 'namespace']) {
      const seen = new Promise((resolve) => { next = resolve; });
      socket.emit('volatile', step); // no ack: nothing else queued
      await seen;
    }
    finish(socket);
  },

  // The server disconnects the socket (not the connection).
  async 'server-disconnect'() {
    const socket = io(opts.url, options());
    await ready(socket);
    report({ event: 'connect', id: socket.id, transport: transportOf(socket) });
    const reason = new Promise((resolve) => socket.once('disconnect', (r, d) => resolve([r, d])));
    socket.emit('kick', false);
    const [r, d] = await reason;
    report({ event: 'disconnect', reason: r, desc: d ? String(d.description || d.message || d) : '', active: socket.active });
    finish(socket);
  },

  // The server disconnects the socket and closes the connection. The
  // client may reconnect (after 100 ms) if it takes that for a lost
  // connection: every disconnect and connect of the next 600 ms is reported.
  async 'server-disconnect-close'() {
    const socket = io(opts.url, options({ reconnection: true, reconnectionDelay: 100, randomizationFactor: 0 }));
    await ready(socket);
    report({ event: 'connect', id: socket.id, transport: transportOf(socket) });
    socket.on('connect', () => report({ event: 'reconnect', id: socket.id, transport: transportOf(socket) }));
    const reason = new Promise((resolve) => socket.on('disconnect', (r, d) => {
      report({ event: 'disconnect', reason: r, desc: d ? String(d.description || d.message || d) : '', active: socket.active });
      resolve();
    }));
    socket.emit('kick', true);
    await reason;
    await sleep(600);
    finish(socket);
  },

  // The client disconnects.
  async 'client-disconnect'() {
    const socket = io(opts.url, options());
    await ready(socket);
    report({ event: 'connect', id: socket.id, transport: transportOf(socket) });
    await socket.timeout(5000).emitWithAck('hello');
    const reason = new Promise((resolve) => socket.once('disconnect', (r) => resolve(r)));
    socket.disconnect();
    report({ event: 'disconnect', reason: await reason });
    finish(socket);
  },

  // The Go test shuts the server down once the client has said hello.
  async shutdown() {
    const socket = io(opts.url, options());
    await ready(socket);
    report({ event: 'connect', id: socket.id, transport: transportOf(socket) });
    const reason = new Promise((resolve) => socket.once('disconnect', (r, d) => resolve([r, d])));
    await socket.timeout(5000).emitWithAck('hello');
    report({ event: 'hello' }); // the Go test shuts the server down now
    const [r, d] = await reason;
    report({ event: 'disconnect', reason: r, desc: d ? String(d.description || d.message || d) : '', active: socket.active });
    finish(socket);
  },

  // Connection state recovery: after the first "e", the client closes its
  // engine (a lost connection to the Manager, which reconnects after 1 s);
  // the server emits 1..3 meanwhile; the recovered socket gets them once.
  async recovery() {
    const socket = io(opts.url, options({ reconnection: true, reconnectionDelay: 1000, randomizationFactor: 0 }));
    const seen = [];
    let closed = false;
    socket.on('e', (n) => {
      seen.push(n);
      report({ event: 'e', n, transport: transportOf(socket), connected: socket.connected });
      if (n === 0 && !closed) {
        closed = true;
        socket.io.engine.close();
      }
    });
    socket.on('disconnect', (r, d) => {
      report({ event: 'disconnect', reason: r, desc: d ? String(d.description || d.message || d) : '', active: socket.active });
    });
    socket.io.on('reconnect_attempt', (n) => report({ event: 'reconnect_attempt', n }));
    socket.on('connect', () => {
      report({ event: 'connect', id: socket.id, recovered: socket.recovered, transport: transportOf(socket) });
    });
    await ready(socket);
    socket.emit('arm'); // the server answers with e 0
    while (!seen.includes(3)) await sleep(10);
    await sleep(300); // duplicates would arrive by then
    report({ event: 'seen', data: seen, recovered: socket.recovered, id: socket.id });
    finish(socket);
  },
};

const run = scenarios[opts.scenario];
if (!run) throw new Error(`unknown scenario ${opts.scenario}`);
run().catch((err) => {
  report({ event: 'fail', message: String(err && err.stack ? err.stack : err) });
  process.exit(1);
});
