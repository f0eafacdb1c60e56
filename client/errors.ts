// Every failure the client reports is a CapstanError with a `code` a program can branch on.
// The server's codes arrive two ways: over capnweb as an Error with a `code` property, over
// HTTP as {"error":{code,message}}, and inside messages as the "[code] message" wire form.
// Failures of the connection itself get codes of their own.
import type { ErrorCode as ServerErrorCode } from "../core/errors.js";

/** The server's codes (core/errors.ts, the one list), and the client's own for the connection. */
export type ErrorCode =
  | ServerErrorCode
  | "cancelled"
  /** The server could not be reached at all (refused, DNS, TLS). */
  | "unreachable"
  /** The connection dropped while the call was in flight; it may or may not have run. */
  | "disconnected"
  /** The client was closed. */
  | "closed"
  /** A code this client does not know yet (a newer server); the original is kept in `code`. */
  | (string & {});

const WIRE = /^\[([a-z_]+)\] ([\s\S]*)$/;

export class CapstanError extends Error {
  readonly code: ErrorCode;
  /** The HTTP status, when the error came from an HTTP route. */
  readonly status?: number;
  constructor(code: ErrorCode, message: string, status?: number) {
    super(message);
    this.name = "CapstanError";
    this.code = code;
    if (status !== undefined) this.status = status;
  }
}

/** Parses the "[code] message" wire form; null when `text` is not in it. */
export function parseWireError(text: string): CapstanError | null {
  const m = WIRE.exec(text);
  return m ? new CapstanError(m[1]!, m[2]!) : null;
}

/** Whatever was thrown, as a CapstanError. */
export function toCapstanError(err: unknown): CapstanError {
  if (err instanceof CapstanError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^[a-z_]+$/.test(code)) return new CapstanError(code, message.replace(WIRE, "$2"));
  const wire = parseWireError(message);
  if (wire) return wire;
  if (/^Peer closed WebSocket|WebSocket connection failed|RPC session was shut down|Session closed/i.test(message)) {
    return new CapstanError("disconnected", `the connection to the server dropped (${message})`);
  }
  return new CapstanError("internal", message);
}

/** Capstan's JSON error in `text`, or one made from the status if the body is not ours. */
export function errorFromResponse(res: Response, text: string, what: string): CapstanError {
  let error: { code?: unknown; message?: unknown } | undefined;
  try {
    error = (JSON.parse(text) as { error?: typeof error }).error;
  } catch {
    // Not one of our JSON errors (a proxy's page, say); the status speaks for it below.
  }
  const code = typeof error?.code === "string" ? error.code : statusCode(res.status);
  const message = typeof error?.message === "string" ? error.message : `${what} answered ${res.status}`;
  return new CapstanError(code, message, res.status);
}

/** A fetch that never got an answer, said the way a person can act on it. */
export function unreachable(base: string, err: unknown): CapstanError {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const why = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
  return new CapstanError("unreachable", `cannot reach ${base} (${why})`);
}

function statusCode(status: number): string {
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  return status >= 500 ? "internal" : "bad_request";
}
