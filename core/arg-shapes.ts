// What the audit keeps of a call's arguments: type and size only, because argument values may
// carry secrets. Pure, so that whoever runs a call (the actor, or the front door on a lease)
// describes it the same way.

export function describeArg(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "string") return `string(${v.length})`;
  if (typeof v !== "object") return typeof v;
  if (v instanceof Request) return `Request(${v.method})`;
  if (v instanceof Response) return `Response(${v.status})`;
  if (Array.isArray(v)) return `array(${v.length})`;
  if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return `bytes(${v.byteLength})`;
  if (v instanceof ReadableStream) return "stream";
  return `object(${Object.keys(v).length})`;
}
