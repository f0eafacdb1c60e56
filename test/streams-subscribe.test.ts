// Live subscriptions: replay from a cursor then live, in order and exactly once; unsubscribe;
// a failing, vanished, slow or stuck subscriber is dealt with alone, and costs bounded memory.
import { describe, expect, it } from "vitest";
import { DELIVERY_MAX_EVENTS, MAX_SUBSCRIPTIONS } from "../actors/streams/limits";
import { actorOf, another, failure, range, recorder, sleep, streamsProject, waitFor, type Delivery, type StreamsStub, type SubscriptionStub } from "./stream-helpers";

describe("streams: subscribe", () => {
  it("replay from the cursor hands over to live delivery with no gap and no duplicate while appends race it", async () => {
    const { key, id, streams, close } = await streamsProject();
    const writer = await another(key, id);
    try {
      await streams.appendBatch("feed", range(1, 1000).map((i) => ({ i })));
      let racerAppended = 0;
      const raceSeen: number[] = [];
      // Slow enough that the replay of 1000 events is still under way while the racer appends.
      const fromStart = recorder();
      const slowStart = async (batch: Delivery[]) => {
        raceSeen.push(racerAppended);
        fromStart.callback(batch);
        await sleep(15);
      };
      const middle = recorder();
      const [subStart, subMiddle] = await Promise.all([
        streams.subscribe("feed", slowStart, { after: "start" }),
        streams.subscribe("feed", middle.callback, { after: 500 }),
      ]);
      expect(await subStart.after).toBe(0);
      expect(await subMiddle.after).toBe(500);
      let fromEnd: { rec: ReturnType<typeof recorder>; after: number } | undefined;
      const racer = (async () => {
        for (let i = 0; i < 200; i++) {
          await writer.streams.append("feed", { racer: i });
          racerAppended++;
          if (i === 100) {
            const rec = recorder();
            const sub = await streams.subscribe("feed", rec.callback, { after: "end" });
            fromEnd = { rec, after: await sub.after };
          }
        }
        await writer.streams.appendBatch("feed", range(1, 100).map((i) => ({ tail: i })));
      })();
      await racer;
      await waitFor("every subscriber to reach offset 1300", () =>
        [fromStart, middle, fromEnd!.rec].every((r) => r.events.at(-1)?.offset === 1300),
      );
      expect(fromStart.offsets()).toEqual(range(1, 1300));
      expect(middle.offsets()).toEqual(range(501, 1300));
      expect(fromEnd!.after).toBeGreaterThanOrEqual(1101);
      expect(fromEnd!.rec.offsets()).toEqual(range(fromEnd!.after + 1, 1300));
      // The replay really raced the appends: some batches of replayed offsets were delivered
      // after the racer had begun, and none of them held more than one delivery's worth.
      const replayBatchesDuringRace = raceSeen.filter((n, i) => n > 0 && i < 10).length;
      expect(replayBatchesDuringRace).toBeGreaterThan(0);
      expect(Math.max(...fromStart.batches)).toBeLessThanOrEqual(DELIVERY_MAX_EVENTS);
      // Events arrive as they were written.
      expect(fromStart.events[1000]!.event).toEqual({ racer: 0 });
      expect(fromStart.events.at(-1)!.event).toEqual({ tail: 100 });
    } finally {
      writer.close();
      close();
    }
  });

  it("unsubscribe stops delivery at once; a new subscription resumes from the last offset seen", async () => {
    const { streams, project, close } = await streamsProject();
    try {
      const rec = recorder();
      const sub = await streams.subscribe("u", rec.callback, { after: "start" });
      await streams.appendBatch("u", [1, 2, 3]);
      await waitFor("three events", () => rec.events.length === 3);
      const end = await sub.unsubscribe();
      expect(end).toEqual({ reason: "unsubscribed", message: "unsubscribed", after: 3 });
      expect(await sub.closed()).toEqual(end);
      expect(await sub.unsubscribe()).toEqual(end);
      await streams.appendBatch("u", [4, 5]);
      await sleep(100);
      expect(rec.offsets()).toEqual([1, 2, 3]);

      const resumed = recorder();
      await streams.subscribe("u", resumed.callback, { after: end.after });
      await waitFor("the rest", () => resumed.events.length === 2);
      expect(resumed.offsets()).toEqual([4, 5]);

      // The same through project.call and project.cap.
      const viaCall = recorder();
      const s2 = (await project.call("streams", "subscribe", "u", viaCall.callback, { after: 4 })) as unknown as { id: Promise<string>; unsubscribe(): Promise<unknown> };
      await waitFor("offset 5 via call", () => viaCall.events.length === 1);
      expect(await project.call("streams", "unsubscribe", await s2.id)).toBeUndefined();
      const cap = (await project.cap("streams")) as unknown as StreamsStub;
      expect(await cap.append("u", 6)).toEqual({ offset: 6 });
      await sleep(50);
      expect(viaCall.offsets()).toEqual([5]);
      expect(await actorOf(await project.id).streamStats()).toMatchObject({ subscriptions: 1, streams: { u: 1 } });
    } finally {
      close();
    }
  });

  it("cap live subscriptions per project: the one past the cap is refused and nothing changes; an unsubscribe makes room", async () => {
    const { id, streams, close } = await streamsProject();
    try {
      const noop = () => undefined;
      const subs: SubscriptionStub[] = [];
      for (let i = 0; i < MAX_SUBSCRIPTIONS; i += 100) {
        subs.push(...(await Promise.all(range(1, 100).map(() => streams.subscribe("capped", noop, { after: "end" })))));
      }
      expect(await actorOf(id).streamStats()).toMatchObject({ subscriptions: MAX_SUBSCRIPTIONS });
      const refused = await failure(streams.subscribe("capped", noop));
      expect(refused).toMatchObject({ code: "limit_exceeded" });
      expect(refused.message).toContain(`${MAX_SUBSCRIPTIONS} live subscriptions`);
      expect(await actorOf(id).streamStats()).toMatchObject({ subscriptions: MAX_SUBSCRIPTIONS });
      // Appends are not held up by a full house.
      expect(await streams.append("capped", 1)).toEqual({ offset: 1 });
      await subs[0]!.unsubscribe();
      const rec = recorder();
      await streams.subscribe("capped", rec.callback, { after: "start" });
      await waitFor("the event on the new subscription", () => rec.events.length === 1);
    } finally {
      close();
    }
  });

  it("drop a callback that throws, telling it why, without affecting other subscribers or appends", async () => {
    const { id, streams, close } = await streamsProject();
    try {
      let calls = 0;
      const thrower = async (batch: Delivery[]) => {
        if (++calls === 2) throw new Error(`boom at ${batch[0]!.offset}`);
      };
      const steady = recorder();
      const bad = await streams.subscribe("t", thrower);
      await streams.subscribe("t", steady.callback);
      for (let i = 1; i <= 5; i++) expect(await streams.append("t", i)).toEqual({ offset: i });
      const end = await bad.closed();
      expect(end).toMatchObject({ reason: "callback_failed", after: 1 });
      expect(end.message).toMatch(/boom at 2/);
      await waitFor("the steady subscriber to see all five", () => steady.events.length === 5);
      expect(steady.offsets()).toEqual([1, 2, 3, 4, 5]);
      expect(calls).toBe(2);
      expect(await actorOf(id).streamStats()).toMatchObject({ subscriptions: 1 });
    } finally {
      close();
    }
  });

  it("clean up the subscriptions of a session whose WebSocket closes, with no append needed to notice", async () => {
    const { key, id, streams, close } = await streamsProject();
    const leaving = await another(key, id);
    try {
      const stays = recorder();
      await streams.subscribe("b", stays.callback);
      await leaving.streams.subscribe("b", () => {});
      await leaving.streams.subscribe("c", () => {});
      expect(await actorOf(id).streamStats()).toMatchObject({ subscriptions: 3, streams: { b: 2, c: 1 } });
      leaving.close();
      await waitFor("the closed session's subscriptions to go", async () => (await actorOf(id).streamStats()).subscriptions === 1);
      expect(await actorOf(id).streamStats()).toMatchObject({ streams: { b: 1 } });
      expect(await streams.append("b", "still here")).toEqual({ offset: 1 });
      await waitFor("the remaining subscriber", () => stays.events.length === 1);
    } finally {
      close();
    }
  });

  it("give a slow subscriber back-pressure: one delivery outstanding, appends never wait for it, nothing lost", async () => {
    const { id, streams, close } = await streamsProject();
    try {
      let inFlight = 0;
      let maxInFlight = 0;
      const slow = recorder();
      const slowCallback = async (batch: Delivery[]) => {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        slow.callback(batch);
        await sleep(25);
        inFlight--;
      };
      const fast = recorder();
      await streams.subscribe("p", slowCallback, { after: "start" });
      await streams.subscribe("p", fast.callback, { after: "start" });
      const started = Date.now();
      for (let i = 0; i < 30; i++) await streams.appendBatch("p", range(1, 100).map((n) => i * 100 + n));
      for (let i = 0; i < 50; i++) await streams.append("p", 3000 + i + 1);
      const appendMs = Date.now() - started;
      // The writer finished long before the slow subscriber could have caught up.
      expect(slow.events.length).toBeLessThan(3050);
      const stats = await actorOf(id).streamStats();
      expect(stats.busy).toBeLessThanOrEqual(2);
      await waitFor("the slow subscriber to catch up", () => slow.events.length === 3050, 20_000);
      await waitFor("the fast subscriber", () => fast.events.length === 3050);
      expect(slow.offsets()).toEqual(range(1, 3050));
      expect(fast.offsets()).toEqual(range(1, 3050));
      expect(slow.events.map((e) => e.event)).toEqual(range(1, 3050));
      expect(maxInFlight).toBe(1);
      expect(Math.max(...slow.batches)).toBeLessThanOrEqual(DELIVERY_MAX_EVENTS);
      // Behind, it was sent full batches (catch-up reads from storage, not one call per event).
      expect(slow.batches.length).toBeLessThan(200);
      expect(appendMs).toBeLessThan(slow.batches.length * 25);
    } finally {
      close();
    }
  });

  it("drop a subscriber that does not acknowledge a delivery within its ack timeout", async () => {
    const { id, streams, close } = await streamsProject();
    try {
      const steady = recorder();
      const stuck = await streams.subscribe("s", () => new Promise(() => {}), { ackTimeoutMs: 200 });
      await streams.subscribe("s", steady.callback);
      const before = Date.now();
      await streams.appendBatch("s", [1, 2]);
      const end = await stuck.closed();
      expect(Date.now() - before).toBeGreaterThanOrEqual(190);
      expect(end).toEqual({ reason: "timeout", message: "the subscriber did not acknowledge a delivery within 200 ms", after: 0 });
      await streams.append("s", 3);
      await waitFor("the steady subscriber", () => steady.events.length === 3);
      expect(await actorOf(id).streamStats()).toMatchObject({ subscriptions: 1 });
    } finally {
      close();
    }
  });
});
