// How long to wait before the next reconnection attempt: exponential, capped, with jitter so
// that many clients dropped at once (a deploy, a restart) do not all come back in step.

export type Backoff = {
  /** The first wait, in ms. */
  initialMs: number;
  /** The longest wait, in ms. */
  maxMs: number;
  /** Each failed attempt multiplies the wait by this. */
  factor: number;
};

export const DEFAULT_BACKOFF: Backoff = { initialMs: 250, maxMs: 30_000, factor: 2 };

/** The wait before attempt `n` (0-based): between half and all of the capped exponential. */
export function backoffDelay(b: Backoff, n: number, random: () => number = Math.random): number {
  const ceiling = Math.min(b.maxMs, b.initialMs * b.factor ** n);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
