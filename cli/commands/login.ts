import { HttpApi } from "../../client/http.js";
import { GLOBAL_HELP, str, type Command } from "../command.js";
import { checkUrl, readConfigFile, writeConfigFile } from "../config.js";
import { EXIT, UsageError } from "../exit.js";
import { readSecret } from "../secret-input.js";

export const login: Command = {
  name: "login",
  summary: "check a URL and token and save them for later commands",
  help: `Usage:
  capstan login --url <url> [--project <id>]

The token comes from --token or $CAPSTAN_TOKEN, else from stdin when it is piped, else from a
prompt that does not echo. It is checked against the server, then saved with the URL (and the
project, if given) in $CAPSTAN_CONFIG_DIR/config.json (default ~/.config/capstan), mode 0600.

${GLOBAL_HELP}`,
  options: {},
  async run(positionals, values) {
    if (positionals.length) throw new UsageError("login takes no arguments");
    const stored = readConfigFile();
    const rawUrl = str(values, "url") || process.env.CAPSTAN_URL || stored.url;
    if (!rawUrl) throw new UsageError("login needs --url (or CAPSTAN_URL)");
    const url = checkUrl(rawUrl);
    const token = str(values, "token") || process.env.CAPSTAN_TOKEN || (await readSecret("API key (not echoed): "));
    const projects = await new HttpApi({ url, token }).listProjects();
    const project = str(values, "project") || process.env.CAPSTAN_PROJECT || undefined;
    if (project && !projects.some((p) => p.id === project)) throw new UsageError(`you are not a member of project ${project}`);
    const file = writeConfigFile({ url, token, ...(project ? { project } : {}) });
    process.stderr.write(`logged in to ${url} (${projects.length} project${projects.length === 1 ? "" : "s"}); saved to ${file}\n`);
    return EXIT.ok;
  },
};
