// A stub fetched from the live session, fetched again after each reconnection: stubs die with
// the socket that carried them, but what they point to (a project, a REPL session by id) does not.
import { toCapstanError } from "./errors.js";
import type { Connection, Live } from "./connection.js";

export function perConnection<T>(connection: Connection, get: (live: Live) => Promise<T>): () => Promise<T> {
  let cached: { generation: number; value: Promise<T> } | null = null;
  return async () => {
    const live = await connection.live();
    if (cached?.generation !== live.generation) {
      const value = get(live);
      cached = { generation: live.generation, value };
      // A refusal (not_found, say) is not kept: the next call asks again.
      value.catch(() => {
        if (cached?.value === value) cached = null;
      });
    }
    try {
      return await cached.value;
    } catch (err) {
      throw toCapstanError(err);
    }
  };
}

/** Runs one call and reports its failure as a CapstanError. */
export async function call<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw toCapstanError(err);
  }
}
