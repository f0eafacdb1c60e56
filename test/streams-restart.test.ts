// Streams live in the actor's SQLite and survive its restart; live subscriptions do not, and
// their clients are told so, with the offset to resubscribe from. (abortAllDurableObjects
// restarts every actor this file's Worker holds, which is why this suite has a file of its own.)
import { abortAllDurableObjects, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { actorOf, range, recorder, streamsProject, waitFor } from "./stream-helpers";

describe("streams across an actor restart", () => {
  it("keep every event, continue the offsets and remember idempotency keys", async () => {
    const { id, streams, close } = await streamsProject();
    try {
      await streams.appendBatch("durable", range(1, 50));
      expect(await streams.append("durable", "keyed", { idempotencyKey: "k" })).toEqual({ offset: 51 });
      const actor = actorOf(id);
      // A mark on the running instance shows that the eviction really replaced it.
      await runInDurableObject(actor, (instance) => void Object.assign(instance, { mark: 1 }));
      await evictDurableObject(actor);
      expect(await runInDurableObject(actor, (instance) => (instance as unknown as { mark?: number }).mark)).toBeUndefined();
      const page = (await streams.read("durable", { limit: 1000 })) as { events: { offset: number; event: unknown }[] };
      expect(page.events.map((e) => e.offset)).toEqual(range(1, 51));
      expect(page.events.map((e) => e.event)).toEqual([...range(1, 50), "keyed"]);
      expect(await streams.append("durable", "keyed", { idempotencyKey: "k" })).toEqual({ offset: 51 });
      expect(await streams.append("durable", "next")).toEqual({ offset: 52 });
      expect(await streams.appendBatch("durable", ["a", "b"])).toEqual({ first: 53, last: 54 });
    } finally {
      close();
    }
  });

  it("end live subscriptions as actor_restarted, and a resubscription from the last offset misses nothing", async () => {
    const { streams, close } = await streamsProject();
    try {
      const first = recorder();
      const sub = await streams.subscribe("r", first.callback, { after: "start" });
      await streams.appendBatch("r", range(1, 10));
      await waitFor("ten events", () => first.events.length === 10);
      await abortAllDurableObjects();
      const end = await sub.closed();
      expect(end).toMatchObject({ reason: "actor_restarted", after: 10 });
      expect(await streams.appendBatch("r", range(11, 15))).toEqual({ first: 11, last: 15 });
      const second = recorder();
      await streams.subscribe("r", second.callback, { after: end.after });
      await waitFor("the rest", () => second.events.length === 5);
      expect([...first.offsets(), ...second.offsets()]).toEqual(range(1, 15));
      // The old handle is inert: unsubscribing it changes nothing.
      expect(await sub.unsubscribe()).toEqual(end);
    } finally {
      close();
    }
  });

  it("keep a client session usable after its actor is reset: at most the first call fails", async () => {
    const { streams, close } = await streamsProject();
    try {
      expect(await streams.append("k", 1)).toEqual({ offset: 1 });
      await abortAllDurableObjects();
      const first = await streams.append("k", 2).then(
        (r) => r,
        (e: { code: string }) => e.code,
      );
      expect([{ offset: 2 }, "internal"]).toContainEqual(first);
      const second = (await streams.append("k", 3)) as { offset: number };
      expect(second.offset).toBe(first === "internal" ? 2 : 3);
    } finally {
      close();
    }
  });
});
