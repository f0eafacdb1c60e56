// A built-in capability: methods that run in the actor and may reach the platform.
import type { EgressPolicy } from "../../core/egress-policy";
import type { AuditedEgress } from "../audit";
import type { Caller } from "../dispatch-types";
import type { Approvals } from "../egress/approvals";
import type { ProjectStreams } from "../streams/project-streams";

export type BuiltinContext = {
  projectId: string;
  exports: Cloudflare.Exports;
  streams: ProjectStreams;
  egress: { policy(): EgressPolicy; approvals: Approvals; allowAlways(url: URL, method: string): Promise<void>; auditHold(meta: AuditedEgress): void };
};

/**
 * What a method tells dispatch for the audit row, beyond its outcome. `bytesIn` settles when a
 * response body has been read to its end, after the row is written; dispatch adds it then.
 */
export type DispatchNote = { caller?: Caller; egress?: AuditedEgress; bytesIn?: Promise<number> };

export type Builtin = {
  description: string;
  methods: Record<string, (ctx: BuiltinContext, args: unknown[], note: DispatchNote) => Promise<unknown>>;
};
