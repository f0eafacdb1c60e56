// HTTP edges: JSON in and out, and the one mapping from error values to responses.
import { CapstanError, asCapstanError } from "../core/errors";

const MAX_JSON_BYTES = 256 * 1024;

export function json(data: unknown, status = 200, headers?: HeadersInit): Response {
  return Response.json(data, { status, headers });
}

export function errorResponse(err: unknown): Response {
  const e = asCapstanError(err);
  if (e.code === "internal") console.error("internal error", err instanceof Error ? err.stack : String(err));
  const headers: Record<string, string> = {};
  if (e.status === 401) headers["www-authenticate"] = 'Bearer realm="capstan"';
  return json({ error: { code: e.code, message: e.detail } }, e.status, headers);
}

export async function readJson(request: Request): Promise<unknown> {
  const ct = request.headers.get("content-type") ?? "";
  if (!/^application\/json\b/i.test(ct)) throw new CapstanError("bad_request", "the body must be JSON (content-type: application/json)");
  const text = await request.text();
  if (text.length > MAX_JSON_BYTES) throw new CapstanError("payload_too_large", `the body must be at most ${MAX_JSON_BYTES} bytes`);
  try {
    return JSON.parse(text);
  } catch {
    throw new CapstanError("bad_request", "the body is not valid JSON");
  }
}
