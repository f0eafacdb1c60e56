// The trust posture of every dynamically loaded isolate (REPL lines, source capabilities) is
// decided here and nowhere else:
//   - globalOutbound is ProjectEgress for this project, so a plain fetch() is a dispatched,
//     audited call of the project's `fetch` capability;
//   - env holds only the project handle (the same entrypoint, same props): no D1, no secrets,
//     no loader, no other project;
//   - the project id is injected as props by this module, never taken from the loaded code.
import { exports } from "cloudflare:workers";
import type { Caller } from "../actors/dispatch-types";

export const ISOLATE_COMPATIBILITY_DATE = "2026-11-01";

export type IsolateSpec = {
  projectId: string;
  caller: Caller;
  /** A stable id for the code, e.g. its content hash; the loader reuses a warm isolate for it. */
  codeId: string;
  mainModule: string;
  modules: Record<string, string>;
};

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
