// project.fetch over plain HTTP (POST /v1/projects/:id/fetch, docs/api.md): the path for large
// bodies, which stream as the HTTP request's and response's own bodies instead of as capnweb
// stream messages. The outbound request goes in the Capstan-Fetch header; an answer marked
// Capstan-Fetched is the fetch capability's, anything else is Capstan's own error.
import { CapstanError, errorFromResponse, unreachable } from "./errors.js";
import type { HttpOptions } from "./http.js";

export async function httpFetch(options: HttpOptions, projectId: string, input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const base = options.url.replace(/\/+$/, "");
  let outbound: Request;
  try {
    // Built as fetch would build it: a FormData or URLSearchParams body gets its content-type here.
    outbound = new Request(input, { ...init, duplex: "half" } as RequestInit);
  } catch (err) {
    throw new CapstanError("bad_request", `the request cannot be built: ${err instanceof Error ? err.message : String(err)}`);
  }
  const envelope = { url: outbound.url, method: outbound.method, headers: [...outbound.headers], redirect: outbound.redirect };
  let res: Response;
  try {
    res = await fetch(`${base}/v1/projects/${encodeURIComponent(projectId)}/fetch`, {
      method: "POST",
      headers: { authorization: `Bearer ${options.token}`, "capstan-fetch": asciiJson(envelope) },
      body: outbound.body,
      duplex: "half",
      signal: init?.signal ?? null,
    } as RequestInit);
  } catch (err) {
    if (init?.signal?.aborted) throw err;
    throw unreachable(base, err);
  }
  if (res.headers.get("capstan-fetched") === "1") return res;
  throw errorFromResponse(res, await res.text(), `POST /v1/projects/${projectId}/fetch`);
}

/** JSON with every character past ASCII escaped: a header carries bytes, not text. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
