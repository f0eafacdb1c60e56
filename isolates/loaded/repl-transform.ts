// Turns one REPL line into a module for a loaded isolate. Workers forbid eval, so each line is
// a module: its code runs inside an async function (top-level await works), the bindings of
// earlier lines are re-declared in front of it, and it returns the last expression's value and
// the current value of every binding, so that the runtime can carry them to the next line.
//
// What is added around the user's code (imports, restored bindings, whose carried sources may
// span lines, loop ticks) moves their positions, so the line also returns a position map back to
// the code as typed; `originalPosition` uses it to make a stack trace point at the user's line.
import type { Node } from "acorn";
import MagicString from "magic-string";
import { TICK, parseModule, walk } from "./instrument";

/** How a binding crosses from one line to the next. */
export type Carried =
  | { name: string; kind: "const" | "let"; carry: "value" }
  | { name: string; kind: "const" | "let" | "function" | "class"; carry: "source"; source: string };

export type LineModule = {
  /** The line's module source. */
  code: string;
  /** Names this line declares at its top level, with their source when a function or class. */
  declared: { name: string; kind: "const" | "let" | "function" | "class"; source?: string }[];
  /** Whether the line ends in an expression whose value is the result. */
  hasResult: boolean;
  /** Per generated line, segments [generatedColumn, source, originalLine, originalColumn] (0-based). */
  positions: PositionMap;
};

export type PositionMap = readonly (readonly (readonly number[])[])[];

type AnyNode = Node & Record<string, any>;
const LOOPS = new Set(["WhileStatement", "DoWhileStatement", "ForStatement", "ForInStatement", "ForOfStatement"]);

export function transformLine(code: string, carried: readonly Carried[], guardModule: string): LineModule {
  const parsed = parseModule(code, "line");
  const s = new MagicString(code);
  const body = parsed.program.body as AnyNode[];
  const declared: LineModule["declared"] = [];
  const imports: string[] = [];

  for (const stmt of body) {
    if (stmt.type === "ImportDeclaration") {
      // Imports are only allowed at a module's top level; the line runs inside a function.
      imports.push(code.slice(stmt.start, stmt.end));
      s.remove(stmt.start, stmt.end);
    } else if (stmt.type === "VariableDeclaration") {
      // `var` behaves like `let` across lines; the REPL keeps no function scope between them.
      const kind = stmt.kind === "const" ? "const" : "let";
      for (const d of stmt.declarations as AnyNode[]) {
        const fn = d.init && /^(ArrowFunctionExpression|FunctionExpression|ClassExpression)$/.test(d.init.type);
        for (const name of patternNames(d.id)) {
          declared.push(fn && d.id.type === "Identifier" ? { name, kind, source: `${kind} ${code.slice(d.start, d.end)};` } : { name, kind });
        }
      }
    } else if (stmt.type === "FunctionDeclaration" || stmt.type === "ClassDeclaration") {
      declared.push({ name: stmt.id.name, kind: stmt.type === "FunctionDeclaration" ? "function" : "class", source: code.slice(stmt.start, stmt.end) });
    } else if (stmt.type === "ExportNamedDeclaration" || stmt.type === "ExportDefaultDeclaration") {
      s.overwrite(stmt.start, stmt.declaration ? stmt.declaration.start : stmt.end, "");
    }
  }

  walk(parsed.program, (node) => {
    if (!LOOPS.has(node.type)) return;
    const loopBody = (node as AnyNode).body as AnyNode;
    s.appendLeft(loopBody.start, `{${TICK}();`);
    s.prependRight(loopBody.end, `}`);
  });

  const last = body.at(-1);
  const hasResult = last?.type === "ExpressionStatement";
  if (hasResult) {
    s.prependRight(last!.expression.start, "__result = (");
    s.appendLeft(last!.expression.end, ")");
  }

  const fresh = new Set(declared.map((d) => d.name));
  const restored = carried.filter((c) => !fresh.has(c.name));
  const restore = restored
    .map((c) => (c.carry === "value" ? `${c.kind} ${c.name} = __vals[${JSON.stringify(c.name)}];` : c.source))
    .join(" ");
  const names = [...new Set([...restored.map((c) => c.name), ...declared.map((d) => d.name)])];
  const capture = names.map((n) => `${JSON.stringify(n)}: () => ${n}`).join(", ");

  const header = [...imports, `import { tick as ${TICK} } from "${guardModule}";`].join(" ");
  // The capture is installed before the user's code runs, so that bindings made before a
  // throw still carry over, as they would in Node's REPL.
  s.prepend(`${header} export default async function __line(__vals, __out) { let __result; ${restore} __out.bindings = { ${capture} }; `);
  s.append(`\n;return __result; }`);
  // Not hi-res: a segment starts each untouched stretch of the user's code, and a position
  // inside a stretch is its segment's plus the distance, which is exact for untouched text.
  const positions = s.generateDecodedMap({ hires: false }).mappings;
  return { code: s.toString(), declared, hasResult, positions };
}

/**
 * Maps a 1-based line and column of the line's module back to the code as the user typed it,
 * or returns null for a position in code the REPL added (such as a function restored from an
 * earlier line, whose own line is not kept).
 */
export function originalPosition(map: PositionMap, line: number, column: number): { line: number; column: number } | null {
  const segments = map[line - 1];
  if (!segments) return null;
  let best: readonly number[] | undefined;
  for (const seg of segments) {
    if (seg.length >= 4 && seg[0]! <= column - 1) best = seg;
  }
  if (!best) return null;
  return { line: best[2]! + 1, column: best[3]! + (column - 1 - best[0]!) + 1 };
}

/** Rewrites the `<repl>:line:col` positions of a stack to the user's own code. */
export function userPositions(stack: string, map: PositionMap): string {
  return stack.replace(/<repl>:(\d+):(\d+)/g, (_, l: string, c: string) => {
    const p = originalPosition(map, Number(l), Number(c));
    return p ? `<repl>:${p.line}:${p.column}` : "<repl>";
  });
}

function patternNames(p: AnyNode): string[] {
  switch (p.type) {
    case "Identifier":
      return [p.name];
    case "ObjectPattern":
      return p.properties.flatMap((q: AnyNode) => patternNames(q.type === "RestElement" ? q.argument : q.value));
    case "ArrayPattern":
      return p.elements.filter(Boolean).flatMap((e: AnyNode) => patternNames(e.type === "RestElement" ? e.argument : e));
    case "AssignmentPattern":
      return patternNames(p.left);
    default:
      return [];
  }
}
