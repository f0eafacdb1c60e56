// The capnweb surface. capnweb ends here, in the stateless front door (law 5); the actor is
// reached with typed Workers RPC. A session is authenticated once, when it starts (law 6):
// what it can reach afterwards is exactly the stubs it was handed.
import { RpcTarget } from "capnweb";
import { inBigChunks } from "../../core/big-chunks";
import { CapstanError, asCapstanError } from "../../core/errors";
import type { Caller } from "../../actors/dispatch-types";
import { mintReplSessionId, mintSessionId } from "../auth/ids";
import { principalForToken, type Principal } from "../auth/principal";
import { actorFor, createProject, listProjects, requireMember, type ProjectInfo } from "../projects";
import { AuditQuery, CapabilityName, ReplSessionId, CreateProjectBody, DefineOptions, MethodName, ProjectId, SecretOptions, parse } from "../schemas";
import { deleteProjectSecret, listProjectSecrets, setProjectSecret } from "../secrets";
import { capabilityStub } from "./capability-stub";
import { DispatchBatcher } from "./dispatch-batcher";
import { LeasedCalls } from "./leased-calls";
import { ReplSession } from "./repl-session";
import { requestFromFetchArgs } from "./fetch-args";
import { ShadowBridge } from "./shadow-bridge";
import { Streams } from "./streams-api";
import { ApprovalWatch, ApprovalWatchBridge } from "./approval-watch";
import { decideApproval, getPolicy, listApprovals, setPolicy } from "../egress-policy";

/** The main object of an unauthenticated connection: the one thing it can do is authenticate. */
export class Gate extends RpcTarget {
  constructor(private env: Env, private ctx: ExecutionContext) {
    super();
  }
  async authenticate(token: unknown): Promise<Session> {
    return new Session(this.env, this.ctx, await principalForToken(this.env, token));
  }
}

