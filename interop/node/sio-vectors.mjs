// Prints golden Socket.IO v5 vectors recorded from the npm socket.io-parser:
// for each packet, the text part and the attachments its Encoder produces.
// Buffers in the input are written {"$bin": base64} in the "input" field.
// Used to (re)generate sioparser/testdata/golden.json:
//   node node/sio-vectors.mjs > ../sioparser/testdata/golden.json
// Object keys are in sorted order, as the Go encoder writes map keys.
import { Encoder, PacketType } from "socket.io-parser";

const b = (...bytes) => Buffer.from(bytes);
const cases = [
  { type: PacketType.CONNECT, nsp: "/" },
  { type: PacketType.CONNECT, nsp: "/admin", data: { sid: "oSO0OpakMV_3jnilAAAA" } },
  { type: PacketType.CONNECT, nsp: "/", data: { pid: "p", sid: "s" } },
  { type: PacketType.DISCONNECT, nsp: "/admin" },
  { type: PacketType.CONNECT_ERROR, nsp: "/", data: { data: { code: 42 }, message: "Not authorized" } },
  { type: PacketType.EVENT, nsp: "/", data: ["foo"] },
  { type: PacketType.EVENT, nsp: "/chat", id: 12, data: ["msg", 1, 2.5, -3, true, null, "é\n\"\u0001", { a: [1, { b: "c" }] }] },
  { type: PacketType.EVENT, nsp: "/", data: ["big", 1e21, 1e-7, 123456789012] },
  { type: PacketType.EVENT, nsp: "/", data: ["bin", b(1, 2, 3)] },
  { type: PacketType.EVENT, nsp: "/x", id: 0, data: ["deep", { a: [1, { k: b(4) }], z: b() }, [b(5, 6)]] },
  { type: PacketType.ACK, nsp: "/", id: 15, data: [] },
  { type: PacketType.ACK, nsp: "/admin", id: 7, data: ["ok", b(9)] },
];

const toInput = (v) => {
  if (Buffer.isBuffer(v)) return { $bin: v.toString("base64") };
  if (Array.isArray(v)) return v.map(toInput);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toInput(x)]));
  return v;
};

const encoder = new Encoder();
const out = cases.map((p) => {
  const input = { type: p.type, nsp: p.nsp, id: p.id, data: toInput(p.data) };
  const parts = encoder.encode(structuredClone(p));
  return {
    input,
    text: parts[0],
    attachments: parts.slice(1).map((x) => Buffer.from(x).toString("base64")),
  };
});
console.log(JSON.stringify(out, null, 2));
