import { HttpApi } from "../../client/http.js";
import { GLOBAL_HELP, str, type Command } from "../command.js";
import { resolveConfig } from "../config.js";
import { EXIT, UsageError } from "../exit.js";
import { printJson, printTable } from "../output.js";

export const projects: Command = {
  name: "projects",
  summary: "list or create projects",
  help: `Usage:
  capstan projects list
  capstan projects create <name>

${GLOBAL_HELP}`,
  options: {},
  async run([sub, ...rest], values) {
    const config = resolveConfig({ url: str(values, "url"), token: str(values, "token") });
    const api = new HttpApi(config);
    if (sub === "list" && rest.length === 0) {
      const list = await api.listProjects();
      if (values.json) printJson(list);
      else printTable(list, [["id", "ID"], ["name", "NAME"], ["role", "ROLE"], ["createdAt", "CREATED"]]);
      return EXIT.ok;
    }
    if (sub === "create" && rest.length === 1) {
      const p = await api.createProject(rest[0]!);
      if (values.json) printJson(p);
      else process.stdout.write(`${p.id}\n`);
      return EXIT.ok;
    }
    throw new UsageError(sub === "create" ? "usage: capstan projects create <name>" : "usage: capstan projects list|create");
  },
};
