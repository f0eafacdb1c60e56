// The capnweb surface. capnweb ends here, in the stateless front door (law 5); the actor is
// reached with typed Workers RPC. A session is authenticated once, when it starts (law 6):
// what it can reach afterwards is exactly the stubs it was handed.
import { RpcTarget } from "capnweb";
import type { Caller } from "../../actors/dispatch-types";
import { mintSessionId } from "../auth/ids";
import { principalForToken, type Principal } from "../auth/principal";
import { actorFor, createProject, listProjects, requireMember, type ProjectInfo } from "../projects";
import { AuditQuery, CreateProjectBody, ProjectId, SecretOptions, parse } from "../schemas";
import { deleteProjectSecret, listProjectSecrets, setProjectSecret } from "../secrets";
import { requestFromFetchArgs } from "./fetch-args";

/** The main object of an unauthenticated connection: the one thing it can do is authenticate. */
export class Gate extends RpcTarget {
  constructor(private env: Env) {
    super();
  }
  async authenticate(token: unknown): Promise<Session> {
    return new Session(this.env, await principalForToken(this.env, token));
  }
}

export class Session extends RpcTarget {
  readonly #caller: Caller;
  constructor(private env: Env, private principal: Principal) {
    super();
    this.#caller = { kind: "session", id: mintSessionId() };
  }
  whoami(): { userId: string; sessionId: string } {
    return { userId: this.principal.userId, sessionId: this.#caller.id };
  }
  projects(): Promise<ProjectInfo[]> {
    return listProjects(this.env, this.principal);
  }
  createProject(name: unknown): Promise<ProjectInfo> {
    return createProject(this.env, this.principal, parse(CreateProjectBody, { name }, "project").name);
  }
  async project(id: unknown): Promise<Project> {
    const info = await requireMember(this.env, this.principal, parse(ProjectId, id, "id"));
    return new Project(this.env, info, this.#caller);
  }
}

export class Project extends RpcTarget {
  constructor(private env: Env, private info: ProjectInfo, private caller: Caller) {
    super();
  }
  get id(): string {
    return this.info.id;
  }
  get name(): string {
    return this.info.name;
  }
  async fetch(input: unknown, init?: unknown): Promise<Response> {
    const request = requestFromFetchArgs(input, init);
    return (await actorFor(this.env, this.info.id).dispatch("fetch", "fetch", [request], this.caller)) as Response;
  }
  setSecret(name: unknown, value: unknown, options: unknown): Promise<void> {
    const { hosts } = parse(SecretOptions, options, "options");
    return setProjectSecret(this.env, this.info.id, name, value, hosts);
  }
  listSecrets() {
    return listProjectSecrets(this.env, this.info.id);
  }
  deleteSecret(name: unknown): Promise<void> {
    return deleteProjectSecret(this.env, this.info.id, name);
  }
  audit(options?: unknown) {
    return actorFor(this.env, this.info.id).audit(parse(AuditQuery, options, "options") ?? {});
  }
}
