#!/usr/bin/env node
// `capstan`: the command line for a Capstan deployment. See docs/client.md.
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { GLOBAL_HELP, GLOBAL_OPTIONS, type Command } from "./command.js";
import { fetchCommand } from "./commands/fetch.js";
import { keys } from "./commands/keys.js";
import { login } from "./commands/login.js";
import { members } from "./commands/members.js";
import { projects } from "./commands/projects.js";
import { repl } from "./commands/repl.js";
import { run } from "./commands/run.js";
import { secrets } from "./commands/secrets.js";
import { EXIT, UsageError, describe, exitCodeFor } from "./exit.js";

const COMMANDS: Command[] = [login, projects, members, keys, secrets, fetchCommand, repl, run];

const HELP = `capstan: drive a Capstan deployment from the command line.

Usage: capstan <command> [arguments] [flags]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(10)}${c.summary}`).join("\n")}

Run capstan <command> --help for a command's own help.
Configuration: flags beat $CAPSTAN_URL / $CAPSTAN_TOKEN / $CAPSTAN_PROJECT, which beat the
file capstan login writes ($CAPSTAN_CONFIG_DIR/config.json, default ~/.config/capstan).

${GLOBAL_HELP}`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    const topic = name === "help" ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    process.stdout.write(`${topic ? topic.help : HELP}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command "${name}"`);
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...GLOBAL_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${command.name}: ${(err as Error).message.split("\n")[0]}`);
  }
  if (parsed.values.help) {
    process.stdout.write(`${command.help}\n`);
    return EXIT.ok;
  }
  return command.run(parsed.positionals, parsed.values);
}

// Node 20 has WebSocket only behind a flag (Node 22 has it always): run again with the flag.
if (typeof WebSocket === "undefined" && !process.execArgv.includes("--experimental-websocket")) {
  const r = spawnSync(process.execPath, ["--experimental-websocket", ...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}

// Should the event loop drain with main() unsettled (a socket that never reported back), the
// process must not look successful.
let settled = false;
process.on("exit", () => {
  if (!settled) {
    process.stderr.write("capstan: stopped before finishing (nothing left to wait for) [internal]\n");
    process.exitCode = EXIT.failed;
  }
});

main(process.argv.slice(2)).finally(() => (settled = true)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`capstan: ${describe(err)}\n`);
    process.exitCode = exitCodeFor(err);
  },
);
