// streams: the streams capability, measured from a Node capnweb client over WebSockets to /rpc.
//   append, sequential:   one append at a time, each awaited: capnweb → front door →
//                         ProjectActor dispatch (SQLite write, audit row) → back.
//   append, N in flight:  appends/s on one project from one session.
//   appendBatch of 100:   events/s when appending in batches of 100, one batch at a time.
//   append → delivery:    from just before append() is called on the writer's session to the
//                         subscriber's callback running on a second session: one event at a
//                         time (idle), and for every event while `loadedInFlight` appends are
//                         outstanding (loaded, below saturation; see the notes for why not at N).
//   floor:                project.call("ping", "echo") sequentially on the writer's session: a
//                         dispatch with its audit row and no streams work, for comparison.
// The subscriber must see every offset exactly once and in order, or the run fails.
//
// `run(ctx)` is the scenario proper, for any harness:
//   ctx = {
//     capstanUrl: "http://127.0.0.1:8787",  // a running Capstan (wrangler dev or deployed)
//     key: "cap_…",                         // an API key of a member of the project
//     projectId: "prj_…",                   // the project to append to (its streams are used as is)
//     options?: { iterations?, warmup?, inFlight?, loadedInFlight?, throughputAppends?, batches? },
//   }
//   → { rows: [{ name, p50, p95, p99, perSecond }], notes: string[] }   (ms and per second)
// The default export adapts it to `npm run bench` (bench/run.mjs): { name, title, run(infra, opts) }.
import { connectRpc, newUserAndProject } from "../lib/capstan.mjs";
import { summarise } from "../lib/stats.mjs";
import { fmt, markdownTable } from "../lib/table.mjs";

const DEFAULTS = { iterations: 500, warmup: 50, inFlight: 64, loadedInFlight: 8, throughputAppends: 4000, batches: 100 };
const BATCH = 100;
const now = () => performance.now();

