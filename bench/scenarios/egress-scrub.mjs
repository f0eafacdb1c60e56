// egress-scrub: Capstan's overhead on one outbound request with scrubbing on (a secret was
// substituted, so every response byte passes the scrubber), against a direct Worker fetch of
// the same upstream, measured in the same run, at two body sizes:
//   1 KiB   latency ratio (goal ≤ 1.15× at p50)
//   10 MiB  throughput ratio, MB/s read end to end (goal ≥ 80% of direct)
// Paths as in `egress`: (a) Node → direct Worker → upstream; (b) project.fetch over capnweb →
// ProjectActor (policy, audit, byte count) → EgressPipe (substitute, scrub) → upstream.
import { connectRpc, newEgressProject } from "../lib/capstan.mjs";
import { latency, warmUp } from "../lib/measure.mjs";
import { ratio, summarise } from "../lib/stats.mjs";
import { fmt, markdownTable } from "../lib/table.mjs";

const SIZES = [
  { label: "1 KiB", bytes: 1024, share: 1 },
  // Each 10 MiB sample moves 10 MiB twice over loopback: take fewer of them.
  { label: "10 MiB", bytes: 10 << 20, share: 1 / 20 },
];

export default {
  name: "egress-scrub",
  title: "Egress with scrubbing on: direct Worker fetch (a) vs Capstan project.fetch (b), 1 KiB and 10 MiB",

  async run(infra, opts) {
    const [upstream, capstan, direct] = await Promise.all([infra.upstream(), infra.capstan(), infra.directWorker()]);
    const { key, projectId, secret } = await newEgressProject(capstan, upstream, "bench-scrub");
    const rpc = connectRpc(capstan.url, key);
    try {
      const project = await rpc.session.project(projectId);
      const results = [];
      for (const size of SIZES) {
        const path = (who) => `/size/${size.bytes}/${who}`;
        const directUrl = `${direct.url}/?url=${encodeURIComponent(`${upstream.url}${path("direct")}`)}`;
        const read = async (which, res) => {
          const n = (await res.arrayBuffer()).byteLength;
          if (res.status !== 200 || n !== size.bytes) throw new Error(`${which} ${size.label}: expected 200 with ${size.bytes} bytes, got ${res.status} with ${n}`);
        };
        const a = { key: "direct", once: async () => read("direct", await fetch(directUrl, { headers: { authorization: `Bearer ${secret}` } })) };
        const b = {
          key: "capstan",
          once: async () => read("capstan", await project.fetch(`${upstream.url}${path("capstan")}`, { headers: { authorization: 'Bearer getSecret("BENCH")' } })),
        };
        const n = Math.max(5, Math.round(opts.iterations * size.share));
        console.error(`[bench] egress-scrub: ${size.label}, ${n} samples per path`);
        await warmUp([a, b], Math.max(2, Math.round(opts.warmup * size.share)));
        const samples = await latency([a, b], { iterations: n, roundSize: Math.max(1, Math.round(opts.roundSize * size.share)) });
        if (upstream.seen(path("capstan"), `Bearer ${secret}`) === 0) throw new Error("the upstream never saw the substituted secret");
        const sa = summarise(samples.direct);
        const sb = summarise(samples.capstan);
        const mbps = (s) => size.bytes / (1 << 20) / (s.mean / 1000);
        results.push({ size: size.label, bytes: size.bytes, direct: sa, capstan: sb, p50Ratio: ratio(sb.p50, sa.p50), throughputShare: ratio(mbps(sb), mbps(sa)), mbps: { direct: mbps(sa), capstan: mbps(sb) } });
      }
      const table = markdownTable(
        ["body", "(a) direct p50 ms", "(b) Capstan p50 ms", "**b/a p50**", "(a) MiB/s", "(b) MiB/s", "**b as % of a**"],
        results.map((r) => [r.size, fmt.ms(r.direct.p50), fmt.ms(r.capstan.p50), fmt.x(r.p50Ratio), r.mbps.direct.toFixed(1), r.mbps.capstan.toFixed(1), `${(r.throughputShare * 100).toFixed(0)}%`]),
      );
      return { table, json: { results, goals: { latencyRatio1KiB: 1.15, throughputShare10MiB: 0.8 } } };
    } finally {
      rpc.close();
    }
  },
};
