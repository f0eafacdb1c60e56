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
