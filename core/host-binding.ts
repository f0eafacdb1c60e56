// Where a secret may be sent, and which hosts a policy rule names, as data. A host pattern is
// "[scheme://]host[:port]":
//   api.example.com          https, port 443 only
//   *.example.com            https, any subdomain (anchored: not example.com itself)
//   http://127.0.0.1:8787    plain http must be named, with its port
// A secret binding is a pattern, or an object that narrows one further by ports, path prefixes
// and methods. Hosts are normalised the way the URL parser does (lowercase, IDN to punycode)
// with a trailing dot removed, so the bound form and the fetched form compare as equals. A
// pattern names a host, never a user: "user@host" is not a pattern, and the userinfo of a URL
// plays no part in matching (the URL's hostname does).

export type HostPattern = {
  scheme: "https:" | "http:";
  host: string;
  wildcard: boolean;
  port: string;
};
/** A secret's binding as stored: a pattern, optionally narrowed. */
export type SecretBinding = string | { host: string; ports?: number[]; paths?: string[]; methods?: string[] };

const DEFAULT_PORT = { "https:": "443", "http:": "80" } as const;

export function normaliseHost(hostname: string): string {
  return hostname.toLowerCase().replace(/\.$/, "");
}

/** Parses one pattern; returns an error message naming what is wrong instead of throwing. */
export function parseHostPattern(text: string): HostPattern | string {
  const m = /^(?:(https?):\/\/)?(\*\.)?([^/:*@?#\s[\]]+|\[[0-9a-fA-F:.]+\])(?::(\d{1,5}))?$/i.exec(text.trim());
  if (!m) return `"${text}" is not a host pattern ([scheme://]host[:port], host may start with "*.")`;
  const scheme = (m[1] ? `${m[1].toLowerCase()}:` : "https:") as HostPattern["scheme"];
  let url: URL;
  try {
    url = new URL(`${scheme}//${m[3]}`);
  } catch {
    return `"${text}" does not name a valid host`;
  }
  const port = m[4] ?? DEFAULT_PORT[scheme];
  if (Number(port) < 1 || Number(port) > 65535) return `"${text}" has a port outside 1-65535`;
  const host = normaliseHost(url.hostname);
  if (!host) return `"${text}" does not name a valid host`;
  if (m[2] && isIpLiteral(host)) return `"${text}" puts a wildcard on an IP address`;
  return { scheme, host, wildcard: Boolean(m[2]), port };
}

export function isIpLiteral(host: string): boolean {
  return host.startsWith("[") || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
}

/** Whether `url`'s scheme, host and port match a pattern. `ports`, when given, replaces the pattern's port. */
export function patternMatches(p: HostPattern, url: URL, ports?: readonly number[]): boolean {
  if (url.protocol !== p.scheme) return false;
  const port = url.port || DEFAULT_PORT[p.scheme];
  if (ports ? !ports.includes(Number(port)) : port !== p.port) return false;
  const host = normaliseHost(url.hostname);
  // An IP literal never matches a name, and a name never matches an IP: compare like with like.
  if (isIpLiteral(host) !== isIpLiteral(p.host)) return false;
  if (p.wildcard) return host.endsWith(`.${p.host}`);
  return host === p.host;
}

/** Whether a path is under a prefix, at a segment boundary: "/v1" covers "/v1" and "/v1/x", not "/v1x". */
export function pathUnder(path: string, prefix: string): boolean {
  if (prefix === "/" || path === prefix) return true;
  return path.startsWith(prefix.endsWith("/") ? prefix : `${prefix}/`);
}

/** Whether a request (`method` to `url`) may carry a secret with this binding. */
export function bindingAllows(binding: SecretBinding, url: URL, method = "GET"): boolean {
  const b = typeof binding === "string" ? { host: binding } : binding;
  const parsed = parseHostPattern(b.host);
  if (typeof parsed === "string") return false;
  if (!patternMatches(parsed, url, b.ports)) return false;
  if (b.methods && !b.methods.includes(method.toUpperCase())) return false;
  if (b.paths && !b.paths.some((p) => pathUnder(url.pathname, p))) return false;
  return true;
}

export function anyBindingAllows(bindings: readonly SecretBinding[], url: URL, method = "GET"): boolean {
  return bindings.some((b) => bindingAllows(b, url, method));
}
