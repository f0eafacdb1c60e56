// calls: one method call on a project's stateful object and its answer, over one WebSocket.
//   (a) Agents SDK: an Agent's callable echo, over the SDK's own RPC protocol.
//   (b) Capstan:    project.call("ping", "echo", x) over capnweb: front door → ProjectActor
//                   dispatch (resolve, run, audit row) → back.
//   floor:          session.whoami() over the same capnweb session, answered in the front door
//                   without the actor hop: what capnweb itself costs.
// Sequential latency, then requests/s with 64 calls in flight.
import { connectAgent, startAgentsPeer } from "../lib/agents-peer.mjs";
import { connectRpc, newUserAndProject } from "../lib/capstan.mjs";
import { latency, throughput, warmUp } from "../lib/measure.mjs";
import { ratio, summarise } from "../lib/stats.mjs";
import { fmt, markdownTable } from "../lib/table.mjs";

const IN_FLIGHT = 64;

export default {
  name: "calls",
  title: "Call round trip: Agents SDK callable (a) vs Capstan project.call (b)",

  async run(infra, opts) {
    const [capstan, agentsDev] = await Promise.all([infra.capstan(), infra.agentsPeer()]);
    const { key, projectId } = await newUserAndProject(capstan, "bench-calls");
    const rpc = connectRpc(capstan.url, key);
    const agent = await connectAgent(agentsDev.url, "bench");
    try {
      const project = await rpc.session.project(projectId);
      let n = 0;
      const payload = () => ({ n: ++n, text: "hello" });
      const check = (which, sent, got) => {
        if (got?.n !== sent.n) throw new Error(`${which}: sent ${JSON.stringify(sent)}, got back ${JSON.stringify(got)}`);
      };
      const a = { key: "agents", once: async () => { const p = payload(); check("agents", p, await agent.call("echo", p)); } };
      const b = { key: "capstan", once: async () => { const p = payload(); check("capstan", p, await project.call("ping", "echo", p)); } };
      const floor = { key: "floor", once: async () => { await rpc.session.whoami(); } };

      await warmUp([a, b, floor], opts.warmup);
      const samples = await latency([a, b, floor], { iterations: opts.iterations, roundSize: opts.roundSize });
      const rates = await throughput([a, b, floor], { requests: Math.max(opts.throughputRequests, 2000), concurrency: IN_FLIGHT, rounds: opts.throughputRounds });
      return report(samples, rates);
    } finally {
      rpc.close();
      agent.close();
    }
  },
};

function report(samples, rates) {
  const a = { latencyMs: summarise(samples.agents), throughput: rates.agents };
  const b = { latencyMs: summarise(samples.capstan), throughput: rates.capstan };
  const floor = { latencyMs: summarise(samples.floor), throughput: rates.floor };
  const ratios = {
    p50: ratio(b.latencyMs.p50, a.latencyMs.p50),
    p95: ratio(b.latencyMs.p95, a.latencyMs.p95),
    p99: ratio(b.latencyMs.p99, a.latencyMs.p99),
    rps: ratio(b.throughput.rps, a.throughput.rps),
  };
  const lat = (s) => [fmt.ms(s.latencyMs.p50), fmt.ms(s.latencyMs.p95), fmt.ms(s.latencyMs.p99)];
  const table = markdownTable(
    ["path", "p50 ms", "p95 ms", "p99 ms", `calls/s (${IN_FLIGHT} in flight)`],
    [
      ["(a) Agents SDK @callable echo", ...lat(a), fmt.rps(a.throughput.rps)],
      ["(b) Capstan project.call(\"ping\", \"echo\")", ...lat(b), fmt.rps(b.throughput.rps)],
      ["**b/a** (goals: p50 ≤ 1.10×, calls/s ≥ 1.20×)", fmt.x(ratios.p50), fmt.x(ratios.p95), fmt.x(ratios.p99), fmt.x(ratios.rps)],
      ["floor: capnweb whoami, no actor hop", ...lat(floor), fmt.rps(floor.throughput.rps)],
    ],
  );
  return { table, json: { a, b, floor, ratios } };
}
