// Errors are values with a code a program can branch on and a message a person can act on.
// They cross three kinds of boundary (Workers RPC, capnweb, HTTP). Workers RPC keeps only an
// error's message, so the code rides inside the message as a "[code] " prefix and is
// recovered at the edge by `asCapstanError`.

export type ErrorCode =
  | "bad_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "conflict"
  | "payload_too_large"
  | "limit_exceeded"
  | "secret_unknown"
  | "secret_not_bound"
  | "secret_invalid"
  | "secrets_unavailable"
  | "upstream_unreachable"
  | "egress_denied"
  | "egress_unscrubbable"
  | "redirect_refused"
  | "approval_denied"
  | "approval_timeout"
  | "capability_unknown"
  | "capability_failed"
  | "bad_source"
  | "cpu_limit"
  | "timeout"
  | "shadow_broken"
  | "auth_unavailable"
  | "internal";

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  limit_exceeded: 429,
  secret_unknown: 403,
  secret_not_bound: 403,
  secret_invalid: 400,
  secrets_unavailable: 503,
  upstream_unreachable: 502,
  egress_denied: 403,
  egress_unscrubbable: 502,
  redirect_refused: 502,
  approval_denied: 403,
  approval_timeout: 403,
  capability_unknown: 404,
  capability_failed: 502,
  bad_source: 400,
  cpu_limit: 504,
  timeout: 504,
  shadow_broken: 502,
  auth_unavailable: 503,
  internal: 500,
};

const WIRE = /^\[([a-z_]+)\] ([\s\S]*)$/;

export class CapstanError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    // The prefixed form is what survives Workers RPC; `detail` is the bare message.
    super(`[${code}] ${message}`);
    this.code = code;
  }
  get status(): number {
    return STATUS[this.code];
  }
  get detail(): string {
    return this.message.replace(WIRE, "$2");
  }
}

/** Recovers a CapstanError from anything thrown, including one that crossed Workers RPC. */
export function asCapstanError(err: unknown): CapstanError {
  if (err instanceof CapstanError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const m = WIRE.exec(message);
  if (m && m[1]! in STATUS) return new CapstanError(m[1] as ErrorCode, m[2]!);
  return new CapstanError("internal", "internal error");
}

export function statusOf(code: ErrorCode): number {
  return STATUS[code];
}
