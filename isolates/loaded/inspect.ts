// A display of any value in the style of Node's util.inspect (default options: depth 2,
// single quotes, `[Object]` past the depth, Map/Set/class names, `[Function: f]`), as source
// text for the REPL's loaded isolate. Short values stay on one line; longer ones break with
// two-space indents, as Node does past 72 columns.

export const INSPECT_SOURCE = String.raw`
const INSPECT_DEPTH = 2;
function quote(s) { return "'" + s.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n") + "'"; }
function keyText(k) { return /^[A-Za-z_$][\w$]*$/.test(k) ? k : quote(k); }
function ctorName(v) { const p = Object.getPrototypeOf(v); return p && p.constructor && p.constructor.name; }
function wrap(open, items, close, indent) {
  if (items.length === 0) return open.trim() === "{" ? "{}" : open + close;
  const one = open + " " + items.join(", ") + " " + close;
  if (one.length + indent.length <= 72 && !items.some((i) => i.includes("\n"))) return one;
  const pad = indent + "  ";
  return open + "\n" + items.map((i) => pad + i).join(",\n") + "\n" + indent + close;
}
export function inspect(v, depth = 0, seen = new Set(), indent = "") {
  switch (typeof v) {
    case "string": return depth === 0 ? quote(v) : quote(v);
    case "number": return Object.is(v, -0) ? "-0" : String(v);
    case "bigint": return v + "n";
    case "boolean": return String(v);
    case "undefined": return "undefined";
    case "symbol": return v.toString();
    case "function": {
      const isClass = /^class[\s{]/.test(Function.prototype.toString.call(v));
      if (isClass) return v.name ? "[class " + v.name + "]" : "[class (anonymous)]";
      return v.name ? "[Function: " + v.name + "]" : "[Function (anonymous)]";
    }
  }
  if (v === null) return "null";
  if (seen.has(v)) return "[Circular *1]";
  if (v instanceof Date) return isNaN(v) ? "Invalid Date" : v.toISOString();
  if (v instanceof RegExp) return String(v);
  if (v instanceof Error) return v.stack || (v.name + ": " + v.message);
  if (v instanceof Promise) return "Promise { <pending> }";
  if (typeof Response !== "undefined" && v instanceof Response) return "Response { status: " + v.status + ", statusText: " + quote(v.statusText) + ", url: " + quote(v.url || "") + " }";
  if (typeof Request !== "undefined" && v instanceof Request) return "Request { method: " + quote(v.method) + ", url: " + quote(v.url) + " }";
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    const items = Array.from(v.slice(0, 100), String);
    if (v.length > 100) items.push("... " + (v.length - 100) + " more items");
    return wrap(ctorName(v) + "(" + v.length + ") [", items, "]", indent);
  }
  if (depth > INSPECT_DEPTH) return Array.isArray(v) ? "[Array]" : "[" + (ctorName(v) || "Object") + "]";
  seen.add(v);
  try {
    const inner = (x) => inspect(x, depth + 1, seen, indent + "  ");
    if (Array.isArray(v)) {
      const items = v.slice(0, 100).map(inner);
      if (v.length > 100) items.push("... " + (v.length - 100) + " more items");
      return wrap("[", items, "]", indent);
    }
    if (v instanceof Map) return wrap("Map(" + v.size + ") {", [...v].map(([k, x]) => inner(k) + " => " + inner(x)), "}", indent);
    if (v instanceof Set) return wrap("Set(" + v.size + ") {", [...v].map(inner), "}", indent);
    const name = ctorName(v);
    const prefix = name === "Object" ? "" : (name ? name + " " : "[Object: null prototype] ");
    const items = Object.keys(v).map((k) => keyText(k) + ": " + inner(v[k]));
    return wrap(prefix + "{", items, "}", indent);
  } finally {
    seen.delete(v);
  }
}
`;
