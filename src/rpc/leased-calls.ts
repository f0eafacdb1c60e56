// Calls a session's Project runs by itself, on a resolution its actor lent it (actors/leases.ts):
// a pure built-in, run here, or a source capability, run in its loaded isolate with the same
// posture as when the actor calls it (isolates/isolate.ts callSource). The actor's hop is then
// off the call's path; its audit row follows in a batch (audit-sender.ts).
//
// No call waits for a lease: a call without one goes through the actor as always, and asks for
// one in the background. A lease is dropped when the actor revokes it or when it runs out.
import { RpcTarget } from "capnweb";
import type { AuditedEgress, LeasedCallRecord } from "../../actors/audit";
import type { Caller } from "../../actors/dispatch-types";
import type { LeaseGrant, LeasedResolution } from "../../actors/leases";
import { describeArg } from "../../core/arg-shapes";
import { countedBody } from "../../core/count-bytes";
import { attemptMeta, egressDenied } from "../../core/egress-attempt";
import { decide } from "../../core/egress-policy";
import { CapstanError, asCapstanError } from "../../core/errors";
import { PURE_CAPABILITIES } from "../../core/pure-capabilities";
import { callSource } from "../../isolates/isolate";
import { AuditSender } from "./audit-sender";

type Actor = DurableObjectStub<import("../../actors/project-actor").ProjectActor>;
/** A lease, or the actor's answer that the capability cannot be lent, until `expires`. */
type Held = { resolution: LeasedResolution | null; expires: number };

/** The holder the actor calls back to revoke. Workers RPC reaches it; capnweb peers never see it. */
class Holder extends RpcTarget {
  constructor(private onRevoke: (capability: string, incarnation: string, version: number) => void) {
    super();
  }
  revoke(capability: string, incarnation: string, version: number): void {
    this.onRevoke(capability, incarnation, version);
  }
}

