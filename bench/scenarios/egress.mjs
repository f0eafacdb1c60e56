// egress: what Capstan adds to one outbound HTTP request.
//   (a) direct:  HTTP to a minimal Worker, which fetches the upstream.
//   (b) capstan: project.fetch over capnweb (WebSocket to /rpc) → ProjectActor dispatch →
//                EgressPipe with one secret substitution → the same upstream.
// Both send the same Authorization header value to the upstream; (a) holds the secret itself,
// (b) sends the placeholder and the EgressPipe substitutes it.
// A third, latency-only target, GET /healthz on the direct Worker, shows how much of (a) is
// wrangler dev's own cost of taking an HTTP request, which (b) pays once, for its WebSocket.
import { connectRpc, newEgressProject } from "../lib/capstan.mjs";
import { latency, throughput, warmUp } from "../lib/measure.mjs";
import { ratio, summarise } from "../lib/stats.mjs";
import { fmt, markdownTable } from "../lib/table.mjs";
import { BODY } from "../lib/upstream.mjs";

const PLACEHOLDER_AUTH = 'Bearer getSecret("BENCH")';

export default {
  name: "egress",
  title: "Egress: direct Worker fetch (a) vs Capstan project.fetch (b)",

  async run(infra, opts) {
    const [upstream, capstan, direct] = await Promise.all([infra.upstream(), infra.capstan(), infra.directWorker()]);

    const { key, projectId, secret } = await newEgressProject(capstan, upstream, "bench");
    const realAuth = `Bearer ${secret}`;

    const rpc = connectRpc(capstan.url, key);
    try {
      const project = await rpc.session.project(projectId);
      const calls = { direct: 0, capstan: 0 };
      const directUrl = `${direct.url}/?url=${encodeURIComponent(`${upstream.url}/direct`)}`;
      const a = {
        key: "direct",
        once: async () => {
          const res = await fetch(directUrl, { headers: { authorization: realAuth } });
          expectBody("direct", res.status, await res.text());
          calls.direct++;
        },
      };
      const b = {
        key: "capstan",
        once: async () => {
          const res = await project.fetch(`${upstream.url}/capstan`, { headers: { authorization: PLACEHOLDER_AUTH } });
          expectBody("capstan", res.status, await res.text());
          calls.capstan++;
        },
      };
      const floor = {
        key: "floor",
        once: async () => {
          const res = await fetch(`${direct.url}/healthz`);
          if (res.status !== 200) throw new Error(`floor: GET /healthz answered ${res.status}`);
          await res.text();
        },
      };

      const phase = (what) => console.error(`[bench] egress: ${what} (so far ${calls.direct} direct, ${calls.capstan} capstan)`);
      phase("warm-up");
      await warmUp([a, b, floor], opts.warmup);
      phase("latency");
      const samples = await latency([a, b, floor], { iterations: opts.iterations, roundSize: opts.roundSize });
      phase("throughput");
      const rates = await throughput([a, b], {
        requests: opts.throughputRequests,
        concurrency: opts.concurrency,
        rounds: opts.throughputRounds,
      });

      // Every request of (b) must have reached the upstream with the substituted secret; if the
      // pipe had refused or skipped substitution the figures would be measuring something else.
      const substituted = upstream.seen("/capstan", realAuth);
      if (substituted !== calls.capstan) {
        throw new Error(`the upstream saw ${substituted} substituted requests from Capstan, expected ${calls.capstan}`);
      }

      return report(samples, rates, opts, { calls, substituted, directSeen: upstream.seen("/direct", realAuth) });
    } finally {
      rpc.close();
    }
  },
};

function expectBody(which, status, text) {
  if (status !== 200 || text.length !== BODY.length) {
    throw new Error(`${which}: expected 200 with ${BODY.length} bytes, got ${status} with ${text.length}: ${text.slice(0, 200)}`);
  }
}

function report(samples, rates, opts, checks) {
  const a = { latencyMs: summarise(samples.direct), throughput: rates.direct };
  const b = { latencyMs: summarise(samples.capstan), throughput: rates.capstan };
  const floor = { latencyMs: summarise(samples.floor) };
  const ratios = {
    p50: ratio(b.latencyMs.p50, a.latencyMs.p50),
    p95: ratio(b.latencyMs.p95, a.latencyMs.p95),
    p99: ratio(b.latencyMs.p99, a.latencyMs.p99),
    rps: ratio(b.throughput.rps, a.throughput.rps),
  };
  const addedMs = {
    p50: b.latencyMs.p50 - a.latencyMs.p50,
    p95: b.latencyMs.p95 - a.latencyMs.p95,
    p99: b.latencyMs.p99 - a.latencyMs.p99,
  };
  const lat = (s) => [fmt.ms(s.latencyMs.p50), fmt.ms(s.latencyMs.p95), fmt.ms(s.latencyMs.p99)];
  const table = markdownTable(
    ["path", "p50 ms", "p95 ms", "p99 ms", `req/s (${opts.concurrency} in flight)`],
    [
      ["(a) direct Worker → upstream", ...lat(a), fmt.rps(a.throughput.rps)],
      ["(b) Capstan project.fetch → upstream", ...lat(b), fmt.rps(b.throughput.rps)],
      ["**b/a**", fmt.x(ratios.p50), fmt.x(ratios.p95), fmt.x(ratios.p99), fmt.x(ratios.rps)],
      ["b − a (ms added by Capstan)", fmt.ms(addedMs.p50), fmt.ms(addedMs.p95), fmt.ms(addedMs.p99), "–"],
      ["floor: GET /healthz on (a)'s Worker", ...lat(floor), "–"],
    ],
  );
  return { table, json: { a, b, floor, ratios, addedMs, checks } };
}
