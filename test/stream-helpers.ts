// Shared by the streams suites: a project reached over a real capnweb WebSocket session, and
// small waiting helpers (deliveries arrive asynchronously, after the append that caused them).
import type { RpcStub } from "capnweb";
import { env } from "cloudflare:workers";
import type { StoredEvent } from "../actors/streams/store";
import type { SubscriptionEnd } from "../actors/streams/subscriptions";
import type { Streams } from "../src/rpc/streams-api";
import { connect, newUser } from "./helpers";

export type Delivery = StoredEvent;
export type SubscriptionStub = { id: Promise<string>; after: Promise<number>; unsubscribe(): Promise<SubscriptionEnd>; closed(): Promise<SubscriptionEnd> };
export type StreamsStub = Omit<RpcStub<Streams>, "subscribe"> & {
  subscribe(stream: unknown, callback: unknown, options?: unknown): Promise<SubscriptionStub>;
};

export async function streamsProject(name = "streams") {
  const { key } = await newUser();
  const c = await connect(key);
  const { id } = await c.session.createProject(name);
  const project = c.session.project(id);
  return { key, id, project, streams: project.streams() as unknown as StreamsStub, close: c.close };
}

/** Another session of the same user on the same project. */
export async function another(key: string, id: string) {
  const c = await connect(key);
  const project = c.session.project(id);
  return { project, streams: project.streams() as unknown as StreamsStub, close: c.close };
}

export function actorOf(id: string) {
  return env.PROJECT_ACTOR.get(env.PROJECT_ACTOR.idFromName(id));
}

export async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return { code: (e as { code: string }).code ?? "", message: (e as Error).message };
  }
  throw new Error("expected the call to fail");
}

export async function waitFor(what: string, test: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A callback that records every delivery, and the offsets, in arrival order. */
export function recorder() {
  const events: Delivery[] = [];
  const batches: number[] = [];
  const callback = (batch: Delivery[]) => {
    batches.push(batch.length);
    events.push(...batch);
  };
  return { events, batches, callback, offsets: () => events.map((e) => e.offset) };
}

export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
