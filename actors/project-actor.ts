// ProjectActor: one per project, the single supervisor of every capability call in it. It is
// reached only through typed Workers-RPC methods; it has no fetch handler and no WebSocket.
import { DurableObject } from "cloudflare:workers";
import { CapstanError, asCapstanError } from "../core/errors";
import { readAudit, writeAudit, type AuditRow } from "./audit";
import { BUILTINS } from "./builtins";
import type { DispatchNote } from "./builtins/builtin";
import type { Caller } from "./dispatch-types";
import { migrate } from "./schema";

export class ProjectActor extends DurableObject<Env> {
  readonly projectId: string;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Identity is the object's own name (idFromName(projectId)), never an argument.
    const name = ctx.id.name;
    if (!name) throw new Error("ProjectActor must be addressed by idFromName(projectId)");
    this.projectId = name;
    migrate(ctx.storage.sql);
  }

  /** The one path every capability call takes: resolve, run, audit. */
  async dispatch(capability: string, method: string, args: unknown[], caller: Caller): Promise<unknown> {
    const started = performance.now();
    const note: DispatchNote = {};
    const builtin = BUILTINS[capability];
    try {
      if (!builtin) throw new CapstanError("capability_unknown", `no capability named "${capability}" in this project`);
      const fn = builtin.methods[method];
      if (!fn) throw new CapstanError("capability_unknown", `capability "${capability}" has no method "${method}"`);
      const result = await fn({ projectId: this.projectId, exports: this.ctx.exports }, args, note);
      this.#audit(capability, method, caller, started, note);
      return result;
    } catch (err) {
      const e = asCapstanError(err);
      this.#audit(capability, method, caller, started, note, e.code);
      throw e;
    }
  }

  audit(options: { after?: number; limit?: number; capability?: string } = {}): AuditRow[] {
    const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
    return readAudit(this.ctx.storage.sql, options.after ?? 0, limit, options.capability);
  }

  #audit(capability: string, method: string, caller: Caller, started: number, note: DispatchNote, errorCode?: string): void {
    writeAudit(this.ctx.storage.sql, {
      capability,
      method,
      kind: "builtin",
      caller,
      outcome: errorCode ? "error" : "ok",
      durationMs: performance.now() - started,
      errorCode,
      egress: note.egress,
    });
  }
}
