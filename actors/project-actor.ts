// ProjectActor: one per project, the single supervisor of every capability call in it. It is
// reached only through typed Workers-RPC methods; it has no fetch handler and no WebSocket.
// Every call, from a client, loaded code, a shadow's `next` or another capability, passes
// through dispatch() and leaves an audit row.
import { DurableObject } from "cloudflare:workers";
import { CapstanError, asCapstanError } from "../core/errors";
import { sha256Hex } from "../core/sha256";
import { callSource, sourceCapability } from "../isolates/isolate";
import { packageSourceCapability } from "../isolates/loaded/source-capability";
import { alwaysRule, type EgressPolicy } from "../core/egress-policy";
import { AUDIT_SCHEMA, readAudit, type LeasedCallRecord, recordBytesIn, writeAudit, type AuditedEgress, type AuditRow } from "./audit";
import { APPROVALS_SCHEMA, Approvals, type Approval, type ApprovalWatcher } from "./egress/approvals";
import { POLICY_SCHEMA, prependRule, readPolicy, writePolicy } from "./egress/policy-store";
import { BUILTINS } from "./builtins";
import { PURE_CAPABILITIES } from "../core/pure-capabilities";
import { LEASES_SCHEMA, Leases, type LeaseGrant, type LeaseHolder } from "./leases";
import type { DispatchNote } from "./builtins/builtin";
import type { CapabilityKind, Caller } from "./dispatch-types";
import { resolveLayers, type Layer } from "./registry/layers";
import { ShadowStacks, type ShadowTarget } from "./registry/shadows";
import { SOURCE_SCHEMA, deleteSource, getSource, listSources, putSource } from "./registry/source-store";
import { LINE_CANCELLED, evalLine, type ReplLog, type ReplOutcome } from "./repl/eval-line";
import { REPL_SCHEMA, forgetSession, openSession, readHistory, type HistoryEntry } from "./repl/store";
import { migrate } from "./schema";
import { ProjectStreams } from "./streams/project-streams";
import { STREAMS_SCHEMA } from "./streams/store";
import type { SubscriptionEnd, SubscriptionStats } from "./streams/subscriptions";

export type CapabilityInfo = { name: string; kind: CapabilityKind; description: string; version: number; depth: number; methods: string[] };

const CAPABILITY_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
/** Wall-clock bound on one REPL line; a session may ask for less. */
const REPL_LINE_TIMEOUT_MS = 30_000;

