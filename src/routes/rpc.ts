import { optionalPrincipal } from "../auth/principal";
import { Gate, Session } from "../rpc/api";
import { rpcError } from "../rpc/errors";
import { workersRpcResponse } from "../rpc/websocket-transport";

/**
 * capnweb over WebSocket or HTTP batch. With a bearer header the session is authenticated at
 * connect and the main stub is the Session; so it is with a browser session's cookies (which a
 * WebSocket upgrade carries, but never refreshes). Without either the main stub is the Gate,
 * whose only method is authenticate(token) (for browsers, which cannot set headers on a WebSocket).
 */
export async function rpcRoute(env: Env, request: Request, ctx: ExecutionContext): Promise<Response> {
  const who = await optionalPrincipal(env, request);
  const main = who ? new Session(env, ctx, who) : new Gate(env, ctx);
  return workersRpcResponse(request, main, { onSendError: rpcError });
}
