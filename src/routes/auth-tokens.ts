// The built-in issuer's endpoints, and browser sessions built on them.
import { audit } from "../auth/audit";
import { ACCESS_TTL } from "../auth/config";
import { checkCsrf } from "../auth/csrf";
import { discoveryDocument, issueAccessToken } from "../auth/issuer";
import { requireApiKey, requirePrincipal } from "../auth/principal";
import { clientIp } from "../auth/refusals";
import { TokenBody } from "../auth/schemas";
import { closeSession, openSession } from "../auth/sessions";
import { activeSigner, publishedKeys } from "../auth/signing-keys";
import { json, readJson } from "../http";
import type { Router } from "../router";
import { parse } from "../schemas";

const NO_STORE = { "cache-control": "no-store", pragma: "no-cache" };

/** A body that may be left out entirely; when present it must be JSON. */
async function optionalJson(request: Request): Promise<unknown> {
  if (request.body === null) return {};
  if (!request.headers.get("content-type") && request.headers.get("content-length") === "0") return {};
  return readJson(request);
}

export function tokenRoutes(router: Router, env: Env): Router {
  return router
    .on("GET", "/.well-known/openid-configuration", async (request) =>
      json(discoveryDocument(env, request), 200, { "cache-control": "public, max-age=3600" }),
    )
    .on("GET", "/.well-known/jwks.json", async () => {
      // Make sure there is a key to publish before anyone has asked for a token.
      await activeSigner(env);
      return json(await publishedKeys(env), 200, { "cache-control": "public, max-age=300" });
    })
    .on("POST", "/v1/token", async (request) => {
      const who = await requireApiKey(env, request);
      const { ttl = ACCESS_TTL.default } = parse(TokenBody, await optionalJson(request), "body");
      const issued = await issueAccessToken(env, { userId: who.userId, ttl });
      await audit(env, { event: "token.minted", userId: who.userId, keyId: who.keyId, via: "api_key", ip: clientIp(request), detail: { jti: issued.tokenId, ttl } });
      return json({ access_token: issued.token, token_type: "Bearer", expires_in: ttl }, 200, NO_STORE);
    })
    .on("POST", "/v1/session", async (request) => {
      const who = await requireApiKey(env, request);
      const s = await openSession(env, request, who);
      return json(
        { userId: s.userId, sessionId: s.sessionId, accessExpiresAt: new Date(s.accessExpiresAt).toISOString(), expiresAt: new Date(s.expiresAt).toISOString() },
        201,
        NO_STORE,
      );
    })
    .on("GET", "/v1/session", async (request) => {
      const who = await requirePrincipal(env, request);
      const session = who.kind === "token" ? { sessionId: who.sessionId, accessExpiresAt: new Date(who.expiresAt).toISOString() } : { sessionId: null, accessExpiresAt: null };
      return json({ userId: who.userId, via: who.kind, ...session }, 200, NO_STORE);
    })
    .on("POST", "/v1/session/logout", async (request) => {
      if (request.headers.has("cookie")) await checkCsrf(env, request);
      await closeSession(env, request);
      return new Response(null, { status: 204, headers: NO_STORE });
    });
}