export class ProjectActor extends DurableObject<Env> {
  readonly projectId: string;
  readonly #shadows = new ShadowStacks();
  /** Source definitions by name (null: none). The actor is their only writer, so this stays true. */
  readonly #sources = new Map<string, ReturnType<typeof getSource>>();
  /** Lines of one REPL session run one after another. */
  readonly #replQueues = new Map<string, Promise<unknown>>();
  /** Cancels the line a session is waiting on. */
  readonly #replCancels = new Map<string, () => void>();
  readonly #streams: ProjectStreams;
  readonly #approvals: Approvals;
  readonly #leases: Leases;
  /** Read on every fetch, written only through setPolicy/allowAlways: kept in memory. */
  #policy: EgressPolicy | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Identity is the object's own name (idFromName(projectId)), never an argument.
    const name = ctx.id.name;
    if (!name) throw new Error("ProjectActor must be addressed by idFromName(projectId)");
    this.projectId = name;
    migrate(ctx.storage.sql, "audit", AUDIT_SCHEMA);
    migrate(ctx.storage.sql, "source_capabilities", SOURCE_SCHEMA);
    migrate(ctx.storage.sql, "repl", REPL_SCHEMA);
    migrate(ctx.storage.sql, "streams", STREAMS_SCHEMA);
    migrate(ctx.storage.sql, "egress_policy", POLICY_SCHEMA);
    migrate(ctx.storage.sql, "approvals", APPROVALS_SCHEMA);
    migrate(ctx.storage.sql, "leases", LEASES_SCHEMA);
    this.#leases = new Leases(ctx.storage.sql);
    this.#streams = new ProjectStreams(ctx.storage);
    this.#approvals = new Approvals(ctx.storage.sql);
  }

  /** The one path every capability call takes: resolve, run, audit. */
  async dispatch(capability: string, method: string, args: unknown[], caller: Caller): Promise<unknown> {
    const started = performance.now();
    const note: DispatchNote = { caller };
    let kind: CapabilityKind = "builtin";
    try {
      const layers = this.#layers(capability);
      if (layers.length === 0) throw new CapstanError("capability_unknown", `no capability named "${capability}" in this project`);
      kind = layers[0]!.kind;
      const result = await this.#run(layers, 0, capability, method, args, note);
      this.#audit(capability, method, args, kind, caller, started, note);
      return result;
    } catch (err) {
      const e = asCapstanError(err);
      this.#audit(capability, method, args, kind, caller, started, note, e.code);
      throw e;
    }
  }

  /**
   * Many dispatches in one RPC (see src/rpc/dispatch-batcher.ts). Each is dispatched and audited
   * on its own, concurrently, and reported to `sink` as soon as it settles, errors in their wire
   * form; the RPC itself resolves when all have been reported.
   */
  async dispatchMany(
    calls: { capability: string; method: string; args: unknown[]; caller: Caller }[],
    sink: { settle(i: number, r: { ok: true; value: unknown } | { ok: false; error: string }): unknown },
  ): Promise<void> {
    await Promise.all(
      calls.map((c, i) =>
        this.dispatch(c.capability, c.method, c.args, c.caller)
          .then(
            (value) => ({ ok: true as const, value }),
            (err) => ({ ok: false as const, error: asCapstanError(err).message }),
          )
          .then((r) => sink.settle(i, r))
          .catch(() => undefined),
      ),
    );
  }

  policy(): EgressPolicy {
    return (this.#policy ??= readPolicy(this.ctx.storage.sql));
  }

  /** Replaces the policy whole (the front door validated it); returns once no lease on fetch holds the old one. */
  async setPolicy(policy: EgressPolicy): Promise<EgressPolicy> {
    this.#policy = writePolicy(this.ctx.storage.sql, policy);
    await this.#leases.revoke("fetch");
    return this.#policy;
  }

  approvals(): Approval[] {
    return this.#approvals.pending();
  }

  /** The front door checked that `by` holds the approval right. */
  decideApproval(id: string, verdict: "approved" | "denied", by: string, always = false): Approval {
    return this.#approvals.decide(id, verdict, by, verdict === "approved" && always);
  }

  watchApprovals(id: string, watcher: ApprovalWatcher): void {
    // A stub received as an argument is released when the call returns unless it is duplicated.
    this.#approvals.watch(id, watcher.dup ? watcher.dup() : watcher);
  }

  unwatchApprovals(id: string): boolean {
    return this.#approvals.unwatch(id);
  }

  /**
   * Lends the front door the resolution of `capability` when it can run the call by itself: a
   * pure built-in, or a source capability (which runs in its own loaded isolate either way).
   * A shadowed capability is never lent: its calls must reach the shadow through the actor.
   */
  lease(capability: string, holderId: string, holder: LeaseHolder): LeaseGrant | null {
    const top = this.#layers(capability)[0];
    if (!top || top.kind === "shadow") return null;
    if (top.kind === "builtin") {
      // fetch is lent with the policy it is decided by; a change of policy revokes it.
      if (capability === "fetch") return this.#leases.grant(holderId, holder, { kind: "builtin", capability, policy: this.policy() });
      return capability in PURE_CAPABILITIES ? this.#leases.grant(holderId, holder, { kind: "builtin", capability }) : null;
    }
    const { hash, source, methods } = top.def;
    return this.#leases.grant(holderId, holder, { kind: "source", capability, hash, source, methods });
  }

  /**
   * The audit rows of calls the front door ran on leases, in the order they were made, and the
   * bytes-in figures of earlier leased fetches whose bodies have since been read. Returns the
   * rows' sequence numbers, which those later figures refer to.
   */
  auditBatch(records: LeasedCallRecord[], bytesIn: [seq: number, bytes: number][] = []): number[] {
    const seqs = records.map((r) =>
      writeAudit(this.ctx.storage.sql, {
        capability: r.capability, method: r.method, kind: r.kind, caller: r.caller, outcome: r.outcome,
        durationMs: r.durationMs, errorCode: r.errorCode, args: [], argShapes: r.argShapes, at: r.at, via: "lease", egress: r.egress,
      }),
    );
    for (const [seq, bytes] of bytesIn) recordBytesIn(this.ctx.storage.sql, seq, bytes);
    return seqs;
  }

  capabilities(): CapabilityInfo[] {
    const out = new Map<string, CapabilityInfo>();
    for (const [name, b] of Object.entries(BUILTINS)) {
      out.set(name, { name, kind: "builtin", description: b.description, version: 1, depth: 0, methods: Object.keys(b.methods) });
    }
    for (const s of listSources(this.ctx.storage.sql)) {
      out.set(s.name, { name: s.name, kind: "source", description: s.description, version: s.version, depth: 0, methods: s.methods });
    }
    for (const name of this.#shadows.names()) {
      const base = out.get(name);
      out.set(name, { name, kind: "shadow", description: base?.description ?? "", version: base?.version ?? 0, depth: this.#shadows.depth(name), methods: base?.methods ?? [] });
    }
    return [...out.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Validates by loading it; stores nothing unless the loader accepts it and it exports a function. */
  async define(name: string, source: string, description: string): Promise<CapabilityInfo> {
    if (!CAPABILITY_NAME.test(name)) throw new CapstanError("bad_request", "name must be a letter then up to 63 of A-Z a-z 0-9 _ . -");
    if (name in BUILTINS) throw new CapstanError("conflict", `"${name}" is a built-in capability; shadow it instead of defining it`);
    packageSourceCapability(name, source);
    const hash = await sha256Hex(source);
    let methods: string[];
    try {
      methods = await sourceCapability(this.env, this.projectId, name, hash, source).methods();
    } catch (err) {
      throw new CapstanError("bad_source", `source of "${name}" did not load: ${(err as Error).message}`);
    }
    if (methods.length === 0) throw new CapstanError("bad_source", `source of "${name}" exports no functions`);
    const version = putSource(this.ctx.storage.sql, { name, description, source, hash, methods });
    this.#sources.delete(name);
    await this.#leases.revoke(name);
    return { name, kind: "source", description, version, depth: this.#shadows.depth(name), methods };
  }

  async remove(name: string): Promise<void> {
    this.#sources.delete(name);
    if (!deleteSource(this.ctx.storage.sql, name)) throw new CapstanError("not_found", `no source capability named "${name}"`);
    await this.#leases.revoke(name);
  }

  /**
   * Returns once no lease on `name` can still be used, so every call made after this resolves
   * gets the shadow. Removing a shadow needs no revocation: a shadowed capability is never lent.
   */
  async installShadow(name: string, owner: string, target: ShadowTarget): Promise<{ id: string; name: string }> {
    if (!CAPABILITY_NAME.test(name)) throw new CapstanError("bad_request", "name must be a letter then up to 63 of A-Z a-z 0-9 _ . -");
    // A stub received as an argument is released when the call returns unless it is duplicated.
    const kept = target.dup ? target.dup() : target;
    const shadow = this.#shadows.push(name, owner, kept);
    await this.#leases.revoke(name);
    return { id: shadow.id, name };
  }

  /** Only the session that installed a shadow may revoke it. */
  revokeShadow(id: string, owner: string): void {
    const shadow = this.#shadows.find(id);
    if (!shadow || shadow.owner !== owner) throw new CapstanError("not_found", `no shadow "${id}" installed by this session`);
    this.#shadows.remove(id);
  }

  /** Called by the front door when the installing session breaks. */
  dropSessionShadows(owner: string): number {
    let n = 0;
    for (const name of this.#shadows.names()) {
      for (const s of this.#shadows.layers(name)) if (s.owner === owner && this.#shadows.remove(s.id)) n++;
    }
    return n;
  }

  /** Opens or resumes a REPL session; it belongs to the user who opened it. */
  replOpen(sessionId: string, owner: string): { id: string; history: number } {
    openSession(this.ctx.storage.sql, sessionId, owner);
    return { id: sessionId, history: readHistory(this.ctx.storage.sql, sessionId).length };
  }

  /** Runs one line in a loaded isolate; `log` receives console output while it runs. Audited as repl.eval. */
  async replEval(sessionId: string, owner: string, code: string, log: ReplLog, timeoutMs = REPL_LINE_TIMEOUT_MS): Promise<ReplOutcome> {
    openSession(this.ctx.storage.sql, sessionId, owner);
    const previous = this.#replQueues.get(sessionId) ?? Promise.resolve();
    const line = previous.then(async () => {
      const started = performance.now();
      const cancelled = new Promise<never>((_, reject) => this.#replCancels.set(sessionId, () => reject(LINE_CANCELLED)));
      cancelled.catch(() => undefined);
      const outcome = await evalLine(
        { env: this.env, storage: this.ctx.storage, sql: this.ctx.storage.sql, projectId: this.projectId },
        sessionId, code, log, Math.min(Math.max(timeoutMs, 100), REPL_LINE_TIMEOUT_MS), cancelled,
      ).finally(() => this.#replCancels.delete(sessionId));
      this.#audit("repl", "eval", [code], "builtin", { kind: "repl", id: sessionId }, started, {}, outcome.type === "error" ? (outcome.code ?? "line_error") : undefined);
      return outcome;
    });
    this.#replQueues.set(sessionId, line.catch(() => undefined));
    return line;
  }

  /** Stops waiting for the session's running line; returns whether one was running. */
  replCancel(sessionId: string, owner: string): boolean {
    openSession(this.ctx.storage.sql, sessionId, owner);
    const cancel = this.#replCancels.get(sessionId);
    cancel?.();
    return Boolean(cancel);
  }

  replHistory(sessionId: string, owner: string): HistoryEntry[] {
    openSession(this.ctx.storage.sql, sessionId, owner);
    return readHistory(this.ctx.storage.sql, sessionId);
  }

  /** Ends a session: its bindings are forgotten; its history stays for the record. */
  async replClose(sessionId: string, owner: string): Promise<void> {
    openSession(this.ctx.storage.sql, sessionId, owner);
    await forgetSession(this.ctx.storage, this.ctx.storage.sql, sessionId);
  }

  /**
   * Resolves when a stream subscription ends, with the reason. The front door keeps this call
   * open for each subscription it bridges: it learns of drops this way, and if the actor
   * restarts the call fails, which is how it learns that the subscription is gone.
   */
  watchSubscription(id: string): Promise<SubscriptionEnd> {
    return this.#streams.subscriptions.watch(id);
  }

  /** Called by the front door when the subscribing session breaks. */
  dropSubscription(id: string): boolean {
    return this.#streams.subscriptions.end(id, "session_closed", "the subscribing session is gone");
  }

  streamStats(): SubscriptionStats {
    return this.#streams.subscriptions.stats();
  }

  audit(options: { after?: number; limit?: number; capability?: string } = {}): AuditRow[] {
    const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
    return readAudit(this.ctx.storage.sql, options.after ?? 0, limit, options.capability);
  }

  #layers(capability: string): Layer[] {
    let source = this.#sources.get(capability);
    if (source === undefined) {
      source = getSource(this.ctx.storage.sql, capability);
      this.#sources.set(capability, source);
    }
    return resolveLayers(this.#shadows.layers(capability), source, BUILTINS[capability]);
  }

  async #run(layers: Layer[], i: number, capability: string, method: string, args: unknown[], note: DispatchNote): Promise<unknown> {
    const layer = layers[i];
    if (!layer) throw new CapstanError("capability_unknown", `nothing beneath the shadows of "${capability}" to pass the call to`);
    switch (layer.kind) {
      case "builtin": {
        const fn = layer.builtin.methods[method];
        if (!fn) throw new CapstanError("capability_unknown", `capability "${capability}" has no method "${method}"`);
        const egress = {
          policy: () => this.policy(),
          approvals: this.#approvals,
          allowAlways: async (url: URL, method: string) => {
            this.#policy = prependRule(this.ctx.storage.sql, alwaysRule(url, method));
            await this.#leases.revoke("fetch");
          },
          auditHold: (meta: AuditedEgress) => {
            writeAudit(this.ctx.storage.sql, { capability, method, kind: "builtin", caller: note.caller!, outcome: "ok", durationMs: 0, args, egress: meta });
          },
        };
        return fn({ projectId: this.projectId, exports: this.ctx.exports, streams: this.#streams, egress }, args, note);
      }
      case "source": {
        const { def } = layer;
        if (!def.methods.includes(method)) throw new CapstanError("capability_unknown", `capability "${capability}" has no method "${method}"`);
        return callSource(this.env, this.projectId, def, method, args);
      }
      case "shadow": {
        const next = (...nextArgs: unknown[]) => this.#run(layers, i + 1, capability, method, nextArgs, note);
        try {
          return await layer.shadow.target.invoke(method, args, next);
        } catch (err) {
          // Any failed call counts as broken: the shadow is removed, so the next call falls back.
          this.#shadows.remove(layer.shadow.id);
          const e = asCapstanError(err);
          const gone = e.code === "shadow_broken" || e.code === "internal";
          // A vanished shadow is skipped for this call too, when the call can be replayed (no
          // request body already handed to it). A shadow that answered with an error is not
          // skipped: that would bypass whatever it meant to refuse.
          if (gone && canReplay(args)) return this.#run(layers, i + 1, capability, method, args, note);
          throw gone ? new CapstanError("shadow_broken", `the shadow of "${capability}" went away mid-call`) : e;
        }
      }
    }
  }

  #audit(capability: string, method: string, args: unknown[], kind: CapabilityKind, caller: Caller, started: number, note: DispatchNote, errorCode?: string): void {
    const seq = writeAudit(this.ctx.storage.sql, {
      capability,
      method,
      args,
      kind,
      caller,
      outcome: errorCode ? "error" : "ok",
      durationMs: performance.now() - started,
      errorCode,
      egress: note.egress,
    });
    note.bytesIn?.then((n) => recordBytesIn(this.ctx.storage.sql, seq, n));
  }
}

function canReplay(args: unknown[]): boolean {
  return !args.some((a) => a instanceof Request && a.body !== null);
}

