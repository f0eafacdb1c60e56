// EgressPipe: the only place a secret's plaintext exists. Stateless; the project it acts for
// comes from `props`, which only trusted code (the ProjectActor, through ctx.exports) sets, and
// the policy comes from the actor with each call. It refuses before sending when a placeholder
// is unknown or unbound or the policy says no, substitutes, fetches with `redirect: "manual"`
// and follows redirects itself (re-checking policy and bindings on every hop), and scrubs every
// substituted value out of what comes back. See docs/security.md for the rules it enforces.
import { WorkerEntrypoint } from "cloudflare:workers";
import { throughBigChunks } from "../core/big-chunks";
import { decide, type EgressPolicy } from "../core/egress-policy";
import { CapstanError, asCapstanError, type ErrorCode } from "../core/errors";
import { normaliseHost } from "../core/host-binding";
import { TOKEN, URL_TOKEN, tokenOf, tokensIn, type Token } from "../core/placeholders";
import { issueWorkloadToken } from "../src/auth/issuer";
import { openSecrets } from "./secrets/store";
import { REDIRECT_STATUS, nextHop } from "./egress/redirects";
import { scrubResponse, scrubRules, scrubText, type Substituted } from "./egress/scrub";
import { bodyKind, emptyValues, resolveBasic, encodeFor, isBound, substituteStream, substituteText, assertBound, type Values } from "./egress/substitute";

export type EgressProps = { projectId: string };
export type EgressOptions = { policy: EgressPolicy; approved?: boolean };

/** What the actor learns about an egress: names and metadata, never a value. */
export type EgressMeta = {
  method: string;
  host: string;
  path: string;
  status: number;
  secrets: string[];
  bytesOut?: number;
  redirects?: number;
};
export type EgressResult = { response: Response; meta: EgressMeta };

/** A body this small is read whole before sending, so a refused placeholder in it sends nothing. */
const PREFLIGHT_BODY_BYTES = 64 * 1024;
/** Distinct secrets and audiences one request may name: a bound on D1 reads and scrub rules. */
const MAX_SECRETS = 64;
const MAX_AUDIENCES = 4;
/**
 * Encodings the runtime decodes on fetch, so the body reaching the scrubber is plain (checked by
 * test/egress-scrub.test.ts: workerd decodes gzip and br, and leaves x-gzip and deflate alone).
 */
const DECODED_BY_RUNTIME = new Set(["gzip", "br"]);
const PLAIN = new Set(["", "identity"]);

type Body = { kind: "none" } | { kind: "text"; text: string; type: "json" | "form" | "text" } | { kind: "stream"; stream: ReadableStream<Uint8Array> };

/** Told once how many body bytes the pipe passed on: for the audit's bytes-in figure. */
export type BytesInReport = (bytes: number) => void;

export class EgressPipe extends WorkerEntrypoint<Env, EgressProps> {
  /**
   * `onBytesIn`, if given, is called once the response body has ended, been cancelled or failed.
   * Counting here, in the stage that scrubs, spares the body a stage of its own after the pipe
   * (the actor passes one; the front door, which reads the body in large pieces anyway for
   * capnweb, counts there and passes none, sparing a callback over RPC).
   */
  async egress(request: Request, options: EgressOptions, onBytesIn?: BytesInReport): Promise<EgressResult> {
    const values = emptyValues();
    const report = onBytesIn ? outliving(onBytesIn) : null;
    try {
      return await this.#send(request, options, values, report?.call);
    } catch (err) {
      report?.drop();
      // Errors leave as codes and messages that name secrets, never carry their values.
      const e = asCapstanError(err);
      throw new CapstanError(e.code, scrubText(e.detail, scrubRules(substituted(values))));
    }
  }

