// The trusted main module of a REPL line's isolate. It runs the line's module with the carried
// values, streams console output back through `log` while the line runs, renders the result
// like util.inspect (plus a JSON form when it has one), and decides how each binding crosses to
// the next line: by value when structured clone keeps it intact, by source when it is a
// function or class declared from source, and otherwise not at all, with the reason.
import { PRELUDE_MODULE } from "./prelude";

export const REPL_LINE_MODULE = "line.js";
export const INSPECT_MODULE = "capstan-inspect.js";

export function replMainSource(budget: number): string {
  return `
import { WorkerEntrypoint } from "cloudflare:workers";
import { setBudget } from "./${PRELUDE_MODULE}";
import { inspect } from "./${INSPECT_MODULE}";
import line from "./${REPL_LINE_MODULE}";

const LEVELS = ["log", "info", "warn", "error", "debug"];

function cloneable(v, seen = new Set()) {
  if (v === null || v === undefined) return { ok: true };
  const t = typeof v;
  if (t === "function") return { ok: false, why: "a function that was not declared from source (it may close over state)" };
  if (t === "symbol") return { ok: false, why: "a symbol" };
  if (t !== "object") return { ok: true };
  if (seen.has(v)) return { ok: true };
  seen.add(v);
  if (v instanceof Date || v instanceof RegExp || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return { ok: true };
  if (v instanceof Map) {
    for (const [k, x] of v) { const a = cloneable(k, seen); if (!a.ok) return a; const b = cloneable(x, seen); if (!b.ok) return b; }
    return { ok: true };
  }
  if (v instanceof Set) { for (const x of v) { const a = cloneable(x, seen); if (!a.ok) return a; } return { ok: true }; }
  const proto = Object.getPrototypeOf(v);
  if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) {
    const name = proto && proto.constructor && proto.constructor.name;
    return { ok: false, why: "an instance of " + (name || "a class") + " (its prototype and methods would be lost)" };
  }
  for (const k of Object.keys(v)) { const a = cloneable(v[k], seen); if (!a.ok) return a; }
  return { ok: true };
}

function jsonForm(v) {
  if (v === undefined || typeof v === "function" || typeof v === "symbol") return undefined;
  try { const s = JSON.stringify(v); return s === undefined ? undefined : JSON.parse(s); } catch { return undefined; }
}

function userStack(err) {
  const stack = typeof err?.stack === "string" ? err.stack : "";
  return stack.split("\\n")
    .filter((l) => !/${PRELUDE_MODULE}|${INSPECT_MODULE}|main\\.js|node_modules|cloudflare:/.test(l))
    .map((l) => l.replace(/\\(?[^()\\s]*${REPL_LINE_MODULE.replace(".", "\\.")}:(\\d+):(\\d+)\\)?/, "(<repl>:$1:$2)").replace(/at __line /, "at <repl> "))
    .join("\\n");
}

export default class extends WorkerEntrypoint {
  async run(vals, sourceNames, log) {
    setBudget(${budget});
    const pending = [];
    const original = {};
    for (const level of LEVELS) {
      original[level] = console[level];
      console[level] = (...args) => {
        const text = args.map((a) => typeof a === "string" ? a : inspect(a));
        pending.push(Promise.resolve(log(level, text)).catch(() => {}));
      };
    }
    const out = { bindings: {} };
    const carry = () => {
      const values = {};
      const bySource = [];
      const lost = [];
      for (const [name, get] of Object.entries(out.bindings)) {
        let v;
        try { v = get(); } catch { continue; }
        if (sourceNames.includes(name) && typeof v === "function") { bySource.push(name); continue; }
        const c = cloneable(v);
        if (c.ok) values[name] = v; else lost.push({ name, why: c.why });
      }
      return { values, bySource, lost };
    };
    try {
      const result = await line(vals, out);
      const resultCarry = cloneable(result);
      await Promise.allSettled(pending);
      return {
        ok: true,
        display: inspect(result),
        json: jsonForm(result),
        result: resultCarry.ok ? result : undefined,
        resultCarried: resultCarry.ok,
        ...carry(),
      };
    } catch (err) {
      await Promise.allSettled(pending);
      const message = err && typeof err.message === "string" ? err.message : String(err);
      const cpu = /^\\[cpu_limit\\] /.test(message);
      return { ok: false, ...carry(), error: {
        name: cpu ? "RangeError" : (err && typeof err.name === "string" ? err.name : "Error"),
        message: cpu ? message.replace(/^\\[cpu_limit\\] /, "") : message,
        stack: userStack(err),
        code: cpu ? "cpu_limit" : undefined,
      } };
    } finally {
      for (const level of LEVELS) console[level] = original[level];
    }
  }
}
`;
}
