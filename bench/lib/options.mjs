// Knobs, from the environment so that `npm run bench -- <scenario>` stays the whole command line.

export function intFromEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, not "${raw}"`);
  return n;
}

export function readOptions() {
  return {
    /** Sequential samples per target for the latency figures. */
    iterations: intFromEnv("BENCH_N", 500),
    warmup: intFromEnv("BENCH_WARMUP", 50),
    /** Samples per target before switching to the other target. */
    roundSize: intFromEnv("BENCH_ROUND", 50),
    concurrency: intFromEnv("BENCH_CONCURRENCY", 16),
    /** Requests per target for the requests/s figure, run with `concurrency` in flight. */
    throughputRequests: intFromEnv("BENCH_THROUGHPUT_N", 1000),
    throughputRounds: intFromEnv("BENCH_THROUGHPUT_ROUNDS", 4),
    /** A git commit to measure instead of the working tree, e.g. HEAD while the tree is mid-edit. */
    ref: process.env.BENCH_REF || null,
  };
}
