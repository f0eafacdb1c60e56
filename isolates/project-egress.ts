// ProjectEgress: the project handle of loaded code. It is both the isolate's globalOutbound
// (a plain fetch() arrives in `fetch` and becomes a dispatch of the project's `fetch`
// capability) and `env.PROJECT` (call a capability, list them). Every path is a dispatch by
// the ProjectActor, so policy, shadows, substitution and audit apply. Identity comes from
// props, which only isolates/isolate.ts sets.
import { WorkerEntrypoint } from "cloudflare:workers";
import { CapstanError, asCapstanError } from "../core/errors";
import type { Caller } from "../actors/dispatch-types";

export type ProjectEgressProps = { projectId: string; caller: Caller };

export class ProjectEgress extends WorkerEntrypoint<Env, ProjectEgressProps> {
  #actor() {
    const { projectId } = this.ctx.props;
    return this.env.PROJECT_ACTOR.get(this.env.PROJECT_ACTOR.idFromName(projectId));
  }

  override async fetch(request: Request): Promise<Response> {
    try {
      return (await this.#actor().dispatch("fetch", "fetch", [request], this.ctx.props.caller)) as Response;
    } catch (err) {
      // Loaded code sees a refusal as a failed fetch, with the code and message intact.
      throw new TypeError(asCapstanError(err).message);
    }
  }

  async call(capability: unknown, method: unknown, args: unknown): Promise<unknown> {
    if (typeof capability !== "string" || typeof method !== "string" || !Array.isArray(args)) {
      throw new CapstanError("bad_request", "call(capability, method, ...args) takes two strings and then the arguments");
    }
    return this.#actor().dispatch(capability, method, args, this.ctx.props.caller);
  }

  capabilities() {
    return this.#actor().capabilities();
  }
}
