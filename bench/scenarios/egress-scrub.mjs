// egress-scrub: Capstan's overhead on one outbound request with scrubbing on (a secret was
// substituted, so every response byte passes the scrubber), against a direct Worker fetch of
// the same upstream, measured in the same run, at two body sizes:
//   1 KiB   latency ratio (goal ≤ 1.15× at p50, over the socket)
//   10 MiB  throughput ratio, MB/s read end to end (goal ≥ 80% of direct, over HTTP)
// Paths: (a) Node → direct Worker → upstream; (b) project.fetch over capnweb (the typed client's
// binary frames) → front door (on a lease) → EgressPipe (substitute, scrub) → upstream;
// (c) the typed client's project.fetch(…, { via: "http" }): POST /v1/projects/:id/fetch →
// ProjectActor (policy, audit, byte count) → EgressPipe → upstream, bodies streamed as HTTP's own.
import { HttpApi } from "../../dist/client/index.js";
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
  title: "Egress with scrubbing on: direct Worker fetch (a) vs Capstan project.fetch over the socket (b) and over HTTP (c), 1 KiB and 10 MiB",

  async run(infra, opts) {
    const [upstream, capstan, direct] = await Promise.all([infra.upstream(), infra.capstan(), infra.directWorker()]);
    const { key, projectId, secret } = await newEgressProject(capstan, upstream, "bench-scrub");
    const rpc = connectRpc(capstan.url, key);
    const http = new HttpApi({ url: capstan.url, token: key });
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
        const auth = { headers: { authorization: 'Bearer getSecret("BENCH")' } };
        const b = { key: "socket", once: async () => read("socket", await project.fetch(`${upstream.url}${path("socket")}`, auth)) };
        const c = { key: "http", once: async () => read("http", await http.fetch(projectId, `${upstream.url}${path("http")}`, auth)) };
        const n = Math.max(5, Math.round(opts.iterations * size.share));
        console.error(`[bench] egress-scrub: ${size.label}, ${n} samples per path`);
        await warmUp([a, b, c], Math.max(2, Math.round(opts.warmup * size.share)));
        const samples = await latency([a, b, c], { iterations: n, roundSize: Math.max(1, Math.round(opts.roundSize * size.share)) });
        for (const via of ["socket", "http"]) {
          if (upstream.seen(path(via), `Bearer ${secret}`) === 0) throw new Error(`the upstream never saw the substituted secret (${via})`);
        }
        const s = { direct: summarise(samples.direct), socket: summarise(samples.socket), http: summarise(samples.http) };
        const mbps = (x) => size.bytes / (1 << 20) / (x.mean / 1000);
        results.push({
          size: size.label,
          bytes: size.bytes,
          ...s,
          p50Ratio: { socket: ratio(s.socket.p50, s.direct.p50), http: ratio(s.http.p50, s.direct.p50) },
          throughputShare: { socket: ratio(mbps(s.socket), mbps(s.direct)), http: ratio(mbps(s.http), mbps(s.direct)) },
          mbps: { direct: mbps(s.direct), socket: mbps(s.socket), http: mbps(s.http) },
        });
      }
      const pct = (x) => `${(x * 100).toFixed(0)}%`;
      const table = markdownTable(
        ["body", "(a) direct p50 ms", "(b) socket p50 ms", "(c) HTTP p50 ms", "**b/a p50**", "c/a p50", "(a) MiB/s", "(b) MiB/s", "(c) MiB/s", "b as % of a", "**c as % of a**"],
        results.map((r) => [
          r.size, fmt.ms(r.direct.p50), fmt.ms(r.socket.p50), fmt.ms(r.http.p50), fmt.x(r.p50Ratio.socket), fmt.x(r.p50Ratio.http),
          r.mbps.direct.toFixed(1), r.mbps.socket.toFixed(1), r.mbps.http.toFixed(1), pct(r.throughputShare.socket), pct(r.throughputShare.http),
        ]),
      );
      return { table, json: { results, goals: { latencyRatio1KiBSocket: 1.15, throughputShare10MiBHttp: 0.8 } } };
    } finally {
      rpc.close();
    }
  },
};
