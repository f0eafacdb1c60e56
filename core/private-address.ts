// Destinations that are inside someone's network rather than on the internet: private,
// loopback, link-local, CGNAT and cloud-metadata addresses, IPv6 loopback/ULA/link-local, and
// the names that mean them. Egress policy refuses these unless a rule names the host exactly
// (see core/egress-policy.ts). Only literals and well-known names can be recognised here: the
// pipe cannot see what a name resolves to, so a public name pointing at a private address is
// the platform's network's business (Workers cannot reach private ranges in production).

const PRIVATE_NAMES = new Set(["localhost", "metadata.google.internal", "metadata.goog", "metadata"]);

function ipv4(host: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  return parts.every((n) => n <= 255) ? parts : null;
}

function privateV4(parts: number[]): boolean {
  const a = parts[0]!;
  const b = parts[1]!;
  return (
    a === 0 || a === 10 || a === 127 || a >= 224 ||
    (a === 100 && b >= 64 && b <= 127) || // CGNAT 100.64/10
    (a === 169 && b === 254) || // link-local, incl. 169.254.169.254 metadata
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) || // 192.0.0/24 protocol assignments
    (a === 198 && (b === 18 || b === 19)) // benchmarking, often internal
  );
}

/** Expands an IPv6 literal (without brackets) to eight 16-bit groups, or null. */
function ipv6(host: string): number[] | null {
  let h = host;
  const tail = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(h);
  if (tail) {
    const v4 = ipv4(tail[1]!);
    if (!v4) return null;
    h = h.slice(0, -tail[1]!.length) + `${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const halves = h.split("::");
  if (halves.length > 2) return null;
  const parse = (s: string) => (s ? s.split(":").map((g) => parseInt(g, 16)) : []);
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const fill = halves.length === 2 ? 8 - head.length - rest.length : 0;
  const groups = [...head, ...Array(Math.max(fill, 0)).fill(0), ...rest];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

function privateV6(g: number[]): boolean {
  if (g.slice(0, 7).every((x) => x === 0) && g[7]! <= 1) return true; // :: and ::1
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return privateV4([g[6]! >> 8, g[6]! & 0xff]); // v4-mapped
  if ((g[0]! & 0xfe00) === 0xfc00) return true; // ULA fc00::/7, incl. fd00:ec2::254 metadata
  if ((g[0]! & 0xffc0) === 0xfe80) return true; // link-local fe80::/10
  if ((g[0]! & 0xff00) === 0xff00) return true; // multicast
  return false;
}

/** Whether a normalised hostname (as URL.hostname gives it) is a private or metadata destination. */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (PRIVATE_NAMES.has(host) || host.endsWith(".localhost") || host.endsWith(".internal")) return true;
  const v4 = ipv4(host);
  if (v4) return privateV4(v4);
  if (host.startsWith("[") && host.endsWith("]")) {
    const v6 = ipv6(host.slice(1, -1));
    return v6 ? privateV6(v6) : true;
  }
  return false;
}
