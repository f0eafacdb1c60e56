import { ReplSocket } from "../../client/repl-socket.js";
import { GLOBAL_HELP, str, type Command } from "../command.js";
import { requireProject, resolveConfig } from "../config.js";
import { EXIT, UsageError } from "../exit.js";
import { lineEditor } from "../line-editor.js";

export const repl: Command = {
  name: "repl",
  summary: "an interactive JavaScript REPL that runs inside a project",
  help: `Usage:
  capstan repl [project] [--session <id>]

Each line runs inside the project (not on this machine); declarations carry over to later lines.
An unfinished line (an open bracket, a trailing operator) continues on the next with "... ".
Up and Down recall earlier lines, kept across runs in the config directory (repl_history).
Ctrl-C cancels the running line, or clears what you are typing; Ctrl-D exits.
--session resumes a session by id: its bindings and history are still there.

${GLOBAL_HELP}`,
  options: { session: { type: "string" } },
  async run(positionals, values) {
    if (positionals.length > 1) throw new UsageError("usage: capstan repl [project]");
    const config = resolveConfig({ url: str(values, "url"), token: str(values, "token"), project: str(values, "project") });
    const project = requireProject(config, positionals[0]);
    const socket = await ReplSocket.open({ ...config, project, session: str(values, "session") });
    const earlier = socket.history ? `, ${socket.history} earlier line${socket.history === 1 ? "" : "s"}` : "";
    process.stderr.write(`project ${project}, session ${socket.session}${earlier}. Ctrl-C cancels a line, Ctrl-D exits.\n`);
    await lineEditor(socket);
    return EXIT.ok;
  },
};
