// The measurement method shared by scenarios that compare paths. A target is { key, once },
// where once() performs one complete request (including reading the whole response).
// Targets are run in alternating rounds (A B, then B A, ...) so that whatever else the shared
// machine is doing at the time lands on every target about equally.

const now = () => performance.now();

function orderFor(targets, round) {
  return round % 2 === 0 ? targets : [...targets].reverse();
}

export async function warmUp(targets, iterations) {
  for (let i = 0; i < iterations; i++) for (const t of orderFor(targets, i)) await t.once();
}

/** Sequential latency: `iterations` samples per target, taken in alternating rounds. */
export async function latency(targets, { iterations, roundSize }) {
  const samples = Object.fromEntries(targets.map((t) => [t.key, []]));
  for (let done = 0, round = 0; done < iterations; done += roundSize, round++) {
    const count = Math.min(roundSize, iterations - done);
    for (const t of orderFor(targets, round)) {
      for (let i = 0; i < count; i++) {
        const start = now();
        await t.once();
        samples[t.key].push(now() - start);
      }
    }
  }
  return samples;
}

/** Requests per second with `concurrency` requests in flight, over `rounds` alternating rounds. */
export async function throughput(targets, { requests, concurrency, rounds }) {
  const totals = Object.fromEntries(targets.map((t) => [t.key, { requests: 0, ms: 0 }]));
  const perRound = Math.ceil(requests / rounds);
  for (let round = 0; round < rounds; round++) {
    for (const t of orderFor(targets, round)) {
      let next = 0;
      const worker = async () => {
        while (next++ < perRound) await t.once();
      };
      const start = now();
      await Promise.all(Array.from({ length: concurrency }, worker));
      totals[t.key].ms += now() - start;
      totals[t.key].requests += perRound;
    }
  }
  return Object.fromEntries(
    Object.entries(totals).map(([k, v]) => [k, { ...v, rps: v.requests / (v.ms / 1000) }]),
  );
}
