// One REPL line, from the actor's side: restore the session's bindings, build the line's module,
// run it in a loaded isolate (isolates/isolate.ts), then keep what can be carried and say what
// cannot. The actor never runs user code itself.
import { withDeadline } from "../../core/deadline";
import { asCapstanError } from "../../core/errors";
import { sha256Hex } from "../../core/sha256";
import { replLine } from "../../isolates/isolate";
import { PRELUDE_MODULE } from "../../isolates/loaded/prelude";
import { transformLine, userPositions, type Carried } from "../../isolates/loaded/repl-transform";
import { appendHistory, loadBindings, saveBindings, type StoredBinding } from "./store";

export type ReplOutcome =
  | { type: "result"; value: string; json?: unknown; notes?: string[] }
  | { type: "error"; name: string; message: string; stack: string; code?: string };

export type ReplLog = (level: string, args: string[]) => unknown;

export type LineContext = { env: Env; storage: DurableObjectStorage; sql: SqlStorage; projectId: string };

/** Rejects a line's wait when the user cancels it (Ctrl-C). */
export const LINE_CANCELLED = Symbol("cancelled");

export async function evalLine(c: LineContext, sessionId: string, code: string, log: ReplLog, timeoutMs: number, cancelled: Promise<never>): Promise<ReplOutcome> {
  const started = performance.now();
  const outcome = await run(c, sessionId, code, log, timeoutMs, cancelled);
  appendHistory(c.sql, sessionId, {
    code,
    outcome: outcome.type === "result" ? "ok" : "error",
    value: outcome.type === "result" ? outcome.value : undefined,
    error: outcome.type === "error" ? { name: outcome.name, message: outcome.message } : undefined,
    durationMs: performance.now() - started,
  });
  return outcome;
}

async function run(c: LineContext, sessionId: string, code: string, log: ReplLog, timeoutMs: number, cancelled: Promise<never>): Promise<ReplOutcome> {
  const stored = await loadBindings(c.storage, sessionId);
  const carried: Carried[] = stored.map(({ value: _v, seq: _s, ...rest }) => rest as Carried);
  let mod;
  try {
    mod = transformLine(code, carried, `./${PRELUDE_MODULE}`);
  } catch (err) {
    const e = asCapstanError(err);
    return { type: "error", name: "SyntaxError", message: e.detail.replace(/^line: SyntaxError: /, ""), stack: "" };
  }
  const vals = Object.fromEntries(stored.filter((b) => b.carry === "value").map((b) => [b.name, b.value]));
  const sourceNames = [...stored.filter((b) => b.carry === "source").map((b) => b.name), ...mod.declared.filter((d) => d.source).map((d) => d.name)];

  let r;
  try {
    const entry = replLine(c.env, c.projectId, sessionId, await sha256Hex(mod.code), mod.code);
    r = await withDeadline(Promise.race([entry.run(vals, sourceNames, log), cancelled]), timeoutMs, () => TIMED_OUT);
  } catch (err) {
    if (err === LINE_CANCELLED) {
      // The isolate may still finish the line; its bindings are not taken, since nobody saw it end.
      return { type: "error", name: "CancelledError", message: "the line was cancelled; what it does after this point is not kept", stack: "", code: "cancelled" };
    }
    if (err === TIMED_OUT) {
      return { type: "error", name: "TimeoutError", message: `the line ran longer than ${timeoutMs / 1000} s and was abandoned`, stack: "", code: "timeout" };
    }
    // The module failed to load (for example an import that does not exist).
    const message = err instanceof Error ? err.message : String(err);
    return { type: "error", name: "Error", message, stack: "" };
  }

  const declared = new Map(mod.declared.map((d) => [d.name, d]));
  const previous = new Map(stored.map((b) => [b.name, b]));
  let seq = stored.reduce((m, b) => Math.max(m, b.seq), 0);
  const put: StoredBinding[] = [];
  for (const [name, value] of Object.entries(r.values)) {
    const kind = declared.get(name)?.kind ?? previous.get(name)?.kind ?? "let";
    put.push({ name, kind: kind === "const" ? "const" : "let", carry: "value", value, seq: previous.get(name)?.seq ?? ++seq });
  }
  for (const name of r.bySource) {
    const d = declared.get(name);
    const p = previous.get(name);
    const source = d?.source ?? (p?.carry === "source" ? p.source : undefined);
    if (source) put.push({ name, kind: d?.kind ?? p!.kind, carry: "source", source, seq: d ? ++seq : p!.seq } as StoredBinding);
  }
  const drop = r.lost.map((l) => l.name);
  if (!r.ok) {
    // What the line bound before it threw stays bound, as in Node's REPL.
    await saveBindings(c.storage, sessionId, put, drop);
    return { type: "error", ...r.error, stack: userPositions(r.error.stack, mod.positions) };
  }
  if (mod.hasResult) {
    if (r.resultCarried) put.push({ name: "_", kind: "let", carry: "value", value: r.result, seq: previous.get("_")?.seq ?? ++seq });
    else drop.push("_");
  }
  await saveBindings(c.storage, sessionId, put, drop);

  const notes = r.lost.map((l) => `${l.name} is not kept for later lines: it holds ${l.why}`);
  return { type: "result", value: r.display, ...(r.json !== undefined ? { json: r.json } : {}), ...(notes.length ? { notes } : {}) };
}

const TIMED_OUT = Symbol("timed out");
