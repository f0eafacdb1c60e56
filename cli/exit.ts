// What the CLI's exit code says, and turning any failure into one line on stderr. Expected
// failures (bad arguments, a refused token, a server that is down) never show a stack trace.
import { toCapstanError } from "../client/errors.js";

export const EXIT = {
  ok: 0,
  /** The server refused the request, or the code that was run failed. */
  failed: 1,
  /** Bad usage: unknown command or flag, missing argument, no URL or token configured. */
  usage: 2,
  /** The server could not be reached. */
  unreachable: 3,
  /** The token was refused (unauthorized, forbidden). */
  auth: 4,
  /** No such project, key or secret (or not yours). */
  notFound: 5,
} as const;

/** A mistake in how the command was called. */
export class UsageError extends Error {}

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  const e = toCapstanError(err);
  if (e.code === "unreachable" || e.code === "disconnected") return EXIT.unreachable;
  if (e.code === "unauthorized" || e.code === "forbidden") return EXIT.auth;
  if (e.code === "not_found") return EXIT.notFound;
  return EXIT.failed;
}

/** One line a person can act on. */
export function describe(err: unknown): string {
  if (err instanceof UsageError) return `${err.message} (see capstan --help)`;
  const e = toCapstanError(err);
  if (e.code === "unauthorized") return `the token was refused: ${e.message} (check --token, CAPSTAN_TOKEN or capstan login)`;
  return `${e.message.split("\n")[0]} [${e.code}]`;
}