export class LeasedCalls {
  readonly #id = crypto.randomUUID();
  readonly #held = new Map<string, Held>();
  readonly #asking = new Set<string>();
  /** The newest revocation per capability, to drop a grant that crossed it on the way here. */
  readonly #revoked = new Map<string, { incarnation: string; version: number }>();
  readonly #holder = new Holder((capability, incarnation, version) => {
    this.#held.delete(capability);
    const prev = this.#revoked.get(capability);
    if (!prev || prev.incarnation !== incarnation || prev.version < version) this.#revoked.set(capability, { incarnation, version });
  });
  readonly audit: AuditSender;

  constructor(
    private env: Env,
    private ctx: ExecutionContext,
    private projectId: string,
    private caller: Caller,
    private actor: () => Actor,
    forgetActor: () => void,
  ) {
    this.audit = new AuditSender(projectId, actor, forgetActor, ctx);
  }

  /** The call's result if a lease covers it; otherwise null, and the caller goes through the actor. */
  run(capability: string, method: string, args: unknown[]): Promise<unknown> | null {
    const held = this.#held.get(capability);
    const now = Date.now();
    if (!held || held.expires <= now) {
      if (held) this.#held.delete(capability);
      this.#ask(capability);
      return null;
    }
    // Renewed before it runs out, so that a session calling steadily never falls back to the
    // actor's path (a dispatch, and its audit commit) once per lease.
    if (held.resolution && held.expires - now < RENEW_BEFORE_MS) this.#ask(capability);
    if (!held.resolution) return null;
    if (held.resolution.capability === "fetch") return this.#fetch(held.resolution, method, args);
    return this.#runLeased(held.resolution, method, args);
  }

  /**
   * fetch on a lease: decided by the lent policy, sent through this project's EgressPipe exactly
   * as the actor's fetch built-in sends it. A request the policy holds goes to the actor, which
   * parks it; an unknown method or a non-Request goes there too, for the actor's own refusal.
   */
  #fetch(resolution: LeasedResolution, method: string, args: unknown[]): Promise<unknown> | null {
    const request = args[0];
    const policy = resolution.kind === "builtin" ? resolution.policy : undefined;
    if (method !== "fetch" || !(request instanceof Request) || !policy) return null;
    const url = new URL(request.url);
    const d = decide(policy, url, request.method);
    if (d.action === "hold") return null;
    const at = Date.now();
    const started = performance.now();
    const meta = attemptMeta(request);
    const record = (outcome: "ok" | "error", egress: AuditedEgress, errorCode?: string): LeasedCallRecord => ({
      capability: "fetch", method, kind: "builtin", caller: this.caller, outcome,
      durationMs: performance.now() - started, ...(errorCode ? { errorCode } : {}),
      argShapes: args.map(describeArg), at, egress,
    });
    if (d.action === "deny") {
      const e = egressDenied(request, d.reason);
      this.audit.add(record("error", { ...meta, decision: "deny" }, e.code));
      return Promise.reject(e);
    }
    const pipe = this.ctx.exports.EgressPipe({ props: { projectId: this.projectId } });
    // Counted here rather than in the pipe: the body is read in large pieces here anyway, for
    // capnweb (api.ts leaves a body from countedBody as it is), and no callback crosses RPC.
    return pipe.egress(request, { policy, approved: false }).then(
      ({ response, meta: sent }) => {
        let settle!: (bytes: number) => void;
        const bytesIn = new Promise<number>((resolve) => (settle = resolve));
        const counted = new Response(countedBody(response.body, settle), response);
        this.audit.add(record("ok", { ...sent, decision: "allow" }), bytesIn);
        return counted;
      },
      (err: unknown) => {
        const e = asCapstanError(err);
        this.audit.add(record("error", { ...meta, decision: "allow" }, e.code));
        throw e;
      },
    );
  }

  #ask(capability: string): void {
    if (this.#asking.has(capability)) return;
    this.#asking.add(capability);
    // The lease counts from before it was asked for, so it ends here no later than at the actor.
    const asked = Date.now();
    const asking = this.actor()
      .lease(capability, this.#id, this.#holder)
      .then((grant: LeaseGrant | null) => {
        if (grant && this.#crossed(grant)) return;
        this.#held.set(capability, { resolution: grant?.resolution ?? null, expires: asked + (grant?.ttlMs ?? NOT_LENT_RETRY_MS) });
      })
      .catch(() => undefined)
      .finally(() => this.#asking.delete(capability));
    this.ctx.waitUntil(asking);
  }

  #crossed(grant: LeaseGrant): boolean {
    const r = this.#revoked.get(grant.capability);
    return Boolean(r && r.incarnation === grant.incarnation && grant.version < r.version);
  }

  async #runLeased(resolution: LeasedResolution, method: string, args: unknown[]): Promise<unknown> {
    const at = Date.now();
    const started = performance.now();
    const record = (outcome: "ok" | "error", errorCode?: string): LeasedCallRecord => ({
      capability: resolution.capability,
      method,
      kind: resolution.kind,
      caller: this.caller,
      outcome,
      durationMs: performance.now() - started,
      ...(errorCode ? { errorCode } : {}),
      argShapes: args.map(describeArg),
      at,
    });
    try {
      const result = await this.#call(resolution, method, args);
      this.audit.add(record("ok"));
      return result;
    } catch (err) {
      const e = asCapstanError(err);
      this.audit.add(record("error", e.code));
      throw e;
    }
  }

  #call(resolution: LeasedResolution, method: string, args: unknown[]): Promise<unknown> | unknown {
    const unknownMethod = () => new CapstanError("capability_unknown", `capability "${resolution.capability}" has no method "${method}"`);
    if (resolution.kind === "builtin") {
      const fn = PURE_CAPABILITIES[resolution.capability]?.[method];
      if (!fn) throw unknownMethod();
      return fn(args);
    }
    if (!resolution.methods.includes(method)) throw unknownMethod();
    return callSource(this.env, this.projectId, { name: resolution.capability, hash: resolution.hash, source: resolution.source }, method, args);
  }
}

/** How long to go through the actor before asking again about a capability it would not lend. */
const NOT_LENT_RETRY_MS = 10_000;
/** How long before a lease runs out its holder asks for the next one. */
const RENEW_BEFORE_MS = 2_000;
