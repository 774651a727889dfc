// The choir's binary audio frames, protocol version 1 (crates/choir/src/protocol.rs):
// version (1 byte), kind (1), `end` (8, big-endian timeline position in 48 kHz samples,
// just after the last sample), packet count (2), then per packet its length (2) and its
// Opus bytes (mono, 48 kHz, 60 ms). The codec worker reads and writes them; nothing else
// touches the bytes.

export const VERSION = 1;
export const KIND_VOICE = 1;
export const KIND_MIX = 2;
export const KIND_MONITOR = 3;
/** A voice frame from a fresh encoder: the server starts a fresh decoder for it. */
export const KIND_START = 4;
/** Samples in one Opus packet, both ways (60 ms at 48 kHz); the server refuses others. */
export const PACKET = 2880;
export const MAX_PACKETS = 32;
const HEADER = 12;

/**
 * One frame as bytes. `end` is a Number (timeline positions stay below 2^53) written as
 * a 64-bit integer; `packets` are Uint8Arrays.
 */
export function writeFrame(kind, end, packets) {
  if (packets.length > MAX_PACKETS) throw new Error(`${packets.length} packets in one frame; at most ${MAX_PACKETS}`);
  const size = HEADER + packets.reduce((n, p) => n + 2 + p.byteLength, 0);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, VERSION);
  view.setUint8(1, kind);
  view.setBigUint64(2, BigInt(end));
  view.setUint16(10, packets.length);
  let at = HEADER;
  for (const p of packets) {
    view.setUint16(at, p.byteLength);
    bytes.set(p, at + 2);
    at += 2 + p.byteLength;
  }
  return bytes.buffer;
}

/** A frame read back: `{kind, end, packets}`, or an Error saying what is wrong. */
export function readFrame(buffer) {
  const bytes = new Uint8Array(buffer);
  if (bytes.byteLength < HEADER) return new Error(`the frame is ${bytes.byteLength} bytes, shorter than its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint8(0) !== VERSION) return new Error(`protocol version ${view.getUint8(0)} is not spoken here`);
  const kind = view.getUint8(1);
  const end = Number(view.getBigUint64(2));
  const count = view.getUint16(10);
  if (count > MAX_PACKETS) return new Error(`${count} packets in one frame`);
  const packets = [];
  let at = HEADER;
  for (let i = 0; i < count; i += 1) {
    if (at + 2 > bytes.byteLength) return new Error(`packet ${i} is cut off`);
    const len = view.getUint16(at);
    if (at + 2 + len > bytes.byteLength) return new Error(`packet ${i} claims ${len} bytes`);
    packets.push(bytes.subarray(at + 2, at + 2 + len));
    at += 2 + len;
  }
  if (at !== bytes.byteLength) return new Error(`${bytes.byteLength - at} bytes follow the last packet`);
  return { kind, end, packets };
}
