import { readFileSync } from "node:fs";
import { ReplSocket } from "../../client/repl-socket.js";
import { GLOBAL_HELP, str, type Command } from "../command.js";
import { requireProject, resolveConfig } from "../config.js";
import { EXIT, UsageError } from "../exit.js";
import { printLog, printOutcome } from "../render.js";

export const run: Command = {
  name: "run",
  summary: "run a JavaScript file inside a project, once",
  help: `Usage:
  capstan run <file.js> [--project <id>]

The file runs inside the project as one REPL line in a new session: top-level await works, its
fetch() goes through the project's fetch capability, and a \`project\` global is there. Console
output is printed as it comes, then the value of the last expression (unless undefined). The exit
code is 0 when it completes and 1 when it throws, is cancelled (Ctrl-C) or times out.

${GLOBAL_HELP}`,
  options: {},
  async run(positionals, values) {
    if (positionals.length !== 1) throw new UsageError("usage: capstan run <file.js>");
    const file = positionals[0]!;
    let code: string;
    try {
      code = readFileSync(file, "utf8");
    } catch (err) {
      throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (code.trim() === "") throw new UsageError(`${file} is empty`);
    const config = resolveConfig({ url: str(values, "url"), token: str(values, "token"), project: str(values, "project") });
    const socket = await ReplSocket.open({ ...config, project: requireProject(config) });
    let interrupts = 0;
    const onSigint = () => {
      // The first Ctrl-C asks the server to stop waiting; a second one leaves at once.
      if (++interrupts > 1) process.exit(130);
      socket.cancel();
    };
    process.on("SIGINT", onSigint);
    try {
      const outcome = await socket.eval(code, printLog);
      printOutcome(outcome, { quietUndefined: true });
      return outcome.type === "error" ? EXIT.failed : EXIT.ok;
    } finally {
      process.off("SIGINT", onSigint);
      socket.close();
    }
  },
};
