// Where a secret may be sent, as data. A binding is "[scheme://]host[:port]":
//   api.example.com          https, port 443 only
//   *.example.com            https, any subdomain (anchored: not example.com itself)
//   http://127.0.0.1:8787    plain http must be named, with its port
// Hosts are normalised the way the URL parser does (lowercase, IDN to punycode) with a
// trailing dot removed, so the bound form and the fetched form compare as equals.

export type HostBinding = {
  scheme: "https:" | "http:";
  host: string;
  wildcard: boolean;
  port: string;
};

const DEFAULT_PORT = { "https:": "443", "http:": "80" } as const;

export function normaliseHost(hostname: string): string {
  return hostname.toLowerCase().replace(/\.$/, "");
}

/** Parses one binding; returns an error message naming what is wrong instead of throwing. */
export function parseHostBinding(text: string): HostBinding | string {
  const m = /^(?:(https?):\/\/)?(\*\.)?([^/:*@?#\s]+)(?::(\d{1,5}))?$/i.exec(text.trim());
  if (!m) return `"${text}" is not a host binding ([scheme://]host[:port], host may start with "*.")`;
  const scheme = (m[1] ? `${m[1].toLowerCase()}:` : "https:") as HostBinding["scheme"];
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
  return { scheme, host, wildcard: Boolean(m[2]), port };
}

/** Whether a request to `url` may carry a secret bound to `binding`. */
export function bindingAllows(binding: HostBinding, url: URL): boolean {
  if (url.protocol !== binding.scheme) return false;
  const port = url.port || DEFAULT_PORT[binding.scheme];
  if (port !== binding.port) return false;
  const host = normaliseHost(url.hostname);
  if (binding.wildcard) return host.endsWith(`.${binding.host}`);
  return host === binding.host;
}

export function anyBindingAllows(bindings: readonly string[], url: URL): boolean {
  return bindings.some((b) => {
    const parsed = parseHostBinding(b);
    return typeof parsed !== "string" && bindingAllows(parsed, url);
  });
}
