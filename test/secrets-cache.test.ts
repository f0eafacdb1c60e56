// The EgressPipe's short-lived cache of sealed rows: a write, a rebinding or a delete takes effect
// on the very next request, and what the cache keeps expires on its own.
import { inject, describe, expect, it } from "vitest";
import { cachedRows, keepRows, SEALED_TTL_MS } from "../isolates/secrets/sealed-cache";
import { rpcError } from "./egress-helpers";
import { call, connect, newProject, newUser, tag, upstreamSeen } from "./helpers";

const upstream = inject("upstream");
const host = new URL(upstream).host;

const put = (id: string, key: string, name: string, value: string, hosts: string[]) =>
  call(`/v1/projects/${id}/secrets/${name}`, { method: "PUT", token: key, body: JSON.stringify({ value, hosts }) });

describe("sealed-row cache", () => {
  it("sends the new value right after an overwrite, and refuses right after a delete or a rebinding", async () => {
    const { key } = await newUser();
    const id = await newProject(key);
    const { session, close } = await connect(key);
    try {
      const p = session.project(id);
      const send = async () => {
        const t = tag();
        const res = await p.fetch(`${upstream}/quiet/${t}`, { headers: { authorization: 'Bearer getSecret("K")' } });
        await res.arrayBuffer();
        return (await upstreamSeen(upstream, t))[0]?.headers.authorization;
      };
      expect((await put(id, key, "K", "first-value", [`http://${host}`])).status).toBe(204);
      expect(await send()).toBe("Bearer first-value");
      expect((await put(id, key, "K", "second-value", [`http://${host}`])).status).toBe(204);
      expect(await send()).toBe("Bearer second-value");

      expect((await put(id, key, "K", "second-value", ["api.example.com"])).status).toBe(204);
      expect((await rpcError(send())).code).toBe("secret_not_bound");

      expect((await put(id, key, "K", "third-value", [`http://${host}`])).status).toBe(204);
      expect(await send()).toBe("Bearer third-value");
      expect((await call(`/v1/projects/${id}/secrets/K`, { method: "DELETE", token: key })).status).toBe(204);
      expect((await rpcError(send())).code).toBe("secret_unknown");
    } finally {
      close();
    }
  });

  it("keeps ciphertext only, per project, for a few seconds", () => {
    const sealed = new Uint8Array([1, 2, 3]);
    const now = 1_000_000;
    keepRows("prj_cache_a", [{ name: "A", sealed, hosts: ["api.example.com"] }], now);
    expect(cachedRows("prj_cache_a", ["A", "B"], now + 1)).toEqual({ hit: [{ name: "A", sealed, hosts: ["api.example.com"] }], miss: ["B"] });
    expect(cachedRows("prj_cache_b", ["A"], now + 1)).toEqual({ hit: [], miss: ["A"] });
    expect(cachedRows("prj_cache_a", ["A"], now + SEALED_TTL_MS)).toEqual({ hit: [], miss: ["A"] });
  });
});
