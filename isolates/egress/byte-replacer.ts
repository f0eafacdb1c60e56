// A streaming multi-pattern replacer over bytes. It holds back just enough of each chunk's tail
// (the longest pattern minus one byte) that a match split across chunks is still found, so
// memory stays bounded by the chunk size plus that tail, whatever the body's length.

export type Replacement = { find: Uint8Array; replace: Uint8Array };

function matchesAt(buf: Uint8Array, pat: Uint8Array, at: number): boolean {
  if (at + pat.length > buf.length) return false;
  for (let j = 0; j < pat.length; j++) if (buf[at + j] !== pat[j]) return false;
  return true;
}

/**
 * The rules, longest first, and a Wu-Manber shift table over all of them: the scan reads the last
 * two bytes of a window as long as the shortest pattern and moves on by as far as that pair
 * allows, checking the rules only where the pair ends a pattern's first `window` bytes. A pair
 * is rarely in any pattern, so a body is crossed in steps of about the shortest pattern's
 * length, whatever bytes it is made of. (One byte at a time, every byte of a base64 alphabet
 * soon appears in some secret, and the steps shrink to one.) With a one-byte pattern there is
 * no pair, and in a short buffer (a header value) the table costs more than it saves: each
 * rule's first byte is looked for with indexOf instead. The table is built on first need.
 */
type Scanner = { rules: readonly Replacement[]; window: number; table: Uint8Array | null };

const MAX_SHIFT = 255;
const TABLE_FROM_BYTES = 4096;

/** One scanner per rule set: a response's headers and body share it. */
const scanners = new WeakMap<readonly Replacement[], Scanner>();

function scannerFor(rules: readonly Replacement[]): Scanner {
  let s = scanners.get(rules);
  if (!s) {
    const sorted = rules.filter((r) => r.find.length > 0).sort((a, b) => b.find.length - a.find.length);
    s = { rules: sorted, window: Math.min(...sorted.map((r) => r.find.length)), table: null };
    scanners.set(rules, s);
  }
  return s;
}

function pairTable(rules: readonly Replacement[], window: number): Uint8Array {
  const table = new Uint8Array(1 << 16).fill(Math.min(window - 1, MAX_SHIFT));
  for (const { find } of rules) {
    for (let q = 1; q < window; q++) {
      const pair = (find[q - 1]! << 8) | find[q]!;
      table[pair] = Math.min(table[pair]!, window - 1 - q);
    }
  }
  return table;
}

/** The earliest (then longest) complete match at or after `from`, or null. */
function nextMatch(buf: Uint8Array, s: Scanner, from: number): { at: number; rule: Replacement } | null {
  const { window, rules } = s;
  if (rules.length === 0) return null;
  if (window < 2 || buf.length < TABLE_FROM_BYTES) return firstByteMatch(buf, rules, from);
  const shift = (s.table ??= pairTable(rules, window));
  for (let at = from; at + window <= buf.length; ) {
    const end = at + window - 1;
    const step = shift[(buf[end - 1]! << 8) | buf[end]!]!;
    if (step > 0) {
      at += step;
      continue;
    }
    for (const rule of rules) if (matchesAt(buf, rule.find, at)) return { at, rule };
    at++;
  }
  return null;
}

function firstByteMatch(buf: Uint8Array, rules: readonly Replacement[], from: number): { at: number; rule: Replacement } | null {
  let best: { at: number; rule: Replacement } | null = null;
  for (const rule of rules) {
    for (let i = from; (i = buf.indexOf(rule.find[0]!, i)) !== -1 && (!best || i < best.at); i++) {
      if (matchesAt(buf, rule.find, i)) {
        best = { at: i, rule };
        break;
      }
    }
  }
  return best;
}

/**
 * Replaces the matches in `buf` that start before its last `keepTail` bytes, and returns the
 * output and the tail to carry. A match starting inside the tail waits for more data, because
 * a longer pattern (base64 with its padding, say) may yet match at the same place.
 */
function replaceComplete(buf: Uint8Array, s: Scanner, keepTail: number): { out: Uint8Array[]; carry: Uint8Array } {
  const out: Uint8Array[] = [];
  const settled = buf.length - keepTail;
  let pos = 0;
  for (let m = nextMatch(buf, s, 0); m && (keepTail === 0 || m.at < settled); m = nextMatch(buf, s, pos)) {
    if (m.at > pos) out.push(buf.subarray(pos, m.at));
    out.push(m.rule.replace);
    pos = m.at + m.rule.find.length;
  }
  const boundary = Math.max(pos, settled);
  if (boundary > pos) out.push(buf.subarray(pos, boundary));
  return { out, carry: buf.subarray(boundary) };
}

export function replaceAllBytes(buf: Uint8Array, rules: readonly Replacement[]): Uint8Array {
  if (rules.length === 0) return buf;
  const { out } = replaceComplete(buf, scannerFor(rules), 0);
  return concat(out);
}

/** The replacer's state over one stream: feed it chunks in order, then end it. */
export function byteReplacer(rules: readonly Replacement[]): { push(chunk: Uint8Array): Uint8Array; end(): Uint8Array } {
  const keepTail = Math.max(0, ...rules.map((r) => r.find.length - 1));
  const s = rules.length ? scannerFor(rules) : null;
  let carry = new Uint8Array(0);
  return {
    push(chunk) {
      if (!s) return chunk;
      const buf = carry.length ? concat([carry, chunk]) : chunk;
      const { out, carry: rest } = replaceComplete(buf, s, keepTail);
      // Copy the carry: `buf` may be the caller's chunk, which it is free to reuse.
      carry = rest.slice();
      return concat(out);
    },
    end: () => (carry.length ? replaceAllBytes(carry, rules) : carry),
  };
}

export function byteReplacerStream(rules: readonly Replacement[]): TransformStream<Uint8Array, Uint8Array> {
  const replacer = byteReplacer(rules);
  return new TransformStream({
    transform(chunk, controller) {
      const out = replacer.push(chunk);
      if (out.length) controller.enqueue(out);
    },
    flush(controller) {
      const out = replacer.end();
      if (out.length) controller.enqueue(out);
    },
  });
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
