// The peer a user would pick instead of Capstan for "call a method on a stateful object over a
// WebSocket": a Cloudflare Agents SDK Agent with a callable echo. Bench-only code.
import { Agent, callable, routeAgentRequest } from "agents";

type Env = { EchoAgent: DurableObjectNamespace };

export class EchoAgent extends Agent<Env> {
  echo(value: unknown): unknown {
    return value;
  }
}
// Equivalent to decorating echo with @callable(): registered by hand so the bundle needs no
// decorator transform.
callable()(EchoAgent.prototype.echo, { kind: "method", name: "echo" } as unknown as ClassMethodDecoratorContext);

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (new URL(request.url).pathname === "/healthz") return Response.json({ ok: true });
    return (await routeAgentRequest(request, env)) ?? new Response("not found", { status: 404 });
  },
};
