// The CLI in a real pseudo-terminal (tmux). `capstan repl`: multi-line input, history recall
// within a session and across sessions (the history file), Ctrl-C cancelling a running line and
// clearing typed input, Ctrl-D leaving with exit code 0. And a secret typed at a prompt that
// does not echo.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, expect, it } from "vitest";
import { Tty } from "./tty";
import { CLI, capstanUrl, cli, newProject, newUser, tempDir } from "./helpers";

let env: Record<string, string>;
let projectId: string;
const ttys: Tty[] = [];
beforeAll(async () => {
  const { key } = await newUser();
  projectId = await newProject(key, "repl");
  env = { CAPSTAN_URL: capstanUrl(), CAPSTAN_TOKEN: key, CAPSTAN_CONFIG_DIR: tempDir("repl-cfg") };
});
afterEach(() => {
  for (const t of ttys.splice(0)) t.kill();
});

function repl(): Tty {
  const tty = Tty.start([process.execPath, CLI, "repl", projectId], env);
  ttys.push(tty);
  return tty;
}

/** Occurrences of a whole line in the screen. */
function lines(screen: string, line: string): number {
  return screen.split("\n").filter((l) => l.trimEnd() === line).length;
}

it("edits, continues, recalls, cancels and exits like a REPL", async () => {
  const tty = repl();
  await tty.waitFor(/Ctrl-D exits\.\n>$/);

  // Multi-line: an open brace asks for more, with "... ".
  tty.type("function add(a, b) {");
  await tty.waitFor(/\n\.\.\.$/);
  tty.type("return a + b");
  tty.type("}");
  await tty.waitFor((s) => lines(s, "undefined") === 1);
  tty.type("add(40,");
  await tty.waitFor(/\n\.\.\.$/);
  tty.type("2)");
  await tty.waitFor((s) => lines(s, "42") === 1);

  // Up recalls the last line ("2)" alone is not it: a continued entry is recalled line by line).
  tty.type("console.log('hello from', 'the project'); 6 * 7");
  await tty.waitFor((s) => lines(s, "hello from the project") === 1 && lines(s, "42") === 2);
  tty.keys("Up");
  await tty.waitFor(/> console\.log\('hello from', 'the project'\); 6 \* 7$/);
  tty.keys("Enter");
  await tty.waitFor((s) => lines(s, "hello from the project") === 2 && lines(s, "42") === 3);

  // Ctrl-C while a line runs cancels it (long before its 10 s are up); the session goes on.
  tty.type("console.log('waiting'); await new Promise((r) => setTimeout(r, 10000)); 'finished'");
  await tty.waitFor((s) => lines(s, "waiting") === 1);
  const cancelledAt = Date.now();
  tty.keys("C-c");
  await tty.waitFor(/CancelledError: the line was cancelled/, 5000);
  expect(Date.now() - cancelledAt).toBeLessThan(5000);
  await tty.waitFor(/\n>$/);
  tty.type("add(1, 1)");
  await tty.waitFor((s) => lines(s, "2") === 1);

  // Ctrl-C with something typed clears it: it is never run.
  tty.type("thisWouldThrow()", false);
  await tty.waitFor(/> thisWouldThrow\(\)$/);
  tty.keys("C-c");
  tty.type("3 * 3");
  await tty.waitFor((s) => lines(s, "9") === 1);
  // A half-typed multi-line entry is dropped the same way.
  tty.type("[1,");
  await tty.waitFor(/\n\.\.\.$/);
  tty.keys("C-c");
  tty.type("'after'");
  await tty.waitFor((s) => lines(s, "'after'") === 1);
  const screen = tty.screen();
  expect(screen).not.toMatch(/ReferenceError|thisWouldThrow is not defined|SyntaxError/);
  expect(lines(screen, "'finished'")).toBe(0); // the cancelled line's value never shows

  // Ctrl-D on an empty line leaves, with exit code 0.
  tty.keys("C-d");
  await tty.waitFor(() => tty.exitStatus() !== null);
  expect(tty.exitStatus()).toBe(0);

  // The history file keeps the lines, newest first; a new session recalls them with Up.
  const history = readFileSync(join(env.CAPSTAN_CONFIG_DIR!, "repl_history"), "utf8").split("\n");
  expect(history[0]).toBe("'after'");
  expect(history).toContain("function add(a, b) {");
  const again = repl();
  await again.waitFor(/Ctrl-D exits\.\n>$/);
  again.keys("Up");
  await again.waitFor(/> 'after'$/);
  again.keys("Enter");
  await again.waitFor((s) => lines(s, "'after'") === 1);
  again.keys("C-d");
  await again.waitFor(() => again.exitStatus() !== null);
  expect(again.exitStatus()).toBe(0);
});

it("asks for a secret without echoing it", async () => {
  const value = `typed-${crypto.randomUUID()}`;
  const tty = Tty.start([process.execPath, CLI, "secrets", "set", "TYPED", "--host", "api.example.com", "-p", projectId], env);
  ttys.push(tty);
  await tty.waitFor(/value for TYPED \(not echoed\):$/);
  tty.type(value);
  await tty.waitFor(() => tty.exitStatus() !== null);
  expect(tty.exitStatus()).toBe(0);
  const screen = tty.screen();
  expect(screen).toContain("set TYPED in");
  expect(screen).not.toContain(value);
  expect(screen).not.toContain(value.slice(0, 12));

  const list = await cli(["secrets", "list", "--json", "-p", projectId], { env });
  expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ name: "TYPED", hosts: ["api.example.com"] })]);
});
