// Routes for the deployment itself, behind the service token.
import { AuthAuditQuery, readAudit } from "../auth/audit";
import { mintProjectId } from "../auth/ids";
import { requireServiceToken } from "../auth/principal";
import { rotateSigningKey } from "../auth/signing-keys";
import { json } from "../http";
import type { Router } from "../router";
import { parse } from "../schemas";

export function internalAuthRoutes(router: Router, env: Env): Router {
  return router
    .on("POST", "/internal/project/mint-project-id", async (request) => {
      await requireServiceToken(env, request);
      // An id only: nothing is created, so it is not audited.
      return json({ id: mintProjectId() });
    })
    .on("POST", "/internal/auth/rotate-signing-key", async (request) => {
      await requireServiceToken(env, request);
      return json(await rotateSigningKey(env));
    })
    .on("GET", "/internal/auth/audit", async (request) => {
      await requireServiceToken(env, request);
      const q = Object.fromEntries(new URL(request.url).searchParams);
      return json(await readAudit(env, parse(AuthAuditQuery, q, "query")));
    });
}
