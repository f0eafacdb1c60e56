// Turning down a caller: every refusal is audited with its reason, and the error says what to do
// without echoing anything that was presented.
import { CapstanError, type ErrorCode } from "../../core/errors";
import { audit, type AuditEvent, type AuditVia } from "./audit";

export type RefusalFacts = {
  via?: AuditVia | null;
  ip?: string | null;
  userId?: string | null;
  keyId?: string | null;
  sessionId?: string | null;
  detail?: AuditEvent["detail"];
};

export async function refuse(env: Env, reason: string, message: string, facts: RefusalFacts = {}, code: ErrorCode = "unauthorized"): Promise<CapstanError> {
  await audit(env, { event: "auth.refused", reason, ...facts });
  return new CapstanError(code, message);
}

/** The client address as Cloudflare saw it, for the audit. */
export function clientIp(request: Request): string | null {
  return request.headers.get("cf-connecting-ip");
}
