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
import type { Caller } from "../actors/dispatch-types";
import { packageSourceCapability, type PackagedModules } from "./loaded/source-capability";

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
