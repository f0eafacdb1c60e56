// How a source capability is packaged for the Worker Loader: the user's module (loops
// instrumented), the prelude, and a small trusted main module whose entrypoint lists and
// invokes the user's exported functions. Errors leave as "[code] message" values.
import { CapstanError } from "../../core/errors";
import { instrumentLoops, parseModule } from "./instrument";
import { PRELUDE_MODULE, preludeSource } from "./prelude";

export const SOURCE_MAX_BYTES = 256 * 1024;
/** Loop iterations one call may run before it is stopped (see instrument.ts). */
export const CALL_LOOP_BUDGET = 20_000_000;

const MAIN = `
import { WorkerEntrypoint } from "cloudflare:workers";
import { setBudget } from "./${PRELUDE_MODULE}";
import * as cap from "./capability.js";

const exported = Object.keys(cap).filter((k) => typeof cap[k] === "function");

function failure(err) {
  const message = err && typeof err.message === "string" ? err.message : String(err);
  if (/^\\[cpu_limit\\] /.test(message)) return new Error(message);
  const name = err && typeof err.name === "string" ? err.name : "Error";
  return new Error("[capability_failed] " + name + ": " + message.replace(/^\\[[a-z_]+\\] /, ""));
}

export default class extends WorkerEntrypoint {
  methods() { return exported; }
  async invoke(method, args) {
    if (!exported.includes(method)) throw new Error("[capability_unknown] the capability has no exported function " + JSON.stringify(method));
    setBudget(${CALL_LOOP_BUDGET});
    try {
      return await cap[method](...args);
    } catch (err) {
      throw failure(err);
    }
  }
}
`;

export type PackagedModules = { mainModule: string; modules: Record<string, string> };

export function packageSourceCapability(name: string, source: string): PackagedModules {
  if (new TextEncoder().encode(source).length > SOURCE_MAX_BYTES) {
    throw new CapstanError("payload_too_large", `source of "${name}" is over ${SOURCE_MAX_BYTES / 1024} KiB`);
  }
  const parsed = parseModule(source, `source of "${name}"`);
  return {
    mainModule: "main.js",
    modules: {
      "main.js": MAIN,
      [PRELUDE_MODULE]: preludeSource(CALL_LOOP_BUDGET),
      "capability.js": instrumentLoops(parsed, `./${PRELUDE_MODULE}`),
    },
  };
}
