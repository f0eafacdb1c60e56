// POST /v1/projects/:id/fetch: the project's fetch capability over plain HTTP, for large bodies.
// Over capnweb a body moves as stream messages, each acknowledged before the window lets more
// go; here it streams as this request's body and this response's body, with nothing in between
// but the runtime. It is the same dispatch as project.fetch (the actor resolves it: shadows,
// policy and holds, substitution, scrubbing and the audit row all apply); only the transport differs.
//
// The outbound request is described by the Capstan-Fetch header, a JSON object
// {url, method?, headers?, redirect?}, and its body is this request's body. What comes back is the
// capability's answer, status, headers and body as they are, marked `Capstan-Fetched: 1`; any
// answer without the mark is Capstan's own JSON error (an upstream cannot forge one, since the
// mark is set here on every answer that came through).
import { z } from "zod";
import { CapstanError } from "../../core/errors";
import { mintHttpRequestId } from "../auth/ids";
import { requirePrincipal } from "../auth/principal";
import { actorFor, requireMember } from "../projects";
import { requestFromFetchArgs } from "../rpc/fetch-args";
import { parse } from "../schemas";

export const FETCH_HEADER = "capstan-fetch";
export const FETCHED_HEADER = "capstan-fetched";
/** Far more than a URL and headers need; HTTP stacks cap a request's headers near here anyway. */
const MAX_ENVELOPE_CHARS = 32 * 1024;

const Envelope = z
  .object({
    url: z.string({ error: "must be an absolute URL string" }),
    method: z.unknown().optional(),
    headers: z.unknown().optional(),
    redirect: z.unknown().optional(),
  })
  .strict();

export async function fetchRoute(env: Env, request: Request, projectId: string): Promise<Response> {
  const who = await requirePrincipal(env, request);
  const project = await requireMember(env, who, projectId);
  const { url, ...init } = envelope(request);
  const method = typeof init.method === "string" ? init.method.toUpperCase() : "GET";
  const body = hasBody(request) ? request.body : null;
  if (body && (method === "GET" || method === "HEAD")) {
    throw new CapstanError("bad_request", `the outbound request is a ${method}, which cannot carry this request's body`);
  }
  const outbound = requestFromFetchArgs(url, { ...init, body }, { input: `${FETCH_HEADER}.url`, init: FETCH_HEADER });
  const caller = { kind: "http" as const, id: mintHttpRequestId() };
  const answer = (await actorFor(env, project.id).dispatch("fetch", "fetch", [outbound], caller)) as Response;
  const marked = new Response(answer.body, answer);
  marked.headers.set(FETCHED_HEADER, "1");
  return marked;
}

function envelope(request: Request): z.infer<typeof Envelope> {
  const raw = request.headers.get(FETCH_HEADER);
  if (raw === null) throw new CapstanError("bad_request", `the ${FETCH_HEADER} header is required: a JSON object {url, method?, headers?, redirect?}`);
  if (raw.length > MAX_ENVELOPE_CHARS) throw new CapstanError("payload_too_large", `the ${FETCH_HEADER} header must be at most ${MAX_ENVELOPE_CHARS} characters`);
  // A header carries bytes, not text: characters past ASCII arrive garbled, so they must come escaped.
  if (/[^\x20-\x7e]/.test(raw)) throw new CapstanError("bad_request", `the ${FETCH_HEADER} header must be ASCII JSON (write other characters as \\uXXXX escapes)`);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new CapstanError("bad_request", `the ${FETCH_HEADER} header is not valid JSON`);
  }
  return parse(Envelope, value, FETCH_HEADER);
}

/** Whether this request carries a body to send on: a length above zero, or a chunked one. */
function hasBody(request: Request): boolean {
  if (request.headers.has("transfer-encoding")) return true;
  return Number(request.headers.get("content-length") ?? 0) > 0;
}
