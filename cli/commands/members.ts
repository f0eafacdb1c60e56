import { HttpApi } from "../../client/http.js";
import type { MemberRole } from "../../client/types.js";
import { GLOBAL_HELP, str, type Command } from "../command.js";
import { requireProject, resolveConfig } from "../config.js";
import { EXIT, UsageError } from "../exit.js";
import { printJson, printTable } from "../output.js";

const ROLES: readonly MemberRole[] = ["owner", "approver", "member"];

export const members: Command = {
  name: "members",
  summary: "list a project's members, add or remove one, change a role",
  help: `Usage:
  capstan members list
  capstan members add <userId> <role>
  capstan members set <userId> <role>
  capstan members remove <userId>

role is owner, approver (may also answer requests held for approval) or member. Only an owner
adds, changes and removes; anyone may remove themself. A project always keeps one owner.

${GLOBAL_HELP}`,
  options: {},
  async run([sub, ...rest], values) {
    const config = resolveConfig({ url: str(values, "url"), token: str(values, "token"), project: str(values, "project") });
    const api = new HttpApi(config);
    if (sub === "list" && rest.length === 0) {
      const list = await api.listMembers(requireProject(config));
      if (values.json) printJson(list);
      else printTable(list, [["userId", "USER"], ["role", "ROLE"], ["addedAt", "ADDED"]]);
      return EXIT.ok;
    }
    if ((sub === "add" || sub === "set") && rest.length === 2) {
      const [userId, role] = rest as [string, string];
      if (!ROLES.includes(role as MemberRole)) throw new UsageError(`role must be one of ${ROLES.join(", ")}, not "${role}"`);
      const project = requireProject(config);
      const m = sub === "add" ? await api.addMember(project, userId, role as MemberRole) : await api.setMemberRole(project, userId, role as MemberRole);
      if (values.json) printJson(m);
      else process.stderr.write(`${m.userId} is ${m.role} of ${project}\n`);
      return EXIT.ok;
    }
    if (sub === "remove" && rest.length === 1) {
      const project = requireProject(config);
      await api.removeMember(project, rest[0]!);
      process.stderr.write(`removed ${rest[0]} from ${project}\n`);
      return EXIT.ok;
    }
    throw new UsageError("usage: capstan members list | add <userId> <role> | set <userId> <role> | remove <userId>");
  },
};
