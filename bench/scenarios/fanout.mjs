// fanout: many projects, many clients each, all calling at once.
//   (a) Agents SDK: P agent instances (one Durable Object each), C WebSockets to each, every
//       socket calling the callable echo in a loop, one call in flight per socket.
//   (b) Capstan:    P projects (one ProjectActor each), C capnweb sessions on each, every session
//                   calling project.call("ping", "echo", x) in a loop, one call in flight.
// Each side runs alone for the same wall time, in alternating rounds; the figures are the total
// calls/s and the per-call latency percentiles over every call of every client.
import { connectAgent } from "../lib/agents-peer.mjs";
import { connectRpc } from "../lib/capstan.mjs";
import { intFromEnv } from "../lib/options.mjs";
import { ratio, summarise } from "../lib/stats.mjs";
import { fmt, markdownTable } from "../lib/table.mjs";

const ROUNDS = 2;

export default {
  name: "fanout",
  title: "Fan-out: P projects × C clients each, every client calling in a loop",

  async run(infra) {
    const projects = intFromEnv("BENCH_FANOUT_PROJECTS", 100);
    const clients = intFromEnv("BENCH_FANOUT_CLIENTS", 10);
    const seconds = intFromEnv("BENCH_FANOUT_SECONDS", 8);
    const [capstan, agentsDev] = await Promise.all([infra.capstan(), infra.agentsPeer()]);

    const { key } = await capstan.api("POST", "/internal/users", { token: capstan.serviceToken, expect: 201 });
    const ids = [];
    for (let p = 0; p < projects; p++) {
      ids.push((await capstan.api("POST", "/v1/projects", { token: key, body: { name: `fanout-${p}` }, expect: 201 })).id);
    }

    const opened = [];
    try {
      const agentCallers = [];
      const capstanCallers = [];
      for (let p = 0; p < projects; p++) {
        for (let c = 0; c < clients; c++) {
          const agent = await connectAgent(agentsDev.url, `fanout-${p}`);
          opened.push(agent);
          agentCallers.push((x) => agent.call("echo", x));
          const rpc = connectRpc(capstan.url, key);
          opened.push(rpc);
          const project = rpc.session.project(ids[p]);
          capstanCallers.push((x) => project.call("ping", "echo", x));
        }
      }
      // Every connection answers once before anything is timed.
      await Promise.all([...agentCallers, ...capstanCallers].map((call, i) => checked(call, i)));

      const runs = { agents: [], capstan: [] };
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? ["agents", "capstan"] : ["capstan", "agents"];
        for (const side of order) runs[side].push(await hammer(side === "agents" ? agentCallers : capstanCallers, seconds * 1000 / ROUNDS));
      }
      return report({ projects, clients, seconds }, merge(runs.agents), merge(runs.capstan));
    } finally {
      for (const o of opened) o.close();
    }
  },
};

async function checked(call, n) {
  const got = await call({ n });
  if (got?.n !== n) throw new Error(`fanout: sent ${n}, got back ${JSON.stringify(got)}`);
}

/** Every caller in a loop for `ms`; returns each call's latency and the calls/s over the window. */
async function hammer(callers, ms) {
  const samples = [];
  const start = performance.now();
  const until = start + ms;
  let n = 0;
  await Promise.all(
    callers.map(async (call) => {
      while (performance.now() < until) {
        const t = performance.now();
        await checked(call, ++n);
        samples.push(performance.now() - t);
      }
    }),
  );
  return { samples, ms: performance.now() - start };
}

function merge(runs) {
  const samples = runs.flatMap((r) => r.samples);
  const ms = runs.reduce((a, r) => a + r.ms, 0);
  return { latencyMs: summarise(samples), throughput: { calls: samples.length, ms, rps: samples.length / (ms / 1000) } };
}

function report(shape, a, b) {
  const ratios = {
    rps: ratio(b.throughput.rps, a.throughput.rps),
    p50: ratio(b.latencyMs.p50, a.latencyMs.p50),
    p99: ratio(b.latencyMs.p99, a.latencyMs.p99),
  };
  const row = (label, s) => [label, fmt.rps(s.throughput.rps), fmt.ms(s.latencyMs.p50), fmt.ms(s.latencyMs.p95), fmt.ms(s.latencyMs.p99)];
  const table = markdownTable(
    ["path", `calls/s (${shape.projects}×${shape.clients} clients)`, "p50 ms", "p95 ms", "p99 ms"],
    [
      row("(a) Agents SDK: echo on P agents", a),
      row("(b) Capstan: ping echo on P projects", b),
      ["**b/a**", fmt.x(ratios.rps), fmt.x(ratios.p50), "–", fmt.x(ratios.p99)],
    ],
  );
  return { table, json: { shape, a, b, ratios } };
}
