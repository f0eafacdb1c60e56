// A real pseudo-terminal for the REPL tests: the CLI runs in a tmux pane on a tmux server of
// its own (a private socket, so nobody else's sessions are touched), keys are sent with
// send-keys, and the screen is read back with capture-pane.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir, until } from "./helpers";

export class Tty {
  readonly #socket: string;
  readonly #conf: string;
  readonly #name = "t";
  readonly #statusFile: string;

  private constructor(socket: string, conf: string, statusFile: string) {
    this.#socket = socket;
    this.#conf = conf;
    this.#statusFile = statusFile;
  }

  /** Starts `argv` in a new pane with exactly `env` (plus TERM); keeps the pane when it exits. */
  static start(argv: string[], env: Record<string, string>): Tty {
    const dir = tempDir("tty");
    // tmux's own record of a dead pane's status is unreliable (3.3 sometimes has none), so the
    // shell writes it to a file; remain-on-exit keeps the screen readable afterwards.
    const statusFile = join(dir, "status");
    const tty = new Tty(`capstan-test-${process.pid}-${Math.random().toString(36).slice(2)}`, "/dev/null", statusFile);
    const program = ["env", "-i", ...Object.entries({ TERM: "xterm-256color", PATH: process.env.PATH ?? "", HOME: dir, ...env }).map(([k, v]) => `${k}=${v}`), ...argv]
      .map(shellQuote)
      .join(" ");
    const command = `${program}; echo $? > ${shellQuote(statusFile)}`;
    tty.#tmux(["new-session", "-d", "-s", tty.#name, "-x", "200", "-y", "50", command, ";", "set-option", "-g", "remain-on-exit", "on"]);
    return tty;
  }

  /** Types `text` (literally), then Enter unless told not to. */
  type(text: string, enter = true): void {
    this.#tmux(["send-keys", "-t", this.#name, "-l", text]);
    if (enter) this.keys("Enter");
  }

  /** Named keys: Enter, Up, C-c, C-d, … */
  keys(...keys: string[]): void {
    this.#tmux(["send-keys", "-t", this.#name, ...keys]);
  }

  /** Everything the pane shows, scrollback included (tmux drops trailing spaces: "> " reads ">"). */
  screen(): string {
    return this.#tmux(["capture-pane", "-p", "-J", "-t", this.#name, "-S", "-5000"]).replace(/\s+$/, "");
  }

  /** Waits until the screen matches; returns the screen. */
  waitFor(pattern: RegExp | ((screen: string) => boolean), timeoutMs = 15_000): Promise<string> {
    const test = typeof pattern === "function" ? pattern : (s: string) => pattern.test(s);
    return until(`the screen to show ${pattern}`, () => {
      const s = this.screen();
      return test(s) ? s : false;
    }, timeoutMs).catch((err: Error) => {
      throw new Error(`${err.message}; the screen was:\n${this.screen()}`);
    });
  }

  /** null while the program runs, else its exit status (128 + n for signal n). */
  exitStatus(): number | null {
    try {
      const text = readFileSync(this.#statusFile, "utf8");
      return text.endsWith("\n") ? Number(text.trim()) : null;
    } catch {
      return null;
    }
  }

  kill(): void {
    try {
      this.#tmux(["kill-server"]);
    } catch {
      // Already gone.
    }
  }

  #tmux(args: string[]): string {
    return execFileSync("tmux", ["-L", this.#socket, "-f", this.#conf, ...args], { encoding: "utf8" });
  }
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
