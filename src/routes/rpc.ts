import { newWorkersRpcResponse } from "capnweb";
import { bearerToken, principalForToken } from "../auth/principal";
import { Gate, Session } from "../rpc/api";
import { rpcError } from "../rpc/errors";

/**
 * capnweb over WebSocket or HTTP batch. With a bearer header the session is authenticated at
 * connect and the main stub is the Session; without one the main stub is the Gate, whose only
 * method is authenticate(token) (for browsers, which cannot set headers on a WebSocket).
 */
export async function rpcRoute(env: Env, request: Request, ctx: ExecutionContext): Promise<Response> {
  const token = bearerToken(request);
  const main = token ? new Session(env, ctx, await principalForToken(env, token)) : new Gate(env, ctx);
  return newWorkersRpcResponse(request, main, { onSendError: rpcError });
}
