// Reading a secret: from stdin when it is piped (`capstan secrets set X < file`), or from a
// prompt that does not echo when stdin is a terminal. Never from argv, where it would land in
// shell history and in every process listing.
import { UsageError } from "./exit.js";

export async function readSecret(prompt: string): Promise<string> {
  const value = process.stdin.isTTY ? await promptHidden(prompt) : await readAll();
  if (value === "") throw new UsageError("the value is empty");
  return value;
}

/** All of stdin, without the one trailing newline that `echo` and editors add. */
async function readAll(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
}

/** A line typed at the terminal with echo off (raw mode); Ctrl-C aborts. */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let value = "";
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding("utf8");
    const done = (err: Error | null) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (text: string) => {
      for (const ch of text) {
        if (ch === "\r" || ch === "\n" || ch === "\u0004") return done(null);
        if (ch === "\u0003") return done(new UsageError("cancelled"));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on("data", onData);
  });
}
