// Who is calling, decided once at the edge (law 6) from a bearer token.
import { CapstanError } from "../../core/errors";
import { userForApiKey } from "./api-keys";
import { timingSafeEqualText } from "./hash";

export type Principal = { userId: string };

export function bearerToken(request: Request): string | null {
  const h = request.headers.get("authorization");
  const m = h ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  return m ? m[1]! : null;
}

export async function principalForToken(env: Env, token: unknown): Promise<Principal> {
  if (typeof token !== "string" || token.length === 0 || token.length > 512) {
    throw new CapstanError("unauthorized", "a bearer token is required");
  }
  const userId = await userForApiKey(env, token);
  if (!userId) throw new CapstanError("unauthorized", "the token is unknown, revoked or expired");
  return { userId };
}

export async function requirePrincipal(env: Env, request: Request): Promise<Principal> {
  return principalForToken(env, bearerToken(request));
}

/** The /internal routes answer only to the deployment's service token. */
export async function requireServiceToken(env: Env, request: Request): Promise<void> {
  const token = bearerToken(request);
  if (!env.SERVICE_TOKEN || !token || !(await timingSafeEqualText(token, env.SERVICE_TOKEN))) {
    throw new CapstanError("unauthorized", "this route requires the service token");
  }
}
