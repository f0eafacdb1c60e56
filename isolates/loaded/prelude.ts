// The trusted modules every loaded isolate gets beside the user's code, as source text.
//   prelude.js: the loop guard and the `project` global, built on env.PROJECT, the project
//               handle that isolates/isolate.ts puts in env (nothing else is in env).
// Error codes ride in messages as "[code] ..." (see core/errors.ts).

export const PRELUDE_MODULE = "capstan-prelude.js";

export function preludeSource(budget: number): string {
  return `
import { env, RpcTarget } from "cloudflare:workers";

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
// A subscriber the actor can call: the callback itself cannot cross Workers RPC as an object
// with a deliver method, so it is wrapped in one. It lives as long as this isolate's call does.
class StreamSubscriber extends RpcTarget {
  #callback;
  constructor(callback) { super(); this.#callback = callback; }
  async deliver(events) { await this.#callback(events); }
}
const trimmed = (args) => { while (args.length && args[args.length - 1] === undefined) args.pop(); return args; };
const streams = Object.freeze({
  append: (stream, event, options) => handle.call("streams", "append", trimmed([stream, event, options])),
  appendBatch: (stream, events, options) => handle.call("streams", "appendBatch", trimmed([stream, events, options])),
  read: (stream, options) => handle.call("streams", "read", trimmed([stream, options])),
  subscribe: (stream, callback, options) => {
    if (typeof callback !== "function") return Promise.reject(new TypeError("[bad_request] callback must be a function"));
    return handle.call("streams", "subscribe", trimmed([stream, new StreamSubscriber(callback), options]));
  },
  unsubscribe: (id) => handle.call("streams", "unsubscribe", [id]),
});
export const project = Object.freeze({
  fetch: (input, init) => fetch(input, init),
  call: (name, method, ...args) => handle.call(name, method, args),
  cap: capStub,
  capabilities: () => handle.capabilities(),
  streams,
});
Object.defineProperty(globalThis, "project", { value: project, enumerable: true });
`;
}