export async function run(ctx) {
  const o = { ...DEFAULTS, ...(ctx.options ?? {}) };
  const writer = connectRpc(ctx.capstanUrl, ctx.key);
  const reader = connectRpc(ctx.capstanUrl, ctx.key);
  const stream = `bench/${Date.now().toString(36)}`;
  try {
    const project = writer.session.project(ctx.projectId);
    const streams = project.streams();
    const subscriber = reader.session.project(ctx.projectId).streams();

    // The subscriber: checks order and density, and timestamps each event as it arrives.
    const sentAt = new Map();
    const delivered = [];
    let expected = 1;
    let failure = null;
    let wake = null;
    const onBatch = (batch) => {
      const at = now();
      for (const d of batch) {
        if (d.offset !== expected) failure ??= new Error(`subscriber got offset ${d.offset}, expected ${expected}`);
        expected = d.offset + 1;
        // Keyed by the event's own number: a delivery may arrive before its append's answer.
        const sent = sentAt.get(d.event.n);
        if (sent !== undefined) {
          delivered.push(at - sent);
          sentAt.delete(d.event.n);
        }
      }
      wake?.();
    };
    const sub = await subscriber.subscribe(stream, onBatch, { after: "start" });
    const waitDelivered = (offset) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (failure) return reject(failure);
          if (expected > offset) return resolve();
          wake = check;
        };
        check();
      });

    let n = 0;
    const appendTimed = async (record) => {
      const event = { n: ++n, text: "hello" };
      const start = now();
      if (record) sentAt.set(event.n, start);
      const { offset } = await streams.append(stream, event);
      return { offset, ms: now() - start };
    };

    for (let i = 0; i < o.warmup; i++) await waitDelivered((await appendTimed(false)).offset);

    // Idle: one event in the system at a time, alternating with the floor's ping.
    const appendMs = [];
    const pingMs = [];
    const idleDelivery = [];
    for (let i = 0; i < o.iterations; i++) {
      const before = delivered.length;
      const { offset, ms } = await appendTimed(true);
      appendMs.push(ms);
      await waitDelivered(offset);
      idleDelivery.push(...delivered.slice(before));
      const start = now();
      await project.call("ping", "echo", { i });
      pingMs.push(now() - start);
    }
    delivered.length = 0;

    // `inFlight` appends outstanding at all times; returns the run's seconds and last offset.
    const appendConcurrently = async (inFlight, total) => {
      let issued = 0;
      let highest = 0;
      const started = now();
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          while (issued++ < total) highest = Math.max(highest, (await appendTimed(true)).offset);
        }),
      );
      const ended = now();
      return { seconds: (ended - started) / 1000, highest, ended };
    };

    // Throughput, then delivery latency under a load the local runtime keeps up with.
    const rate = await appendConcurrently(o.inFlight, o.throughputAppends);
    const subscriberAtRateEnd = expected - 1;
    await waitDelivered(rate.highest);
    const drainedAfterMs = now();
    delivered.length = 0;
    const loadedRun = await appendConcurrently(o.loadedInFlight, Math.min(o.throughputAppends, 2000));
    let last = loadedRun.highest;
    await waitDelivered(last);
    const loadedDelivery = delivered.splice(0);

    // Batches of 100, one at a time.
    const batchStarted = now();
    for (let i = 0; i < o.batches; i++) {
      const r = await streams.appendBatch(stream, Array.from({ length: BATCH }, () => ({ n: ++n, text: "hello" })));
      last = r.last;
    }
    const batchSeconds = (now() - batchStarted) / 1000;
    await waitDelivered(last);
    await sub.unsubscribe();
    if (failure) throw failure;

    const seq = summarise(appendMs);
    const ping = summarise(pingMs);
    const idle = summarise(idleDelivery);
    const loaded = summarise(loadedDelivery);
    const rows = [
      { name: "append, sequential", p50: seq.p50, p95: seq.p95, p99: seq.p99, perSecond: 1000 / seq.mean },
      { name: `append, ${o.inFlight} in flight`, p50: NaN, p95: NaN, p99: NaN, perSecond: o.throughputAppends / rate.seconds },
      { name: `appendBatch of ${BATCH}, sequential (events/s)`, p50: NaN, p95: NaN, p99: NaN, perSecond: (o.batches * BATCH) / batchSeconds },
      { name: "append → delivery, idle", p50: idle.p50, p95: idle.p95, p99: idle.p99, perSecond: NaN },
      { name: `append → delivery, ${o.loadedInFlight} appends in flight`, p50: loaded.p50, p95: loaded.p95, p99: loaded.p99, perSecond: o.throughputAppends > 0 ? loadedDelivery.length / loadedRun.seconds : NaN },
      { name: "floor: ping echo, sequential", p50: ping.p50, p95: ping.p95, p99: ping.p99, perSecond: 1000 / ping.mean },
    ];
    const notes = [
      `stream ${stream}: ${last} events, every one delivered once and in order to a subscriber on a second session`,
      `idle figures over ${o.iterations} appends after ${o.warmup} warm-up; ${o.throughputAppends} appends for the ${o.inFlight}-in-flight rate; ${loadedDelivery.length} for the loaded delivery figures`,
      "append → delivery runs from before append() is called to the callback running, both in this process; its append latency includes queueing behind the other appends in flight",
      `when the ${o.inFlight}-in-flight writer stopped at offset ${rate.highest}, the subscriber was at ${subscriberAtRateEnd}; it caught up ${((drainedAfterMs - rate.ended) / 1000).toFixed(2)} s later`,
    ];
    return { rows, notes };
  } finally {
    writer.close();
    reader.close();
  }
}

export default {
  name: "streams",
  title: "Streams: appends/s on one project, and append → subscriber delivery latency",

  async run(infra, opts) {
    const capstan = await infra.capstan();
    const { key, projectId } = await newUserAndProject(capstan, "bench-streams");
    const result = await run({
      capstanUrl: capstan.url,
      key,
      projectId,
      options: { iterations: opts.iterations, warmup: opts.warmup, throughputAppends: Math.max(opts.throughputRequests, 4000) },
    });
    const table = markdownTable(
      ["path", "p50 ms", "p95 ms", "p99 ms", "per second"],
      result.rows.map((r) => [r.name, fmt.ms(r.p50), fmt.ms(r.p95), fmt.ms(r.p99), fmt.rps(r.perSecond)]),
    );
    return { table: `${table}\n\n${result.notes.map((n) => `- ${n}`).join("\n")}`, json: result };
  },
};
