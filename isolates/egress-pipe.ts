// EgressPipe: the only place a secret's plaintext exists. Stateless; the project it acts for
// comes from `props`, which only trusted code (the ProjectActor, through ctx.exports) sets.
// It refuses before sending when any placeholder is unknown or unbound, substitutes, fetches
// with redirects left to the caller, and scrubs every substituted value out of the response.
import { WorkerEntrypoint } from "cloudflare:workers";
import { CapstanError, asCapstanError } from "../core/errors";
import { normaliseHost } from "../core/host-binding";
import { openSecrets, type OpenedSecret } from "./secrets/store";
import { scrubResponse, scrubRules, scrubText } from "./egress/scrub";
import { assertBound, bodyKind, encodeFor, namesIn, substituteStream, substituteText } from "./egress/substitute";

export type EgressProps = { projectId: string };

/** What the actor learns about an egress: names and metadata, never a value. */
export type EgressMeta = { method: string; host: string; path: string; status: number; secrets: string[] };
export type EgressResult = { response: Response; meta: EgressMeta };

/** A body this small is read whole before sending, so a refused placeholder in it sends nothing. */
const PREFLIGHT_BODY_BYTES = 64 * 1024;

export class EgressPipe extends WorkerEntrypoint<Env, EgressProps> {
  async egress(request: Request): Promise<EgressResult> {
    const projectId = this.ctx.props.projectId;
    const used = new Map<string, OpenedSecret>();
    try {
      return await this.#send(projectId, request, used);
    } catch (err) {
      // Errors leave as codes and messages that name secrets, never carry their values.
      const e = asCapstanError(err);
      throw new CapstanError(e.code, scrubText(e.detail, scrubRules([...used.values()])));
    }
  }

  async #send(projectId: string, request: Request, used: Map<string, OpenedSecret>): Promise<EgressResult> {
    const url = new URL(request.url);
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new CapstanError("bad_request", `only http and https URLs can be fetched, not ${url.protocol}`);
    }
    const hostHeader = request.headers.get("host");
    if (hostHeader !== null && normaliseHost(hostHeader) !== normaliseHost(url.host)) {
      throw new CapstanError("bad_request", `the Host header "${hostHeader}" disagrees with the URL's host ${url.host}`);
    }

    // Secrets named in the URL and headers are opened and checked before anything is sent.
    const target = url.pathname + url.search;
    const names = new Set(namesIn(target, true));
    for (const [, v] of request.headers) for (const n of namesIn(v)) names.add(n);
    for (const [name, s] of await openSecrets(this.env, projectId, [...names])) {
      assertBound(s, url);
      used.set(name, s);
    }
    const lookup = async (name: string): Promise<OpenedSecret> => {
      let s = used.get(name);
      if (!s) {
        s = (await openSecrets(this.env, projectId, [name])).get(name)!;
        assertBound(s, url);
        used.set(name, s);
      }
      return s;
    };

    const outUrl = new URL(url);
    if (names.size) {
      const substituted = substituteText(target, used, encodeFor.url, true);
      const q = substituted.indexOf("?");
      outUrl.pathname = q === -1 ? substituted : substituted.slice(0, q);
      outUrl.search = q === -1 ? "" : substituted.slice(q);
    }
    const headers = new Headers();
    for (const [k, v] of request.headers) {
      if (k === "host") continue;
      headers.append(k, substituteText(v, used, encodeFor.header));
    }

    const body = await this.#body(request, lookup);
    const rules = () => scrubRules([...used.values()]);
    let upstream: Response;
    try {
      upstream = await fetch(outUrl, { method: request.method, headers, body, redirect: "manual" });
    } catch (err) {
      const e = asCapstanError(err);
      if (e.code !== "internal") throw e;
      throw new CapstanError("upstream_unreachable", `${request.method} ${url.protocol}//${url.host} failed before a response arrived`);
    }
    return {
      response: scrubResponse(upstream, rules()),
      meta: { method: request.method, host: url.host, path: url.pathname, status: upstream.status, secrets: [...used.keys()] },
    };
  }

  async #body(request: Request, lookup: (n: string) => Promise<OpenedSecret>): Promise<BodyInit | null> {
    if (!request.body) return null;
    const kind = bodyKind(request.headers.get("content-type"));
    if (!kind) return request.body;
    const reader = request.body.getReader();
    const head: Uint8Array[] = [];
    let size = 0;
    while (size <= PREFLIGHT_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) {
        // The whole body is here: substitute it now, so any refusal happens before sending.
        const text = new TextDecoder().decode(await new Blob(head).arrayBuffer());
        const secrets = new Map<string, OpenedSecret>();
        for (const n of namesIn(text)) secrets.set(n, await lookup(n));
        return substituteText(text, secrets, encodeFor[kind]);
      }
      head.push(value);
      size += value.length;
    }
    // A large body streams through; a refused placeholder found late aborts the upload midway.
    const rest = new ReadableStream<Uint8Array>({
      start(c) {
        for (const h of head) c.enqueue(h);
      },
      async pull(c) {
        const { done, value } = await reader.read();
        if (done) c.close();
        else c.enqueue(value);
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    });
    return rest.pipeThrough(substituteStream(kind, lookup));
  }
}
