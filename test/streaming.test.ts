// The streaming halves of the pipe: scrubbing and substitution find a match wherever the chunk
// boundaries fall, and never expand a value a second time.
import { describe, expect, it } from "vitest";
import { scrubRules } from "../isolates/egress/scrub";
import { byteReplacer, byteReplacerStream, type Replacement } from "../isolates/egress/byte-replacer";
import { emptyValues, substituteStream } from "../isolates/egress/substitute";
import type { Token } from "../core/placeholders";

const enc = new TextEncoder();

async function run(stream: TransformStream<Uint8Array, Uint8Array>, text: string, cuts: number[]): Promise<string> {
  const bytes = enc.encode(text);
  const chunks: Uint8Array[] = [];
  let last = 0;
  for (const c of [...cuts, bytes.length]) {
    chunks.push(bytes.slice(last, c));
    last = c;
  }
  const source = new ReadableStream<Uint8Array>({
    start(ctl) {
      for (const c of chunks) ctl.enqueue(c);
      ctl.close();
    },
  });
  return new Response(source.pipeThrough(stream)).text();
}

describe("scrubbing", () => {
  const secret = "s3cr3t/+value";
  const text = `a ${secret} b ${btoa(secret)} c ${encodeURIComponent(secret)} d`;
  it("replaces raw, base64 and URL-encoded forms at every split point", async () => {
    for (let cut = 0; cut <= text.length; cut++) {
      const out = await run(byteReplacerStream(scrubRules([{ name: "S", value: secret }])), text, [cut]);
      expect(out).toBe("a [redacted:S] b [redacted:S] c [redacted:S] d");
    }
  });
  it("handles one-byte chunks", async () => {
    const cuts = [...Array(text.length).keys()].slice(1);
    expect(await run(byteReplacerStream(scrubRules([{ name: "S", value: secret }])), text, cuts)).toBe("a [redacted:S] b [redacted:S] c [redacted:S] d");
  });
});

describe("the byte replacer against a plain reference", () => {
  /** The rule it must follow, in the plainest code: at each byte, the longest pattern that starts there. */
  function reference(body: Uint8Array, rules: Replacement[]): number[] {
    const out: number[] = [];
    for (let i = 0; i < body.length; ) {
      const hit = rules
        .filter((r) => r.find.every((b, j) => body[i + j] === b))
        .sort((a, b) => b.find.length - a.find.length)[0];
      if (hit) {
        out.push(...hit.replace);
        i += hit.find.length;
      } else out.push(body[i++]!);
    }
    return out;
  }
  /** A small deterministic generator, so a failure names a seed that reproduces it. */
  function rng(seed: number) {
    return (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
  }

  it("agrees on random bodies over a small alphabet, with overlapping patterns and random chunk cuts", () => {
    // Short bodies in small pieces, and bodies of several KiB in pieces of up to 8 KiB: the two
    // ways of scanning (a header value's, and a body chunk's) are both taken.
    for (let seed = 1; seed <= 400; seed++) {
      const r = rng(seed);
      const large = seed % 2 === 0;
      const alphabet = [97, 98, 99, 100, 0, 255].slice(0, 2 + r(5));
      const word = (min: number, spread = 6) => Uint8Array.from({ length: min + r(spread) }, () => alphabet[r(alphabet.length)]!);
      const rules: Replacement[] = Array.from({ length: 1 + r(4) }, (_, i) => ({ find: word(1 + r(large ? 6 : 3)), replace: enc.encode(`<${i}>`) }));
      const body = large ? word(4096, 12_000) : word(0, 400);
      const want = reference(body, rules);
      const replacer = byteReplacer(rules);
      const got: number[] = [];
      for (let at = 0; at < body.length; ) {
        const next = Math.min(body.length, at + 1 + r(large ? 8192 : 40));
        got.push(...replacer.push(body.slice(at, next)));
        at = next;
      }
      got.push(...replacer.end());
      expect(got, `seed ${seed}`).toEqual(want);
    }
  });
});

describe("body substitution", () => {
  const known: Record<string, string> = { LOOP: 'getSecret("A")', A: 'v"1' };
  const values = emptyValues();
  const resolve = async (t: Token) => {
    if (t.kind !== "secret" || !(t.name in known)) throw new Error(`unknown ${JSON.stringify(t)}`);
    values.secrets.set(t.name, { name: t.name, value: known[t.name]!, hosts: [] });
  };
  const text = `{"a":"getSecret(\\"A\\")","b":"getSecret('A')","loop":"getSecret('LOOP')"}`;
  it("finds placeholders split across chunks and JSON-escapes the value", async () => {
    for (let cut = 0; cut <= text.length; cut += 3) {
      const out = await run(substituteStream("json", values, resolve), `x getSecret('A') y`, [cut % 19]);
      expect(out).toBe('x v\\"1 y');
    }
  });
  it("expands one pass only: a value that looks like a placeholder stays as it is", async () => {
    const out = await run(substituteStream("text", values, resolve), text, [10, 40]);
    expect(out).toContain(`"loop":"getSecret("A")"`);
  });
});
