// Runaway protection for loaded code, applied before any of it runs. Every loop body gets a
// call to the guard's tick(), which throws once a call has spent its budget of iterations.
//
// Why iterations and not time: inside a Worker, clocks do not advance while JavaScript runs
// synchronously, so an endless loop cannot be stopped by a timer, and local workerd does not
// enforce the loader's cpuMs limit (on Cloudflare it does). Without this, one `while (true) {}`
// in a REPL line would wedge the whole local runtime. It stops accidental runaways; it is not a
// sandbox against code written to defeat it, which is what the platform's CPU limit is for.
import { parse, type Node } from "acorn";
import MagicString from "magic-string";
import { CapstanError } from "../../core/errors";

export const TICK = "__capstan_tick";

type Loop = Node & { body: Node };
const LOOPS = new Set(["WhileStatement", "DoWhileStatement", "ForStatement", "ForInStatement", "ForOfStatement"]);

export type ParsedModule = { program: ReturnType<typeof parse>; code: string };

export function parseModule(code: string, what: string): ParsedModule {
  try {
    return { program: parse(code, { ecmaVersion: "latest", sourceType: "module", allowAwaitOutsideFunction: true }), code };
  } catch (err) {
    throw new CapstanError("bad_source", `${what}: SyntaxError: ${(err as Error).message}`);
  }
}

/** Returns the module with a tick in every loop body, and the guard imported on line 1. */
export function instrumentLoops(parsed: ParsedModule, guardModule: string): string {
  const s = new MagicString(parsed.code);
  walk(parsed.program, (node) => {
    if (!LOOPS.has(node.type)) return;
    const body = (node as Loop).body;
    s.appendLeft(body.start, `{${TICK}();`);
    s.prependRight(body.end, `}`);
  });
  // Same line as the user's first line, so stack traces keep the user's line numbers.
  s.prepend(`import { tick as ${TICK} } from "${guardModule}";`);
  return s.toString();
}

export function walk(node: Node, visit: (n: Node) => void): void {
  visit(node);
  for (const key of Object.keys(node)) {
    const value = (node as unknown as Record<string, unknown>)[key];
    if (Array.isArray(value)) {
      for (const v of value) if (isNode(v)) walk(v, visit);
    } else if (isNode(value)) walk(value, visit);
  }
}

function isNode(v: unknown): v is Node {
  return typeof v === "object" && v !== null && typeof (v as Node).type === "string";
}
