// How REPL output reaches the terminal: console output as it streams (warnings and errors on
// stderr), a result as the server's inspected display, an error as its name, message and the
// stack the server mapped onto the user's own lines.
import type { ReplLogEntry, ReplOutcome } from "../client/types.js";

export function printLog(entry: ReplLogEntry): void {
  const out = entry.level === "error" || entry.level === "warn" ? process.stderr : process.stdout;
  out.write(`${entry.args.join(" ")}\n`);
}

/** `quietUndefined`: a script's last statement is rarely meant as output. */
export function printOutcome(outcome: ReplOutcome, { quietUndefined = false } = {}): void {
  if (outcome.type === "result") {
    if (!(quietUndefined && outcome.value === "undefined")) process.stdout.write(`${outcome.value}\n`);
    for (const note of outcome.notes ?? []) process.stderr.write(`note: ${note}\n`);
    return;
  }
  const head = `${outcome.name}: ${outcome.message}`;
  const stack = outcome.stack ?? "";
  // A V8 stack starts with "Name: message"; print that line once, then the frames.
  const frames = stack.startsWith(`${outcome.name}`) ? stack.split("\n").slice(1).join("\n") : stack;
  process.stderr.write(`${head}${frames.trim() ? `\n${frames.replace(/^\n+/, "")}` : ""}\n`);
}
