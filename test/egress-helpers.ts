// Shared by the egress suites: a project with a capnweb session, typed failures, and a fetch
// dispatched straight to the project's actor (the path loaded code takes), for large bodies.
import { env } from "cloudflare:workers";
import { connect, newProject, newUser } from "./helpers";

export async function rpcError(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return { code: (e as { code: string }).code ?? /^\[([a-z_]+)\]/.exec((e as Error).message)?.[1], message: (e as Error).message };
  }
  throw new Error("expected the call to fail");
}

export async function project(name = "egress") {
  const user = await newUser();
  const id = await newProject(user.key, name);
  const { session, close } = await connect(user.key);
  return { ...user, id, session, p: session.project(id), close };
}

export function actor(id: string) {
  return env.PROJECT_ACTOR.get(env.PROJECT_ACTOR.idFromName(id));
}

/** The project's fetch capability, dispatched by its actor as a loaded isolate's fetch is. */
export async function dispatchFetch(id: string, request: Request): Promise<Response> {
  return (await actor(id).dispatch("fetch", "fetch", [request], { kind: "isolate", id: "test" })) as Response;
}

export const setPolicy = (p: { setPolicy(x: unknown): Promise<unknown> }, policy: object) => p.setPolicy(policy);
