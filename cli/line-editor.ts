// The REPL's line editor, on node:readline: editing keys, Up/Down history kept in a file in the
// config directory, multi-line input (a line acorn finds unfinished waits for the next, under a
// "... " prompt), Ctrl-C to cancel the running line or clear the input, Ctrl-D to leave.
// Lines typed while one runs wait their turn, as in a shell.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import type { ReplSocket } from "../client/repl-socket.js";
import { configDir } from "./config.js";
import { isIncomplete } from "./incomplete.js";
import { printLog, printOutcome } from "./render.js";

const HISTORY_SIZE = 1000;

export function historyFile(): string {
  return join(configDir(), "repl_history");
}

/** Newest first, one entry a line, as readline keeps it. */
function loadHistory(file: string): string[] {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean).slice(0, HISTORY_SIZE);
  } catch {
    return [];
  }
}

function saveHistory(file: string, history: string[]): void {
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${history.join("\n")}\n`, { mode: 0o600 });
  } catch {
    // History is a convenience: a read-only home must not stop the REPL.
  }
}

/** Runs until Ctrl-D (or the end of piped input); rejects if the connection drops. */
export function lineEditor(socket: ReplSocket): Promise<void> {
  const file = historyFile();
  const terminal = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal,
    history: loadHistory(file),
    historySize: HISTORY_SIZE,
    removeHistoryDuplicates: true,
    prompt: "> ",
  });
  rl.on("history", (history: string[]) => saveHistory(file, history));

  let buffer: string[] = [];
  const waiting: string[] = [];
  let running = false;
  let closed = false;

  return new Promise((resolve, reject) => {
    const finish = (err?: unknown) => {
      closed = true;
      rl.close();
      socket.close();
      if (err) reject(err);
      else resolve();
    };
    const prompt = () => {
      // Piped input gets no prompts: stdout then holds only what the lines print.
      if (closed || !terminal) return;
      rl.setPrompt(buffer.length ? "... " : "> ");
      rl.prompt();
    };
    const pump = async () => {
      if (running) return;
      running = true;
      try {
        while (waiting.length) {
          buffer.push(waiting.shift()!);
          const code = buffer.join("\n");
          if (code.trim() === "") {
            buffer = [];
            continue;
          }
          if (isIncomplete(code)) continue;
          buffer = [];
          printOutcome(await socket.eval(code, printLog));
        }
      } catch (err) {
        return finish(err);
      } finally {
        running = false;
      }
      if (inputEnded) finish();
      else prompt();
    };
    let inputEnded = false;

    rl.on("line", (line) => {
      waiting.push(line);
      void pump();
    });
    rl.on("SIGINT", () => {
      if (running) {
        // The server ends the line with a CancelledError, which is printed like any error.
        socket.cancel();
        return;
      }
      if (buffer.length || rl.line) {
        // Clear what is being typed: to the end of the line, then delete everything left of it.
        rl.write(null, { ctrl: true, name: "e" });
        rl.write(null, { ctrl: true, name: "u" });
        buffer = [];
        process.stdout.write("\n");
        prompt();
        return;
      }
      process.stdout.write("\n(To exit, press Ctrl-D)\n");
      prompt();
    });
    rl.on("close", () => {
      if (closed) return;
      // Ctrl-D, or the end of piped input: finish what was typed, then leave.
      inputEnded = true;
      if (terminal) process.stdout.write("\n");
      if (!running && waiting.length === 0) finish();
    });
    prompt();
  });
}
