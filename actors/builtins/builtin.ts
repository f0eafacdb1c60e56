// A built-in capability: methods that run in the actor and may reach the platform.
import type { EgressMeta } from "../../isolates/egress-pipe";
import type { ProjectStreams } from "../streams/project-streams";

export type BuiltinContext = { projectId: string; exports: Cloudflare.Exports; streams: ProjectStreams };

/** What a method tells dispatch for the audit row, beyond its outcome. */
export type DispatchNote = { egress?: EgressMeta };

export type Builtin = {
  description: string;
  methods: Record<string, (ctx: BuiltinContext, args: unknown[], note: DispatchNote) => Promise<unknown>>;
};
