// Prints golden Engine.IO v4 vectors recorded from the npm engine.io-parser:
// for each packet list, the long-polling payload encodePayload produces.
// Used to (re)generate eioparser/testdata/golden.json:
//   node node/eio-vectors.mjs > ../eioparser/testdata/golden.json
import { encodePayload, encodePacket } from "engine.io-parser";

const bin = (bytes) => Buffer.from(bytes);
const cases = [
  [{ type: "open", data: '{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}' }],
  [{ type: "close" }],
  [{ type: "ping" }],
  [{ type: "ping", data: "probe" }],
  [{ type: "pong", data: "probe" }],
  [{ type: "message", data: "hello" }],
  [{ type: "message", data: "€ and 😀" }],
  [{ type: "message", data: "" }],
  [{ type: "upgrade" }],
  [{ type: "noop" }],
  [{ type: "message", data: bin([1, 2, 3, 4]) }],
  [{ type: "message", data: bin([]) }],
  [{ type: "message", data: "hello" }, { type: "message", data: "€" }, { type: "message", data: bin([1, 2, 3, 4]) }],
  [{ type: "ping" }, { type: "message", data: "a\u001eb" }],
];

const toJSON = (p) =>
  Buffer.isBuffer(p.data)
    ? { type: p.type, binary: true, data: p.data.toString("base64") }
    : { type: p.type, data: p.data ?? "" };

const out = [];
for (const packets of cases) {
  const payload = await new Promise((resolve) => encodePayload(packets, resolve));
  const ws = await Promise.all(
    packets.map((p) => new Promise((resolve) => encodePacket(p, true, (e) => resolve(Buffer.isBuffer(e) ? { binary: e.toString("base64") } : { text: e })))),
  );
  out.push({ packets: packets.map(toJSON), payload, websocket: ws });
}
console.log(JSON.stringify(out, null, 2));
