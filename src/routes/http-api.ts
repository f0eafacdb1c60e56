// The JSON HTTP routes. Each validates its input, acts as the caller, and maps errors once.
import { requirePrincipal, requireServiceToken } from "../auth/principal";
import { createUser } from "../auth/users";
import { json, readJson } from "../http";
import { actorFor, createProject, listProjects, requireMember } from "../projects";
import { Router } from "../router";
import { replRoute } from "./repl";
import { fetchRoute } from "./fetch";
import { AuditQuery, CreateProjectBody, PutSecretBody, parse } from "../schemas";
import { deleteProjectSecret, listProjectSecrets, setProjectSecret } from "../secrets";
import { authRoutes } from "./auth";
import { decideApproval, getPolicy, listApprovals, setPolicy } from "../egress-policy";

export function httpRoutes(env: Env): Router {
  const member = async (request: Request, projectId: string) => {
    const who = await requirePrincipal(env, request);
    return requireMember(env, who, projectId);
  };
  const decide = (verdict: "approved" | "denied") => async (request: Request, p: Record<string, string>) => {
    const who = await requirePrincipal(env, request);
    const project = await requireMember(env, who, p.id!);
    const body = verdict === "approved" && request.headers.has("content-type") ? await readJson(request) : undefined;
    return json(await decideApproval(env, project, who.userId, p.approval, verdict, body));
  };
  return authRoutes(new Router(), env)
    .on("GET", "/healthz", async () => json({ ok: true }))
    .on("POST", "/internal/users", async (request) => {
      await requireServiceToken(env, request);
      const { userId, key } = await createUser(env);
      return json({ userId, key: key.key, keyId: key.id }, 201);
    })
    .on("POST", "/v1/projects", async (request) => {
      const who = await requirePrincipal(env, request);
      const body = parse(CreateProjectBody, await readJson(request), "body");
      return json(await createProject(env, who, body.name), 201);
    })
    .on("GET", "/v1/projects", async (request) => json(await listProjects(env, await requirePrincipal(env, request))))
    .on("GET", "/v1/projects/:id/secrets", async (request, p) => {
      const project = await member(request, p.id!);
      return json(await listProjectSecrets(env, project.id));
    })
    .on("PUT", "/v1/projects/:id/secrets/:name", async (request, p) => {
      const project = await member(request, p.id!);
      const body = parse(PutSecretBody, await readJson(request), "body");
      await setProjectSecret(env, project.id, p.name, body.value, body.hosts);
      return new Response(null, { status: 204 });
    })
    .on("DELETE", "/v1/projects/:id/secrets/:name", async (request, p) => {
      const project = await member(request, p.id!);
      await deleteProjectSecret(env, project.id, p.name);
      return new Response(null, { status: 204 });
    })
    .on("GET", "/v1/projects/:id/egress-policy", async (request, p) => json(await getPolicy(env, await member(request, p.id!))))
    .on("PUT", "/v1/projects/:id/egress-policy", async (request, p) => {
      const project = await member(request, p.id!);
      return json(await setPolicy(env, project, await readJson(request)));
    })
    .on("GET", "/v1/projects/:id/approvals", async (request, p) => json(await listApprovals(env, await member(request, p.id!))))
    .on("POST", "/v1/projects/:id/approvals/:approval/approve", decide("approved"))
    .on("POST", "/v1/projects/:id/approvals/:approval/deny", decide("denied"))
    .on("GET", "/v1/projects/:id/repl", (request, p) => replRoute(env, request, p.id!))
    .on("POST", "/v1/projects/:id/fetch", (request, p) => fetchRoute(env, request, p.id!))
    .on("GET", "/v1/projects/:id/audit", async (request, p) => {
      const project = await member(request, p.id!);
      const q = new URL(request.url).searchParams;
      const num = (k: string) => (q.has(k) ? Number(q.get(k)) : undefined);
      const opts = parse(AuditQuery, { after: num("after"), limit: num("limit"), capability: q.get("capability") ?? undefined }, "query");
      return json(await actorFor(env, project.id).audit(opts ?? {}));
    });
}
