// Law 2: secret material never enters the actor. Plant a canary, drive every path that touches
// it (substitution in URL, header and body, reflection by an echo upstream in header and body,
// refusals, loaded code), then search everything the actor stores, every audit row, every
// error message and every response for the canary's bytes: raw, base64, base64url, URL-encoded.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { inject, expect, it } from "vitest";
import { loadIsolate } from "../isolates/isolate";
import { call, connect, newUser, tag, allowUpstreams } from "./helpers";

const upstream = inject("upstream");
const host = new URL(upstream).host;

function forms(canary: string): string[] {
  const b64 = btoa(canary).replace(/=+$/, "");
  return [canary, b64, b64.replace(/\+/g, "-").replace(/\//g, "_"), encodeURIComponent(canary)];
}

it("no byte of a canary secret reaches actor storage, audit, errors or responses", async () => {
  const canary = `CANARY+/${crypto.randomUUID()}?&=`;
  const seen: string[] = [];
  const { key } = await newUser();
  const { session, close } = await connect(key);
  try {
    const { id } = await session.createProject("canary");
    await allowUpstreams(key, id);
    const p = session.project(id);
    await p.setSecret("CANARY", canary, { hosts: [`http://${host}`] });
    await p.setSecret("FAR", canary, { hosts: ["api.example.com"] });
    const t = tag();
    const collect = async (r: Response) => {
      seen.push(r.status.toString(), JSON.stringify([...r.headers]), await r.text());
    };
    const failure = async (pr: Promise<unknown>) => {
      try {
        await pr;
        seen.push("unexpected success");
      } catch (e) {
        seen.push(String((e as Error).message), JSON.stringify(e));
      }
    };

    await collect(await p.fetch(`${upstream}/echo/${t}?k=getSecret("CANARY")`, { headers: { authorization: 'Bearer getSecret("CANARY")' } }));
    await collect(
      await p.fetch(`${upstream}/echo/${t}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-b": 'getSecret("CANARY")' },
        body: JSON.stringify({ k: 'getSecret("CANARY")', base: btoa(canary) }),
      }),
    );
    // A Location reflecting the canary to where it is not bound is refused; one that only
    // names the placeholder is followed, the placeholder being the upstream's text, never expanded.
    const elsewhere = `${inject("otherUpstream")}/echo/${t}?x=getSecret("CANARY")`;
    await failure(p.fetch(`${upstream}/redirect/${t}?to=${encodeURIComponent(elsewhere)}`, { headers: { authorization: 'getSecret("CANARY")' } }));
    await collect(await p.fetch(`${upstream}/redirect/${t}?to64=${btoa(elsewhere).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_")}`, { headers: { authorization: 'getSecret("CANARY")' } }));
    await failure(p.fetch(`${upstream}/echo/${t}`, { headers: { authorization: 'getSecret("FAR")' } }));
    await failure(p.fetch(`${upstream}/echo/${t}`, { headers: { authorization: 'getSecret("MISSING")' } }));
    await failure(p.fetch(`http://unreachable.invalid/${t}?k=getSecret("CANARY")`));
    // Basic auth built from it, and a request held for approval while carrying it.
    await p.setSecret("USER", "canary-user", { hosts: [`http://${host}`] });
    await collect(await p.fetch(`${upstream}/echo/${t}`, { headers: { authorization: 'Basic basicAuth(getSecret("USER"), getSecret("CANARY"))' } }));
    await p.setPolicy({ rules: [{ host: upstream, path: "/echo/held", action: "hold" }, { host: upstream, action: "allow" }, { host: inject("otherUpstream"), action: "allow" }] });
    const held = p.fetch(`${upstream}/echo/held/${t}?k=getSecret("CANARY")`, { headers: { authorization: 'getSecret("CANARY")' } });
    let pending: { id: string }[] = [];
    for (let i = 0; i < 200 && pending.length === 0; i++) {
      pending = await p.approvals();
      if (!pending.length) await new Promise((r) => setTimeout(r, 10));
    }
    seen.push(JSON.stringify(pending));
    seen.push(JSON.stringify(await p.approve(pending[0]!.id)));
    await collect(await held);
    await collect(await call(`/v1/projects/${id}/secrets`, { token: key }));
    seen.push(JSON.stringify(await p.listSecrets()));

    const loaded = loadIsolate(env, {
      projectId: id, caller: { kind: "isolate", id: "canary" }, codeId: "canary", mainModule: "m.js",
      modules: { "m.js": `export default { async fetch(req) { const r = await fetch(req.url, { headers: req.headers }); return new Response(await r.text(), r); } }` },
    });
    await collect(await loaded.getEntrypoint().fetch(`${upstream}/echo/${t}`, { headers: { authorization: 'getSecret("CANARY")' } }));

    seen.push(JSON.stringify(await p.audit({ limit: 1000 })));
    const actor = env.PROJECT_ACTOR.get(env.PROJECT_ACTOR.idFromName(id));
    const dump = await runInDurableObject(actor, (_i, state) => {
      const tables = state.storage.sql.exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table'`).toArray();
      return JSON.stringify(tables.map(({ name }) => state.storage.sql.exec(`SELECT * FROM "${name}"`).toArray()));
    });
    expect(dump).toContain("CANARY"); // the names are there: the dump is real, and names are not secrets
    seen.push(dump);
  } finally {
    close();
  }
  const everything = seen.join("\n");
  for (const f of forms(canary)) expect(everything.includes(f), `found ${f}`).toBe(false);
  for (const f of forms(`canary-user:${canary}`)) expect(everything.includes(f), `found Basic ${f}`).toBe(false);
  // The echo did carry it back: the scrubber, not luck, kept it out.
  expect(everything).toContain("[redacted:CANARY]");
});