  async #resolve(t: Token, values: Values): Promise<void> {
    const names = t.kind === "secret" ? [t.name] : t.kind === "basic" ? [t.user, t.pass] : [];
    const missing = names.filter((n) => !values.secrets.has(n));
    if (missing.length) {
      if (values.secrets.size + missing.length > MAX_SECRETS) throw new CapstanError("limit_exceeded", `a request may use at most ${MAX_SECRETS} distinct secrets`);
      for (const [n, s] of await openSecrets(this.env, this.ctx.props.projectId, missing)) values.secrets.set(n, s);
    }
    if (t.kind === "basic") resolveBasic(values, t.user, t.pass);
    if (t.kind === "idToken" && !values.idTokens.has(t.audience)) {
      if (values.idTokens.size >= MAX_AUDIENCES) throw new CapstanError("limit_exceeded", `a request may ask for at most ${MAX_AUDIENCES} id tokens`);
      values.idTokens.set(t.audience, await issueWorkloadToken(this.env, this.ctx.props.projectId, t.audience));
    }
  }

  async #send(request: Request, options: EgressOptions, values: Values, onBytesIn: BytesInReport | undefined): Promise<EgressResult> {
    const first = new URL(request.url);
    if (first.protocol !== "https:" && first.protocol !== "http:") {
      throw new CapstanError("bad_request", `only http and https URLs can be fetched, not ${first.protocol}`);
    }
    if (first.username || first.password) {
      // Userinfo is not a place placeholders go, and "api.x.com@evil.com" is a classic lookalike.
      throw new CapstanError("bad_request", "the URL carries user:password@; send credentials in a header (basicAuth(getSecret(\"USER\"), getSecret(\"PASS\")))");
    }
    const hostHeader = request.headers.get("host");
    if (hostHeader !== null && normaliseHost(hostHeader) !== normaliseHost(first.host)) {
      throw new CapstanError("bad_request", `the Host header "${hostHeader}" disagrees with the URL's host ${first.host}`);
    }

    // The request as written: the template every hop is built from.
    const headerTemplate = [...request.headers].filter(([k]) => k !== "host");
    const urlTokens = tokensIn(first.pathname + first.search, true);
    const tokens: Token[] = [];
    for (const m of (first.pathname + first.search).matchAll(URL_TOKEN)) tokens.push(tokenOf(m));
    for (const [, v] of headerTemplate) for (const m of v.matchAll(TOKEN)) tokens.push(tokenOf(m));
    let body = await this.#readBody(request, tokens, values);
    const distinct = new Set(tokens.flatMap((t) => (t.kind === "secret" ? [t.name] : t.kind === "basic" ? [t.user, t.pass] : [])));
    if (distinct.size > MAX_SECRETS) throw new CapstanError("limit_exceeded", `a request may use at most ${MAX_SECRETS} distinct secrets; this one names ${distinct.size}`);
    // One read for every secret named before sending; a streamed body's later names are read as found.
    for (const [n, s] of await openSecrets(this.env, this.ctx.props.projectId, [...distinct])) values.secrets.set(n, s);
    for (const t of tokens) await this.#resolve(t, values);

    let url = first;
    let method = request.method;
    let redirects = 0;
    let bytesOut = 0;
    const follow = request.redirect !== "manual";
    for (;;) {
      const hop = redirects > 0;
      const refuse = (code: ErrorCode, why: string) => new CapstanError(hop ? "redirect_refused" : code, hop ? `redirect ${redirects} to ${method} ${url.protocol}//${url.host}${url.pathname} refused: ${why}` : why);

      const d = decide(options.policy, url, method);
      if (d.action === "deny") throw refuse("egress_denied", `${method} ${url.protocol}//${url.host}${url.pathname} is denied by ${d.reason}`);
      if (d.action === "hold" && (hop || !options.approved)) {
        throw refuse("egress_denied", `${method} ${url.protocol}//${url.host}${url.pathname} needs approval (${d.reason})${hop ? "; redirect hops are not held" : ""}`);
      }

      // On the first hop every secret must be bound; afterwards a header carrying an unbound
      // secret (or an id token, off its first origin) is dropped, as browsers drop Authorization.
      const headers = new Headers();
      for (const [k, v] of headerTemplate) {
        const used = tokensIn(v);
        const bound = [...used.names].every((n) => isBound(values.secrets.get(n)!, url, method));
        const sameOrigin = url.origin === first.origin;
        if (!hop) for (const n of used.names) assertBound(values.secrets.get(n)!, url, method);
        else if (!bound || (used.audiences.size && !sameOrigin)) continue;
        headers.append(k, substituteText(v, values, encodeFor.header));
      }
      let outUrl = url;
      if (!hop) {
        for (const n of urlTokens.names) assertBound(values.secrets.get(n)!, url, method);
        outUrl = new URL(url);
        const target = substituteText(url.pathname + url.search, values, encodeFor.url, true);
        const q = target.indexOf("?");
        outUrl.pathname = q === -1 ? target : target.slice(0, q);
        outUrl.search = q === -1 ? "" : target.slice(q);
      }
      let sendBody: BodyInit | null = null;
      if (body.kind === "text") {
        const used = tokensIn(body.text);
        for (const n of used.names) {
          if (!isBound(values.secrets.get(n)!, url, method)) throw refuse("secret_not_bound", `secret "${n}" is not bound to ${method} ${url.protocol}//${url.host}${url.pathname}`);
        }
        if (hop && used.audiences.size && url.origin !== first.origin) throw refuse("redirect_refused", "the body carries an id token and the redirect leaves its origin");
        const text = substituteText(body.text, values, encodeFor[body.type]);
        bytesOut += new TextEncoder().encode(text).length;
        sendBody = text;
      } else if (body.kind === "stream") {
        // Read in large chunks: a body that crossed Workers RPC comes in 4 KiB pieces, each a
        // turn of every stream stage on its way out.
        sendBody = throughBigChunks(body.stream, {
          transform(chunk, enqueue) {
            bytesOut += chunk.byteLength;
            enqueue(chunk);
          },
        });
      }
      // Scrubbing needs to read the body: ask only for encodings the runtime decodes.
      if (values.secrets.size || values.idTokens.size) headers.set("accept-encoding", "gzip, br");

      let upstream: Response;
      try {
        upstream = await fetch(outUrl, { method, headers, body: sendBody, redirect: "manual" });
      } catch (err) {
        const e = asCapstanError(err);
        if (e.code !== "internal") throw e;
        throw new CapstanError("upstream_unreachable", `${method} ${url.protocol}//${url.host} failed before a response arrived`);
      }

      const location = upstream.headers.get("location");
      if (follow && REDIRECT_STATUS.has(upstream.status) && location) {
        await upstream.body?.cancel();
        const next = nextHop(++redirects, upstream.status, location, url, method, values.secrets.size > 0 || values.idTokens.size > 0);
        // An upstream may reflect a substituted value into its Location: it goes on only to
        // where that secret is bound (an id token or Basic pair, nowhere).
        const reflected = scrubText(location, scrubRules(substituted(values)));
        for (const [, name] of reflected.matchAll(/\[redacted:([^\]]+)\]/g)) {
          const s = values.secrets.get(name!);
          if (!s || !isBound(s, next.url, next.method)) {
            throw new CapstanError("redirect_refused", `redirect ${redirects} carries ${s ? `secret "${name}"` : name} in its Location to ${next.url.protocol}//${next.url.host}, where it is not bound`);
          }
        }
        if (!next.keepBody) {
          body = { kind: "none" };
          for (let i = headerTemplate.length - 1; i >= 0; i--) if (/^content-(type|length|encoding|language)$/.test(headerTemplate[i]![0])) headerTemplate.splice(i, 1);
        } else if (body.kind === "stream") {
          throw new CapstanError("redirect_refused", `redirect ${redirects} (${upstream.status}) would resend a streamed body, which cannot be replayed`);
        }
        method = next.method;
        url = next.url;
        continue;
      }

      const encoding = (upstream.headers.get("content-encoding") ?? "").trim().toLowerCase();
      if ((values.secrets.size || values.idTokens.size) && !DECODED_BY_RUNTIME.has(encoding) && !PLAIN.has(encoding)) {
        await upstream.body?.cancel();
        throw new CapstanError("egress_unscrubbable", `the response is ${encoding}-encoded, which cannot be scrubbed; a request carrying secrets accepts gzip or br only`);
      }
      return {
        response: scrubResponse(upstream, scrubRules(substituted(values)), DECODED_BY_RUNTIME.has(encoding), onBytesIn),
        meta: {
          method: request.method,
          host: first.host,
          path: first.pathname,
          status: upstream.status,
          secrets: [...values.secrets.keys()],
          bytesOut,
          redirects,
        },
      };
    }
  }

  /** Reads a small text body whole (so refusals happen before sending); streams the rest. */
  async #readBody(request: Request, tokens: Token[], values: Values): Promise<Body> {
    if (!request.body) return { kind: "none" };
    const type = bodyKind(request.headers.get("content-type"));
    if (!type) return { kind: "stream", stream: request.body };
    const reader = request.body.getReader();
    const head: Uint8Array[] = [];
    let size = 0;
    while (size <= PREFLIGHT_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) {
        const text = new TextDecoder().decode(await new Blob(head).arrayBuffer());
        for (const m of text.matchAll(TOKEN)) tokens.push(tokenOf(m));
        return { kind: "text", text, type };
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
    return { kind: "stream", stream: rest.pipeThrough(this.#streamSubstitution(type, request, values)) };
  }

  /** Values found mid-stream join the same maps the response is scrubbed with. */
  #streamSubstitution(type: "json" | "form" | "text", request: Request, values: Values): TransformStream<Uint8Array, Uint8Array> {
    const url = new URL(request.url);
    return substituteStream(type, values, async (t) => {
      await this.#resolve(t, values);
      for (const n of t.kind === "secret" ? [t.name] : t.kind === "basic" ? [t.user, t.pass] : []) assertBound(values.secrets.get(n)!, url, request.method);
    });
  }
}

