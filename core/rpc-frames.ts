// How a capnweb message becomes a WebSocket frame, and back. capnweb's own WebSocket transport
// sends every message as JSON text, with bytes in base64: a body chunk grows by a third, and the
// runtime then converts, frames and copies that text on both ends. Peers that agree on binary
// frames (the typed client and the front door do) send a message that carries bytes as one
// binary frame instead: its JSON with each byte array replaced by an index, then the raw bytes.
// Messages without bytes stay JSON text frames, so the call path reads as before.
//
// Agreeing: the client adds ?frames=binary-v1 to the WebSocket's URL; a front door that knows it
// sends BINARY_HELLO as its first frame and binary frames from then on, and the client sends
// binary frames once the hello has come. A server that does not know the parameter ignores it
// and never says hello, so both ends keep to text. (A WebSocket subprotocol would be the usual
// way, but a client that offers one fails to connect to a server that picks none.)
//
// Binary frame, integers little-endian:
//   u32 JSON length J | u32 section count K | K × u32 section length | J bytes of UTF-8 JSON | sections
//
// In the JSON, capnweb's bytes expression ["bytes", <Uint8Array>, <type>?] becomes
// ["bytes", <section index>, <type>?]. An array that is not one but has the same shape (a
// user's array ["bytes", 3] is sent as its elements, so it can) gets its second element wrapped
// as {"#": value}; decoding unwraps one level. The mapping is one-to-one whatever the data.

/** The query parameter, and its value, by which a client asks for binary frames. */
export const FRAMES_PARAM = "frames";
export const BINARY_FRAMES = "binary-v1";
/**
 * The server's first frame when it agrees: a JSON string, where every capnweb message is an
 * array, so a transport can tell it apart and never hands it to capnweb.
 */
export const BINARY_HELLO = "capstan:frames=binary-v1";

const ESCAPE = "#";
const HEADER_BYTES = 8;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * One message as a frame: JSON text, unless it carries bytes and the peer reads binary frames.
 * A peer that does not gets the bytes in base64, as capnweb's own transport sends them.
 */
export function encodeFrame(message: unknown, binary: boolean): string | Uint8Array<ArrayBuffer> {
  if (!carriesBytes(message)) return JSON.stringify(message);
  // A replacer sees what toJSON made of a value (a Node Buffer becomes {type, data}); the holder
  // still has the value itself.
  if (!binary) {
    return JSON.stringify(message, function (this: Record<string, unknown>, key: string, value: unknown) {
      const raw = this[key];
      return raw instanceof Uint8Array ? base64(raw) : value;
    });
  }
  const sections: Uint8Array[] = [];
  const json = JSON.stringify(message, function (this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key];
    if (raw instanceof Uint8Array) {
      if (key !== "1" || !isBytesExpression(this)) throw new TypeError("a byte array outside a bytes expression cannot be framed");
      sections.push(raw);
      return sections.length - 1;
    }
    if (isBytesExpression(value) && !(value[1] instanceof Uint8Array) && needsEscape(value[1])) {
      const copy = value.slice();
      copy[1] = { [ESCAPE]: value[1] };
      return copy;
    }
    return value;
  });
  const head = encoder.encode(json);
  const tableBytes = 4 * sections.length;
  let total = HEADER_BYTES + tableBytes + head.byteLength;
  for (const s of sections) total += s.byteLength;
  const frame = new Uint8Array(total);
  const view = new DataView(frame.buffer);
  view.setUint32(0, head.byteLength, true);
  view.setUint32(4, sections.length, true);
  sections.forEach((s, i) => view.setUint32(HEADER_BYTES + 4 * i, s.byteLength, true));
  let at = HEADER_BYTES + tableBytes;
  frame.set(head, at);
  at += head.byteLength;
  for (const s of sections) {
    frame.set(s, at);
    at += s.byteLength;
  }
  return frame;
}

/** A received frame back into the message; throws a TypeError naming what is malformed. */
export function decodeFrame(data: string | ArrayBuffer): unknown {
  if (typeof data === "string") return JSON.parse(data);
  const bytes = new Uint8Array(data);
  if (bytes.byteLength < HEADER_BYTES) throw new TypeError("binary frame shorter than its header");
  const view = new DataView(data);
  const jsonBytes = view.getUint32(0, true);
  const count = view.getUint32(4, true);
  let at = HEADER_BYTES + 4 * count;
  if (at + jsonBytes > bytes.byteLength) throw new TypeError("binary frame shorter than its section table and JSON");
  const json = decoder.decode(bytes.subarray(at, at + jsonBytes));
  at += jsonBytes;
  const sections: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const length = view.getUint32(HEADER_BYTES + 4 * i, true);
    if (at + length > bytes.byteLength) throw new TypeError(`binary frame ends inside section ${i}`);
    // A copy: a view would keep the whole frame alive and expose it through `.buffer`.
    sections.push(bytes.slice(at, at + length));
    at += length;
  }
  if (at !== bytes.byteLength) throw new TypeError("binary frame has bytes after its last section");
  const used = new Set<number>();
  const message: unknown = JSON.parse(json, (_key, value: unknown) => {
    if (!isBytesExpression(value)) return value;
    const second = value[1];
    if (typeof second === "number") {
      const section = sections[second];
      if (!section || used.has(second)) throw new TypeError(`binary frame refers to section ${second}, which is missing or already used`);
      used.add(second);
      value[1] = section;
    } else if (isEscaped(second)) {
      value[1] = second[ESCAPE];
    }
    return value;
  });
  if (used.size !== count) throw new TypeError("binary frame has sections its JSON never refers to");
  return message;
}

/** The frame's size as capnweb's flow control counts it: UTF-16 units of text, or bytes. */
export function frameSize(frame: string | Uint8Array): number {
  return typeof frame === "string" ? frame.length : frame.byteLength;
}

function isBytesExpression(value: unknown): value is unknown[] {
  return Array.isArray(value) && value.length >= 2 && value[0] === "bytes";
}

/** A second element that decoding would read as a section index or an escape. */
function needsEscape(value: unknown): boolean {
  return typeof value === "number" || isEscaped(value);
}

function isEscaped(value: unknown): value is { [ESCAPE]: unknown } {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === ESCAPE;
}

function carriesBytes(value: unknown): boolean {
  if (value instanceof Uint8Array) return true;
  if (Array.isArray(value)) return value.some(carriesBytes);
  if (value !== null && typeof value === "object") {
    for (const key in value) if (carriesBytes((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

/** Base64 without padding, as capnweb writes it. */
function base64(bytes: Uint8Array): string {
  const native = bytes as Uint8Array & { toBase64?: (o: { omitPadding: boolean }) => string };
  if (native.toBase64) return native.toBase64({ omitPadding: true });
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/=+$/, "");
}
