// A built-in capability: methods that run in the actor and may reach the platform.
import type { EgressMeta } from "../../isolates/egress-pipe";

export type BuiltinContext = { projectId: string; exports: Cloudflare.Exports };

/** What a method tells dispatch for the audit row, beyond its outcome. */
export type DispatchNote = { egress?: EgressMeta };

export type Builtin = {
  description: string;
  methods: Record<string, (ctx: BuiltinContext, args: unknown[], note: DispatchNote) => Promise<unknown>>;
};
