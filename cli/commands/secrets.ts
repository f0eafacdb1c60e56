import { HttpApi } from "../../client/http.js";
import type { SecretBinding } from "../../client/types.js";
import { GLOBAL_HELP, str, type Command } from "../command.js";
import { requireProject, resolveConfig } from "../config.js";
import { EXIT, UsageError } from "../exit.js";
import { printJson, printTable } from "../output.js";
import { readSecret } from "../secret-input.js";

export const secrets: Command = {
  name: "secrets",
  summary: "set, list or delete a project's secrets",
  help: `Usage:
  capstan secrets set <NAME> --host <binding> [--host <binding> ...]
  capstan secrets list
  capstan secrets delete <NAME>

set reads the value from stdin when it is piped (capstan secrets set KEY --host api.example.com < key.txt),
or asks for it without echoing when stdin is a terminal. It never takes the value as an argument.
Each --host binds the secret to a destination it may be sent to (deny by default): a host
pattern, [scheme://]host[:port] (api.example.com, *.example.com, http://127.0.0.1:8080), or a
JSON object that narrows one: '{"host":"api.example.com","paths":["/v1"],"methods":["GET"]}'.

${GLOBAL_HELP}`,
  options: { host: { type: "string", multiple: true } },
  async run([sub, ...rest], values) {
    const config = resolveConfig({ url: str(values, "url"), token: str(values, "token"), project: str(values, "project") });
    const api = new HttpApi(config);
    if (sub === "set" && rest.length === 1) {
      const hosts = ((values.host as string[] | undefined) ?? []).map(binding);
      if (hosts.length === 0) throw new UsageError("secrets set needs at least one --host: a secret may only be sent where it is bound");
      const project = requireProject(config);
      const value = await readSecret(`value for ${rest[0]} (not echoed): `);
      await api.setSecret(project, rest[0]!, value, hosts);
      process.stderr.write(`set ${rest[0]} in ${project}, bound to ${hosts.join(", ")}\n`);
      return EXIT.ok;
    }
    if (sub === "list" && rest.length === 0) {
      const list = await api.listSecrets(requireProject(config));
      if (values.json) printJson(list);
      else printTable(list, [["name", "NAME"], ["hosts", "HOSTS"], ["updatedAt", "UPDATED"]]);
      return EXIT.ok;
    }
    if (sub === "delete" && rest.length === 1) {
      const project = requireProject(config);
      await api.deleteSecret(project, rest[0]!);
      process.stderr.write(`deleted ${rest[0]} from ${project}\n`);
      return EXIT.ok;
    }
    if (sub === "set" && rest.length > 1) throw new UsageError("secrets set takes the name only: the value comes from stdin or a prompt, never from arguments");
    throw new UsageError("usage: capstan secrets set <NAME> --host <binding> | list | delete <NAME>");
  },
};

/** A --host value: a pattern as is, or a JSON object ({host, ports?, paths?, methods?}). */
function binding(text: string): SecretBinding {
  if (!text.trim().startsWith("{")) return text;
  try {
    return JSON.parse(text) as SecretBinding;
  } catch {
    throw new UsageError(`--host ${text} is neither a host pattern nor a JSON object`);
  }
}