export class Session extends RpcTarget {
  readonly #caller: Caller;
  constructor(private env: Env, private ctx: ExecutionContext, private principal: Principal) {
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
    return new Project(this.env, this.ctx, info, this.#caller, this.principal.userId);
  }
}

export class Project extends RpcTarget {
  constructor(private env: Env, private ctx: ExecutionContext, private info: ProjectInfo, private caller: Caller, private userId: string) {
    super();
  }
  #stub: ReturnType<typeof actorFor> | null = null;
  /** One stub per Project: a stub is a connection, and making one per call costs a hop's setup. */
  #actor() {
    return (this.#stub ??= actorFor(this.env, this.info.id));
  }
  #batcher = new DispatchBatcher(() => this.#actor());
  /**
   * A stub whose actor was reset (a deploy, a crash, a restart) fails every call from then on;
   * an error that is not the actor's own answer drops it, so the next call gets a fresh one.
   */
  #forgetActor = () => {
    this.#stub = null;
  };
  /** Calls the actor lent this session the resolution of; their audit rows follow in batches. */
  #leasedCalls: LeasedCalls | null = null;
  get #leased(): LeasedCalls {
    return (this.#leasedCalls ??= new LeasedCalls(this.env, this.ctx, this.info.id, this.caller, () => this.#actor(), this.#forgetActor));
  }
  /** One call to the actor that drops the cached stub if the actor turned out to be reset. */
  async #onActor<T>(call: (actor: ReturnType<typeof actorFor>) => Promise<T>): Promise<T> {
    try {
      return await call(this.#actor());
    } catch (err) {
      if (asCapstanError(err).code === "internal") this.#forgetActor();
      throw err;
    }
  }
  #dispatch(capability: string, method: string, args: unknown[]): Promise<unknown> {
    const result = this.#leased.run(capability, method, args) ?? this.#onActor(() => this.#batcher.dispatch({ capability, method, args, caller: this.caller }));
    // A body that crossed Workers RPC reads in 4 KiB pieces: capnweb would send each as a message.
    return result.then((r) => (r instanceof Response ? inBigChunks(r) : r));
  }
  get id(): string {
    return this.info.id;
  }
  get name(): string {
    return this.info.name;
  }
  async fetch(input: unknown, init?: unknown): Promise<Response> {
    const request = requestFromFetchArgs(input, init);
    return (await this.#dispatch("fetch", "fetch", [request])) as Response;
  }
  capabilities() {
    return this.#onActor((a) => a.capabilities());
  }
  define(name: unknown, options: unknown) {
    const n = parse(CapabilityName, name, "name");
    const o = parse(DefineOptions, options, "options");
    return this.#onActor((a) => a.define(n, o.source, o.description ?? ""));
  }
  remove(name: unknown): Promise<void> {
    const n = parse(CapabilityName, name, "name");
    return this.#onActor((a) => a.remove(n));
  }
  call(name: unknown, method: unknown, ...args: unknown[]): Promise<unknown> {
    const n = parse(CapabilityName, name, "name");
    const m = parse(MethodName, method, "method");
    // subscribe's callback is a capnweb stub, which must be bridged before the actor can call it.
    if (n === "streams" && m === "subscribe") return this.streams().subscribe(args[0], args[1], args[2]);
    return this.#dispatch(n, m, args);
  }
  /** The streams capability, with subscribe's callback bridged to the actor. */
  streams(): Streams {
    return new Streams((method, args) => this.#dispatch("streams", method, args), () => this.#actor(), this.#forgetActor, this.ctx);
  }
  async cap(name: unknown): Promise<RpcTarget> {
    const n = parse(CapabilityName, name, "name");
    if (n === "streams") return this.streams();
    const info = (await this.#onActor((a) => a.capabilities())).find((c) => c.name === n);
    if (!info) throw new CapstanError("capability_unknown", `no capability named "${n}" in this project`);
    return capabilityStub(info.methods, (method, args) => this.#dispatch(n, method, args));
  }
  /** Installs `target` on top of `name`; the returned handle revokes it. */
  async shadow(name: unknown, target: unknown): Promise<ShadowHandle> {
    const n = parse(CapabilityName, name, "name");
    if (!isStub(target)) throw new CapstanError("bad_request", "target must be an RpcTarget (an object passed by reference)");
    const owner = this.caller.id;
    const bridge = new ShadowBridge(target, n, () => {
      // The installing session broke: its shadows go at once, so the next call falls back.
      this.ctx.waitUntil(this.#actor().dropSessionShadows(owner).catch(() => 0));
    });
    const { id } = await this.#onActor((a) => a.installShadow(n, owner, bridge));
    return new ShadowHandle(id, n, () => this.#actor().revokeShadow(id, owner));
  }
  revokeShadow(id: unknown): Promise<void> {
    if (typeof id !== "string") throw new CapstanError("bad_request", "id must be a shadow id");
    return this.#onActor((a) => a.revokeShadow(id, this.caller.id));
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
  /** A REPL session, new or resumed by id; it belongs to this session's user. */
  async repl(sessionId?: unknown): Promise<ReplSession> {
    const id = sessionId === undefined ? mintReplSessionId() : parse(ReplSessionId, sessionId, "sessionId");
    await this.#onActor((a) => a.replOpen(id, this.userId));
    return new ReplSession(this.#actor(), id, this.userId);
  }
  async audit(options?: unknown) {
    const query = parse(AuditQuery, options, "options") ?? {};
    // This session's own leased calls are in the log before it reads it.
    await this.#leasedCalls?.audit.flushed();
    return this.#onActor((a) => a.audit(query));
  }
  /** The egress policy; any member may read it. */
  policy() {
    return getPolicy(this.env, this.info);
  }
  /** Replaces the egress policy whole: `{ rules, default?, holdTimeoutMs? }`. Owners only. */
  setPolicy(policy: unknown) {
    return setPolicy(this.env, this.info, policy);
  }
  /** Requests held for approval, oldest first: metadata only. */
  approvals() {
    return listApprovals(this.env, this.info);
  }
  approve(id: unknown, options?: unknown) {
    return decideApproval(this.env, this.info, this.userId, id, "approved", options);
  }
  deny(id: unknown) {
    return decideApproval(this.env, this.info, this.userId, id, "denied");
  }
  /** Calls `callback({type: "held" | "decided", approval})` as holds come and go, until closed. */
  async watchApprovals(callback: unknown): Promise<ApprovalWatch> {
    if (!isStub(callback)) throw new CapstanError("bad_request", "callback must be a function (passed by reference)");
    const id = `apw_${crypto.randomUUID()}`;
    const unwatch = () => this.#actor().unwatchApprovals(id).catch(() => false);
    const bridge = new ApprovalWatchBridge(callback, () => this.ctx.waitUntil(unwatch()));
    await this.#onActor((a) => a.watchApprovals(id, bridge));
    return new ApprovalWatch(id, unwatch);
  }
}

export class ShadowHandle extends RpcTarget {
  constructor(private shadowId: string, private capability: string, private doRevoke: () => Promise<void>) {
    super();
  }
  get id(): string {
    return this.shadowId;
  }
  get name(): string {
    return this.capability;
  }
  revoke(): Promise<void> {
    return this.doRevoke();
  }
}

function isStub(v: unknown): v is import("capnweb").RpcStub<Record<string, (...a: unknown[]) => Promise<unknown>>> {
  return (typeof v === "object" || typeof v === "function") && v !== null && typeof (v as { dup?: unknown }).dup === "function";
}
