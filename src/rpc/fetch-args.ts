// project.fetch(input, init) mirrors the global fetch. Its arguments arrive untyped from the
// peer, so they are checked here and turned into one Request for dispatch.
import { z } from "zod";
import { CapstanError } from "../../core/errors";
import { parse } from "../schemas";

const HeaderPairs = z.array(z.tuple([z.string(), z.string()]));
const FetchInit = z.object({
  method: z.string().regex(/^[A-Za-z]{1,16}$/, "must be an HTTP method").optional(),
  headers: z.union([z.record(z.string(), z.string()), HeaderPairs, z.instanceof(Headers)]).optional(),
  redirect: z.enum(["follow", "manual"], { error: 'must be "follow" or "manual"' }).optional(),
  body: z
    .union([z.string(), z.instanceof(Uint8Array), z.instanceof(ArrayBuffer), z.instanceof(ReadableStream), z.instanceof(Blob), z.null()])
    .optional(),
});

/** `names`: what the caller's user calls the two arguments, for the errors. */
export function requestFromFetchArgs(input: unknown, init: unknown, names = { input: "input", init: "init" }): Request {
  const i = parse(FetchInit.optional(), init, names.init) ?? {};
  let base: Request;
  if (input instanceof Request) base = input;
  else if (typeof input === "string" || input instanceof URL) {
    let url: URL;
    try {
      url = new URL(String(input));
    } catch {
      throw new CapstanError("bad_request", `${names.input} is not an absolute URL`);
    }
    base = new Request(url);
  } else throw new CapstanError("bad_request", `${names.input} must be a URL string or a Request`);
  const method = i.method?.toUpperCase() ?? base.method;
  if ((method === "GET" || method === "HEAD") && i.body != null) {
    throw new CapstanError("bad_request", `${names.init}.body is not allowed with ${method}`);
  }
  try {
    return new Request(base, { method, headers: i.headers, body: i.body === undefined ? base.body : i.body, redirect: i.redirect ?? base.redirect });
  } catch (err) {
    throw new CapstanError("bad_request", `the request cannot be built: ${err instanceof Error ? err.message : String(err)}`);
  }
}
