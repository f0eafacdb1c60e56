// ProjectEgress: the globalOutbound of every loaded isolate, and the project handle in its env.
// A plain fetch() from loaded code arrives here and becomes a dispatch of the project's `fetch`
// capability, so policy, shadows, substitution and audit apply to it like to any other call.
// Identity comes from props, which only isolates/isolate.ts sets.
import { WorkerEntrypoint } from "cloudflare:workers";
import { asCapstanError } from "../core/errors";
import type { Caller } from "../actors/dispatch-types";

export type ProjectEgressProps = { projectId: string; caller: Caller };

export class ProjectEgress extends WorkerEntrypoint<Env, ProjectEgressProps> {
  override async fetch(request: Request): Promise<Response> {
    const { projectId, caller } = this.ctx.props;
    const actor = this.env.PROJECT_ACTOR.get(this.env.PROJECT_ACTOR.idFromName(projectId));
    try {
      return (await actor.dispatch("fetch", "fetch", [request], caller)) as Response;
    } catch (err) {
      // Loaded code sees a refusal as a failed fetch, with the code and message intact.
      throw new TypeError(asCapstanError(err).message);
    }
  }
}
