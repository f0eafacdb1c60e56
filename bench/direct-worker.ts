// The baseline for the egress bench: the smallest Worker that fetches the upstream and hands the
// body back. It is bench-only, so it lives here with its own wrangler config, never in the
// production Worker. The Authorization header is passed through so the upstream sees the same
// request shape as it does from Capstan's EgressPipe.
export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/healthz") return Response.json({ ok: true });
    const target = url.searchParams.get("url");
    if (!target) return new Response("the upstream URL is missing: pass ?url=", { status: 400 });
    const headers = new Headers();
    const auth = request.headers.get("authorization");
    if (auth) headers.set("authorization", auth);
    const upstream = await fetch(target, { headers });
    return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
  },
} satisfies ExportedHandler;
