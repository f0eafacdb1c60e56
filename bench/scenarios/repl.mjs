// repl: a warm REPL line, over the REPL WebSocket (/v1/projects/:id/repl), measured from the
// moment the line is sent to its result. Each distinct line is a module in a loaded isolate; a
// repeated line reuses its warm isolate, which is what a user typing `1+1` twice sees.
//   1+1:           the whole path with nothing behind it (actor, loader, isolate, back)
//   project.fetch: a line that makes one outbound request through the project's fetch
// The goal for a warm 1+1 is a p50 of at most 15 ms locally.
import { allowEgressTo, newUserAndProject } from "../lib/capstan.mjs";
import { latency, warmUp } from "../lib/measure.mjs";
import { summarise } from "../lib/stats.mjs";
import { fmt, markdownTable } from "../lib/table.mjs";

export default {
  name: "repl",
  title: "REPL: warm line latency over the REPL WebSocket",

  async run(infra, opts) {
    const [capstan, upstream] = await Promise.all([infra.capstan(), infra.upstream()]);
    const { key, projectId } = await newUserAndProject(capstan, "bench-repl");
    await allowEgressTo(capstan, key, projectId, [upstream.url]);
    const repl = await openRepl(capstan.url, projectId, key);
    try {
      const line = (code, check) => async () => {
        const out = await repl.eval(code);
        if (out.type !== "result" || !check(out)) throw new Error(`repl: ${code} answered ${JSON.stringify(out)}`);
      };
      const simple = { key: "simple", once: line("1+1", (o) => o.value === "2") };
      const fetchLine = { key: "fetch", once: line(`(await project.fetch("${upstream.url}/repl")).status`, (o) => o.value === "200") };
      await warmUp([simple, fetchLine], Math.min(opts.warmup, 20));
      const samples = await latency([simple, fetchLine], { iterations: Math.min(opts.iterations, 300), roundSize: opts.roundSize });
      const s = summarise(samples.simple);
      const f = summarise(samples.fetch);
      const row = (name, x) => [name, fmt.ms(x.p50), fmt.ms(x.p95), fmt.ms(x.p99)];
      const table = markdownTable(["line", "p50 ms", "p95 ms", "p99 ms"], [
        row("`1+1` (goal: p50 ≤ 15 ms)", s),
        row("`(await project.fetch(url)).status`", f),
      ]);
      return { table, json: { simple: s, fetch: f, goalMet: s.p50 <= 15 } };
    } finally {
      repl.close();
    }
  },
};

async function openRepl(url, projectId, key) {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/v1/projects/${projectId}/repl`);
  const waiting = new Map();
  let ready;
  const readyP = new Promise((r) => (ready = r));
  ws.addEventListener("message", (e) => {
    const m = JSON.parse(e.data);
    if (m.type === "ready") ready();
    if ((m.type === "result" || m.type === "error") && waiting.has(m.id)) {
      waiting.get(m.id)(m);
      waiting.delete(m.id);
    }
  });
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", () => reject(new Error("repl: cannot open the socket")), { once: true });
  });
  ws.send(JSON.stringify({ type: "auth", token: key }));
  await readyP;
  let seq = 0;
  return {
    eval(code) {
      const id = ++seq;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        ws.send(JSON.stringify({ type: "eval", id, code }));
      });
    },
    close: () => ws.close(),
  };
}
