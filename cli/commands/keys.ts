import { HttpApi } from "../../client/http.js";
import { GLOBAL_HELP, str, type Command } from "../command.js";
import { resolveConfig } from "../config.js";
import { EXIT, UsageError } from "../exit.js";
import { printJson, printTable } from "../output.js";

export const keys: Command = {
  name: "keys",
  summary: "create, list or revoke API keys",
  help: `Usage:
  capstan keys create <name> [--expires <ISO date>]
  capstan keys list
  capstan keys revoke <key id>

create prints the new key on stdout: this is the only time it is shown.

${GLOBAL_HELP}`,
  options: { expires: { type: "string" } },
  async run([sub, ...rest], values) {
    const config = resolveConfig({ url: str(values, "url"), token: str(values, "token") });
    const api = new HttpApi(config);
    if (sub === "create" && rest.length === 1) {
      const k = await api.createKey(rest[0]!, str(values, "expires"));
      if (values.json) printJson(k);
      else {
        process.stdout.write(`${k.key}\n`);
        process.stderr.write(`created ${k.id} (${k.name}); the key above is shown once: keep it now\n`);
      }
      return EXIT.ok;
    }
    if (sub === "list" && rest.length === 0) {
      const list = await api.listKeys();
      if (values.json) printJson(list);
      else printTable(list, [["id", "ID"], ["name", "NAME"], ["prefix", "PREFIX"], ["createdAt", "CREATED"], ["expiresAt", "EXPIRES"], ["lastUsedAt", "LAST USED"], ["revoked", "REVOKED"]]);
      return EXIT.ok;
    }
    if (sub === "revoke" && rest.length === 1) {
      await api.revokeKey(rest[0]!);
      process.stderr.write(`revoked ${rest[0]}\n`);
      return EXIT.ok;
    }
    throw new UsageError(`usage: capstan keys ${sub === "create" ? "create <name>" : sub === "revoke" ? "revoke <key id>" : "create|list|revoke"}`);
  },
};
