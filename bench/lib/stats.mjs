// Latency summaries. Percentiles use the nearest-rank method on the sorted samples: simple,
// and with hundreds of samples the choice of interpolation does not matter.

export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1];
}

/** p50/p95/p99/mean/min/max in milliseconds for a list of durations in milliseconds. */
export function summarise(samplesMs) {
  const s = [...samplesMs].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return {
    n: s.length,
    p50: percentile(s, 50),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
    mean,
    min: s[0] ?? NaN,
    max: s[s.length - 1] ?? NaN,
  };
}

export function ratio(b, a) {
  return a > 0 ? b / a : NaN;
}
