// The trust posture of every dynamically loaded isolate (REPL lines, source capabilities) is
// decided here and nowhere else:
//   - globalOutbound is ProjectEgress for this project, so a plain fetch() is a dispatched,
//     audited call of the project's `fetch` capability;
//   - env holds only the project handle (the same entrypoint, same props): no D1, no secrets,
//     no loader, no other project;
//   - the project id and the caller are injected as props by this module, never taken from
//     the loaded code;
//   - every loop in user code is instrumented against runaways (loaded/instrument.ts), and
//     each call carries the loader's CPU and subrequest limits (enforced on Cloudflare).
import { exports } from "cloudflare:workers";
import { withDeadline } from "../core/deadline";
import { CapstanError } from "../core/errors";
import type { Caller } from "../actors/dispatch-types";
import { INSPECT_SOURCE } from "./loaded/inspect";
import { PRELUDE_MODULE, preludeSource } from "./loaded/prelude";
import { INSPECT_MODULE, REPL_LINE_MODULE, replMainSource } from "./loaded/repl-runtime";
import { CALL_LOOP_BUDGET, packageSourceCapability, type PackagedModules } from "./loaded/source-capability";

export const ISOLATE_COMPATIBILITY_DATE = "2026-11-01";
export const CALL_LIMITS = { cpuMs: 1_000, subRequests: 50 };

export type IsolateSpec = {
  projectId: string;
  caller: Caller;
  /** A stable id for the code, e.g. its content hash; the loader reuses a warm isolate for it. */
  codeId: string;
} & PackagedModules;

export function projectHandle(projectId: string, caller: Caller) {
  return exports.ProjectEgress({ props: { projectId, caller } });
}

export function loadIsolate(env: Env, spec: IsolateSpec): WorkerStub {
  // The cache key includes the identity: a warm isolate keeps the env it was built with.
  const key = `${spec.projectId}:${spec.caller.kind}:${spec.caller.id}:${spec.codeId}`;
  return env.LOADER.get(key, () => {
    const handle = projectHandle(spec.projectId, spec.caller);
    return {
      compatibilityDate: ISOLATE_COMPATIBILITY_DATE,
      mainModule: spec.mainModule,
      modules: spec.modules,
      env: { PROJECT: handle },
      globalOutbound: handle,
    };
  });
}

export type SourceCapabilityEntrypoint = {
  methods(): Promise<string[]>;
  invoke(method: string, args: unknown[]): Promise<unknown>;
};

/** A source capability's entrypoint; its own calls are made as `capability:<name>`. */
export function sourceCapability(env: Env, projectId: string, name: string, hash: string, source: string): SourceCapabilityEntrypoint {
  const stub = loadIsolate(env, {
    projectId,
    caller: { kind: "capability", id: name },
    codeId: `src:${hash}`,
    ...packageSourceCapability(name, source),
  });
  return stub.getEntrypoint(undefined, { limits: CALL_LIMITS }) as unknown as SourceCapabilityEntrypoint;
}

/** Wall-clock bound on one call into a source capability (async waits; loops are bounded in the isolate). */
export const SOURCE_CALL_TIMEOUT_MS = 30_000;

/**
 * One call of a source capability's method, under its limits. The actor calls this, and so does
 * the front door for a capability it holds a lease on: the posture is the same either way.
 */
export function callSource(env: Env, projectId: string, def: { name: string; hash: string; source: string }, method: string, args: unknown[]): Promise<unknown> {
  const entry = sourceCapability(env, projectId, def.name, def.hash, def.source);
  return withDeadline(entry.invoke(method, args), SOURCE_CALL_TIMEOUT_MS, () => new CapstanError("timeout", `${def.name}.${method} did not finish within ${SOURCE_CALL_TIMEOUT_MS / 1000} s`));
}

export type ReplLineResult =
  | { ok: true; display: string; json?: unknown; result?: unknown; resultCarried: boolean; values: Record<string, unknown>; bySource: string[]; lost: { name: string; why: string }[] }
  | { ok: false; values: Record<string, unknown>; bySource: string[]; lost: { name: string; why: string }[]; error: { name: string; message: string; stack: string; code?: string } };

export type ReplLineEntrypoint = {
  run(vals: Record<string, unknown>, sourceNames: string[], log: (level: string, args: string[]) => unknown): Promise<ReplLineResult>;
};

/** A REPL line's entrypoint; the line's own calls are made as `repl:<session>`. */
export function replLine(env: Env, projectId: string, sessionId: string, codeId: string, lineModule: string): ReplLineEntrypoint {
  const stub = loadIsolate(env, {
    projectId,
    caller: { kind: "repl", id: sessionId },
    codeId: `repl:${codeId}`,
    mainModule: "main.js",
    modules: {
      "main.js": replMainSource(CALL_LOOP_BUDGET),
      [PRELUDE_MODULE]: preludeSource(CALL_LOOP_BUDGET),
      [INSPECT_MODULE]: INSPECT_SOURCE,
      [REPL_LINE_MODULE]: lineModule,
    },
  });
  return stub.getEntrypoint(undefined, { limits: CALL_LIMITS }) as unknown as ReplLineEntrypoint;
}