/** Every value substituted, in the forms scrubbing looks for. */
function substituted(values: Values): Substituted[] {
  const out: Substituted[] = [...values.secrets.values()].map((s) => ({ name: s.name, value: s.value }));
  for (const [pair, credentials] of values.basics) out.push({ name: `basicAuth:${pair}`, value: credentials });
  for (const [aud, token] of values.idTokens) out.push({ name: `idToken:${aud}`, value: token });
  return out;
}

/**
 * A callback passed over Workers RPC is a stub that is released when the call that received it
 * returns; the body it reports on outlives that call, so it is duplicated here, called at most
 * once, and released after. A caller that has gone away meanwhile is nobody to tell.
 */
function outliving(callback: BytesInReport): { call: BytesInReport; drop(): void } {
  type Stub = BytesInReport & { dup?: () => Stub; [Symbol.dispose]?: () => void };
  const kept = (callback as Stub).dup?.() ?? (callback as Stub);
  let used = false;
  const release = () => kept[Symbol.dispose]?.();
  return {
    call: (bytes) => {
      if (used) return;
      used = true;
      void Promise.resolve()
        .then(() => kept(bytes))
        .catch(() => undefined)
        .finally(release);
    },
    drop: () => {
      if (used) return;
      used = true;
      release();
    },
  };
}
