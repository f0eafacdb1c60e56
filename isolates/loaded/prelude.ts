// The trusted modules every loaded isolate gets beside the user's code, as source text.
//   prelude.js: the loop guard and the `project` global, built on env.PROJECT, the project
//               handle that isolates/isolate.ts puts in env (nothing else is in env).
// Error codes ride in messages as "[code] ..." (see core/errors.ts).

export const PRELUDE_MODULE = "capstan-prelude.js";

export function preludeSource(budget: number): string {
  return `
import { env } from "cloudflare:workers";

let budget = 0;
let spent = 0;
export function tick() {
  if (++spent > budget) {
    spent = 0;
    throw new Error("[cpu_limit] stopped after " + budget + " loop iterations: the call ran too long");
  }
}
export function setBudget(n) { budget = n; spent = 0; }
setBudget(${budget});

const handle = env.PROJECT;
function capStub(name) {
  return new Proxy({}, { get: (_t, method) => typeof method === "string" && method !== "then"
    ? (...args) => handle.call(name, method, args) : undefined });
}
export const project = Object.freeze({
  fetch: (input, init) => fetch(input, init),
  call: (name, method, ...args) => handle.call(name, method, args),
  cap: capStub,
  capabilities: () => handle.capabilities(),
});
Object.defineProperty(globalThis, "project", { value: project, enumerable: true });
`;
}
