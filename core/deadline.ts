// A wall-clock bound on waiting. It stops the wait, not the work: code that spins is bounded
// elsewhere (isolates/loaded/instrument.ts), because timers cannot fire while it does.
export async function withDeadline<T>(p: Promise<T>, ms: number, onTimeout: () => unknown): Promise<T> {
  let timer = 0;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(onTimeout()), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
