// The streams capability: durable per-project streams with dense offsets, idempotent appends,
// atomic batches and typed refusals; dispatched, audited (shapes only) and shadowable.
import { RpcTarget } from "capnweb";
import { describe, expect, it } from "vitest";
import { MAX_EVENT_BYTES } from "../actors/streams/limits";
import { connect } from "./helpers";
import { openRepl } from "./repl-client";
import { actorOf, failure, range, recorder, streamsProject, waitFor, type Delivery, type StreamsStub } from "./stream-helpers";

type Page = { events: Delivery[]; next: number };

async function readAll(streams: StreamsStub, stream: string): Promise<Delivery[]> {
  const out: Delivery[] = [];
  for (let after = 0; ; ) {
    const page = (await streams.read(stream, { after, limit: 1000 })) as Page;
    if (page.events.length === 0) return out;
    out.push(...page.events);
    after = page.next;
  }
}

describe("streams: append and read", () => {
  it("keep offsets dense and in order under 10 concurrent appenders × 200, as read and as delivered", async () => {
    const { key, id, streams, close } = await streamsProject();
    const clients = await Promise.all(range(1, 10).map(() => connect(key)));
    const live = recorder();
    try {
      await streams.subscribe("orders", live.callback, { after: "start" });
      const offsets = await Promise.all(
        clients.map(async (c, n) => {
          const s = c.session.project(id).streams() as unknown as StreamsStub;
          const mine: number[] = [];
          for (let i = 0; i < 200; i++) mine.push(((await s.append("orders", { client: n, i })) as { offset: number }).offset);
          return mine;
        }),
      );
      for (const mine of offsets) for (let i = 1; i < mine.length; i++) expect(mine[i]).toBeGreaterThan(mine[i - 1]!);
      expect(offsets.flat().sort((a, b) => a - b)).toEqual(range(1, 2000));

      const all = await readAll(streams, "orders");
      expect(all.map((e) => e.offset)).toEqual(range(1, 2000));
      // Each event sits at the offset its append returned.
      offsets.forEach((mine, n) => mine.forEach((offset, i) => expect(all[offset - 1]!.event).toEqual({ client: n, i })));

      await waitFor("the subscriber to see all 2000", () => live.events.length >= 2000);
      expect(live.offsets()).toEqual(range(1, 2000));
    } finally {
      for (const c of clients) c.close();
      close();
    }
  });

  it("page with after and limit, and start empty streams at offset 0", async () => {
    const { streams, close } = await streamsProject();
    try {
      expect(await streams.read("empty")).toEqual({ events: [], next: 0 });
      await streams.appendBatch("log", range(1, 25).map((i) => ({ i })));
      const first = (await streams.read("log", { limit: 10 })) as Page;
      expect(first.events.map((e) => e.offset)).toEqual(range(1, 10));
      expect(first.next).toBe(10);
      expect(first.events[0]).toMatchObject({ offset: 1, event: { i: 1 } });
      expect(Date.parse(first.events[0]!.at)).toBeGreaterThan(0);
      const rest = (await streams.read("log", { after: first.next })) as Page;
      expect(rest.events.map((e) => e.offset)).toEqual(range(11, 25));
      expect(await streams.read("log", { after: 25 })).toEqual({ events: [], next: 25 });
      // Streams are independent.
      expect(await streams.append("other", "x")).toEqual({ offset: 1 });
    } finally {
      close();
    }
  });

  it("make a retried append with the same idempotency key a no-op that returns the first offset", async () => {
    const { streams, close } = await streamsProject();
    try {
      expect(await streams.append("pay", { amount: 5 }, { idempotencyKey: "k1" })).toEqual({ offset: 1 });
      expect(await streams.append("pay", { amount: 5 }, { idempotencyKey: "k1" })).toEqual({ offset: 1 });
      expect(await streams.append("pay", { amount: 7 }, { idempotencyKey: "k2" })).toEqual({ offset: 2 });
      // Keys are per stream.
      expect(await streams.append("refunds", { amount: 5 }, { idempotencyKey: "k1" })).toEqual({ offset: 1 });
      expect(await streams.appendBatch("pay", ["a", "b", "c"], { idempotencyKey: "b1" })).toEqual({ first: 3, last: 5 });
      expect(await streams.appendBatch("pay", ["a", "b", "c"], { idempotencyKey: "b1" })).toEqual({ first: 3, last: 5 });
      expect(await failure(streams.append("pay", "a", { idempotencyKey: "b1" }))).toMatchObject({ code: "conflict", message: expect.stringMatching(/idempotencyKey/) });
      expect(await failure(streams.appendBatch("pay", ["a"], { idempotencyKey: "b1" }))).toMatchObject({ code: "conflict" });
      expect((await readAll(streams, "pay")).map((e) => e.event)).toEqual([{ amount: 5 }, { amount: 7 }, "a", "b", "c"]);
    } finally {
      close();
    }
  });

  it("write a batch whole or not at all: one oversize or malformed event refuses the lot", async () => {
    const { streams, close } = await streamsProject();
    try {
      await streams.append("b", "before");
      const big = "x".repeat(MAX_EVENT_BYTES);
      const oversize = await failure(streams.appendBatch("b", ["ok", { fine: true }, big, "ok"]));
      expect(oversize).toMatchObject({ code: "payload_too_large", message: expect.stringMatching(/^events\[2\] is 1048578 bytes/) });
      const malformed = await failure(streams.appendBatch("b", ["ok", { when: new Date() }]));
      expect(malformed).toMatchObject({ code: "bad_request", message: "events[1].when is not a JSON value: got Date" });
      expect(await failure(streams.appendBatch("b", []))).toMatchObject({ code: "bad_request", message: expect.stringMatching(/^events /) });
      expect(await failure(streams.appendBatch("b", "nope"))).toMatchObject({ code: "bad_request", message: expect.stringMatching(/^events /) });
      expect((await readAll(streams, "b")).map((e) => e.event)).toEqual(["before"]);
      expect(await streams.appendBatch("b", [1, 2])).toEqual({ first: 2, last: 3 });
    } finally {
      close();
    }
  });

  it("accept an event of exactly 1 MiB and refuse one byte more, naming the field and writing nothing", async () => {
    const { streams, close } = await streamsProject();
    try {
      const exact = "y".repeat(MAX_EVENT_BYTES - 2); // the JSON quotes make up the rest
      expect(await streams.append("big", exact)).toEqual({ offset: 1 });
      expect(await failure(streams.append("big", `${exact}y`))).toMatchObject({
        code: "payload_too_large",
        message: `event is ${MAX_EVENT_BYTES + 1} bytes as JSON; the limit is ${MAX_EVENT_BYTES} (1 MiB)`,
      });
      // Multi-byte characters count as their UTF-8 bytes.
      expect(await failure(streams.append("big", "é".repeat(MAX_EVENT_BYTES / 2)))).toMatchObject({ code: "payload_too_large" });
      const read = (await streams.read("big")) as Page;
      expect(read.events.map((e) => [e.offset, (e.event as string).length])).toEqual([[1, MAX_EVENT_BYTES - 2]]);
    } finally {
      close();
    }
  });

  it("refuse malformed input with a typed error that names the field", async () => {
    const { id, streams, close } = await streamsProject();
    try {
      const cases: [Promise<unknown>, string, RegExp][] = [
        [streams.append("Upper", 1), "bad_request", /^stream must be 1-128 characters of a-z 0-9 _ \. \/ -/],
        [streams.append("", 1), "bad_request", /^stream /],
        [streams.append("x".repeat(129), 1), "bad_request", /^stream /],
        [streams.append(42, 1), "bad_request", /^stream /],
        [streams.append("s", undefined), "bad_request", /^event is missing/],
        [streams.append("s", { a: { b: [1, Number.NaN] } }), "bad_request", /^event\.a\.b\[1\] is NaN/],
        [streams.append("s", { n: 10n }), "bad_request", /^event\.n is not a JSON value: got bigint/],
        [streams.append("s", { u: undefined }), "bad_request", /^event\.u is missing/],
        [streams.append("s", new Uint8Array(3)), "bad_request", /^event is not a JSON value: got Uint8Array/],
        [streams.append("s", 1, { idempotencyKey: 5 }), "bad_request", /^options\.idempotencyKey /],
        [streams.append("s", 1, { idempotencyKey: "" }), "bad_request", /^options\.idempotencyKey /],
        [streams.append("s", 1, { idempotency_key: "k" }), "bad_request", /^options /],
        [streams.read("s", { limit: 0 }), "bad_request", /^options\.limit /],
        [streams.read("s", { limit: 1001 }), "bad_request", /^options\.limit /],
        [streams.read("s", { after: -1 }), "bad_request", /^options\.after /],
        [streams.read("s", { after: 1.5 }), "bad_request", /^options\.after /],
        [streams.read("s", "all"), "bad_request", /^options /],
        [streams.subscribe("s", () => {}, { after: "middle" }), "bad_request", /^options\.after must be an offset, "start" or "end"/],
        [streams.subscribe("s", () => {}, { after: 5 }), "bad_request", /^options\.after is 5, beyond the end of stream "s" \(last offset 0\)/],
        [streams.subscribe("s", () => {}, { ackTimeoutMs: 1 }), "bad_request", /^options\.ackTimeoutMs /],
        [streams.subscribe("s", "not a function"), "bad_request", /^callback must be a function/],
        [streams.unsubscribe("nope"), "bad_request", /^id must be a subscription id/],
        [streams.unsubscribe("sub_unknown"), "not_found", /sub_unknown/],
      ];
      for (const [p, code, message] of cases) {
        const err = await failure(p);
        expect(err.code, err.message).toBe(code);
        expect(err.message).toMatch(message);
      }
      const deep = { v: 0 } as Record<string, unknown>;
      let at = deep;
      for (let i = 0; i < 70; i++) at = (at.v = { v: 0 }) as Record<string, unknown>;
      expect(await failure(streams.append("s", deep))).toMatchObject({ code: "bad_request", message: expect.stringMatching(/nests deeper than 64 levels/) });
      // Workers RPC carries more types than capnweb does; loaded code could send these.
      const actor = actorOf(id);
      const caller = { kind: "isolate" as const, id: "direct" };
      for (const [event, message] of [[new Map([[1, 2]]), /^\[bad_request\] event is not a JSON value: got Map$/], [{ s: new Set() }, /^\[bad_request\] event\.s is not a JSON value: got Set$/], [[new Error("x")], /^\[bad_request\] event\[0\] is not a JSON value: got Error$/]] as const) {
        expect(await failure(actor.dispatch("streams", "append", ["s", event], caller))).toMatchObject({ message: expect.stringMatching(message) });
      }
      expect(await streams.read("s")).toEqual({ events: [], next: 0 });
    } finally {
      close();
    }
  });

  it("audit every call with argument shapes only, never event content", async () => {
    const { id, streams, project, close } = await streamsProject();
    try {
      const canary = `evt-${crypto.randomUUID()}`;
      await streams.append("audited", { token: canary }, { idempotencyKey: `key-${canary}` });
      await streams.appendBatch("audited", [canary, { nested: [canary] }]);
      await streams.read("audited");
      const sub = await streams.subscribe("audited", () => {}, { after: "start" });
      await sub.unsubscribe();
      await failure(streams.append("audited", { bad: canary, n: Number.NaN }));
      const rows = (await project.audit({ capability: "streams" })) as { method: string; kind: string; outcome: string; args: string[] }[];
      expect(rows.map((r) => [r.method, r.kind, r.outcome])).toEqual([
        ["append", "builtin", "ok"],
        ["appendBatch", "builtin", "ok"],
        ["read", "builtin", "ok"],
        ["subscribe", "builtin", "ok"],
        ["unsubscribe", "builtin", "ok"],
        ["append", "builtin", "error"],
      ]);
      expect(rows[0]!.args).toEqual(["string(7)", "object(1)", "object(1)"]);
      expect(rows[1]!.args).toEqual(["string(7)", "array(2)"]);
      const everything = JSON.stringify(await actorOf(id).audit({ limit: 1000 }));
      expect(everything).not.toContain(canary);
      expect(everything).not.toContain(await sub.id);
    } finally {
      close();
    }
  });

  it("can be shadowed: a client's stand-in sees appends and passes them on with next", async () => {
    const { key, id, streams, project, close } = await streamsProject();
    const other = await connect(key);
    try {
      type Next = (...args: unknown[]) => Promise<unknown>;
      class Stamp extends RpcTarget {
        append(stream: string, event: unknown, next: Next) {
          return next(stream, { stamped: true, event });
        }
        read(stream: string, options: unknown, next: Next) {
          return next(stream, options);
        }
      }
      const handle = await other.session.project(id).shadow("streams", new Stamp());
      expect(await streams.append("s", 1)).toEqual({ offset: 1 });
      expect(((await streams.read("s", {})) as Page).events[0]!.event).toEqual({ stamped: true, event: 1 });
      await handle.revoke();
      await streams.append("s", 2);
      expect((await readAll(streams, "s")).map((e) => e.event)).toEqual([{ stamped: true, event: 1 }, 2]);
      const rows = (await project.audit({ capability: "streams" })) as { method: string; kind: string }[];
      expect(rows.map((r) => [r.method, r.kind])).toEqual([
        ["append", "shadow"], ["read", "shadow"], ["append", "builtin"], ["read", "builtin"], ["read", "builtin"],
      ]);
    } finally {
      other.close();
      close();
    }
  });

  it("is reached from loaded code through the project handle, subscribe included", async () => {
    const { streams, project, close } = await streamsProject();
    try {
      await streams.appendBatch("jobs", ["a", "b"]);
      await project.define("worker", {
        source: `
export async function run(stream) {
  const seen = [];
  let done;
  const finished = new Promise((r) => (done = r));
  const sub = await project.streams.subscribe(stream, (batch) => {
    for (const d of batch) seen.push(d.offset + ":" + d.event);
    if (seen.length >= 4) done();
  }, { after: "start" });
  const one = await project.streams.append(stream, "c");
  const two = await project.streams.appendBatch(stream, ["d"], { idempotencyKey: "once" });
  await finished;
  await project.streams.unsubscribe(sub.id);
  const page = await project.streams.read(stream, { after: 2 });
  return { sub: sub.after, one, two, seen, page: page.events.map((e) => e.event) };
}
export async function bad() {
  try { await project.streams.append("BAD", 1); } catch (e) { return e.message; }
}`,
      });
      expect(await project.call("worker", "run", "jobs")).toEqual({
        sub: 0,
        one: { offset: 3 },
        two: { first: 4, last: 4 },
        seen: ["1:a", "2:b", "3:c", "4:d"],
        page: ["c", "d"],
      });
      expect(await project.call("worker", "bad")).toMatch(/\[bad_request\] stream must be/);
      const rows = (await project.audit({ capability: "streams" })) as { method: string; caller: string }[];
      expect(rows.filter((r) => r.caller === "capability:worker").map((r) => r.method)).toEqual(["subscribe", "append", "appendBatch", "unsubscribe", "read", "append"]);
    } finally {
      close();
    }
  });

  it("is reached from REPL lines as project.streams", async () => {
    const { key, id, streams, project, close } = await streamsProject();
    const { repl } = await openRepl(id, { token: key });
    try {
      await repl!.next((m) => m.type === "ready");
      expect((await repl!.eval(`await project.streams.append("repl", { from: "line" })`)).final).toMatchObject({ type: "result", json: { offset: 1 } });
      const sub = await repl!.eval(`
        const got = [];
        const sub = await project.streams.subscribe("repl", (batch) => { got.push(...batch.map((d) => d.offset)); }, { after: "start" });
        await project.streams.appendBatch("repl", [2, 3]);
        while (got.length < 3) await new Promise((r) => setTimeout(r, 5));
        await project.streams.unsubscribe(sub.id);
        got`);
      expect(sub.final).toMatchObject({ type: "result", json: [1, 2, 3] });
      expect(((await streams.read("repl")) as Page).events.map((e) => e.event)).toEqual([{ from: "line" }, 2, 3]);
      const rows = (await project.audit({ capability: "streams" })) as { method: string; caller: string }[];
      expect(rows.filter((r) => r.caller.startsWith("repl:")).map((r) => r.method)).toEqual(["append", "subscribe", "appendBatch", "unsubscribe"]);
    } finally {
      repl!.close();
      close();
    }
  });
});
