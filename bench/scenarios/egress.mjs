// egress: what Capstan adds to one outbound HTTP request.
//   (a) direct:  HTTP to a minimal Worker, which fetches the upstream.
//   (b) capstan: project.fetch over capnweb (WebSocket to /rpc) → ProjectActor dispatch →
//                EgressPipe with one secret substitution → the same upstream.
// Both send the same Authorization header value to the upstream; (a) holds the secret itself,
// (b) sends the placeholder and the EgressPipe substitutes it.
import { randomBytes } from "node:crypto";
import { connectRpc, newUserAndProject } from "../lib/capstan.mjs";
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

    const { key, projectId } = await newUserAndProject(capstan, "bench");
    const secret = randomBytes(24).toString("base64url");
    await capstan.api("PUT", `/v1/projects/${projectId}/secrets/BENCH`, {
      token: key,
      body: { value: secret, hosts: [`http://127.0.0.1:${upstream.port}`] },
      expect: 204,
    });
    const realAuth = `Bearer ${secret}`;

    const rpc = connectRpc(capstan.url, key);
    try {
      const project = await rpc.session.project(projectId);
      const calls = { direct: 0, capstan: 0 };
      const directUrl = `${direct.url}/?url=${encodeURIComponent(`${upstream.url}/direct`)}`;
      const targets = [
        {
          key: "direct",
          once: async () => {
            const res = await fetch(directUrl, { headers: { authorization: realAuth } });
            expectBody("direct", res.status, await res.text());
            calls.direct++;
          },
        },
        {
          key: "capstan",
          once: async () => {
            const res = await project.fetch(`${upstream.url}/capstan`, { headers: { authorization: PLACEHOLDER_AUTH } });
            expectBody("capstan", res.status, await res.text());
            calls.capstan++;
          },
        },
      ];

      await warmUp(targets, opts.warmup);
      const samples = await latency(targets, { iterations: opts.iterations, roundSize: opts.roundSize });
      const rates = await throughput(targets, {
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
  const ratios = {
    p50: ratio(b.latencyMs.p50, a.latencyMs.p50),
    p95: ratio(b.latencyMs.p95, a.latencyMs.p95),
    p99: ratio(b.latencyMs.p99, a.latencyMs.p99),
    rps: ratio(b.throughput.rps, a.throughput.rps),
  };
  const row = (label, s) => [label, fmt.ms(s.latencyMs.p50), fmt.ms(s.latencyMs.p95), fmt.ms(s.latencyMs.p99), fmt.rps(s.throughput.rps)];
  const table = markdownTable(
    ["path", "p50 ms", "p95 ms", "p99 ms", `req/s (${opts.concurrency} in flight)`],
    [
      row("(a) direct Worker → upstream", a),
      row("(b) Capstan project.fetch → upstream", b),
      ["b/a", fmt.x(ratios.p50), fmt.x(ratios.p95), fmt.x(ratios.p99), fmt.x(ratios.rps)],
    ],
  );
  return { table, json: { a, b, ratios, checks } };
}
