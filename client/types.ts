// The capnweb API as a client sees it: one interface per server class in src/rpc/ (Gate,
// Session, Project, ShadowHandle, ReplSession, Streams, Subscription, ApprovalWatch), and the
// data they return.
// These are written out rather than imported so the client builds without the Worker's types;
// test/client-api-drift.ts fails the type-check when they and the server classes part ways.
import type { RpcTarget } from "capnweb";

export type ProjectInfo = { id: string; name: string; role: string; createdAt: string };
export type MemberRole = "owner" | "approver" | "member";
export type MemberInfo = { projectId: string; userId: string; role: MemberRole; addedAt: string };
export type CapabilityKind = "builtin" | "source" | "shadow";
export type CapabilityInfo = { name: string; kind: CapabilityKind; description: string; version: number; depth: number; methods: string[] };
/** Where a secret may be sent: a host pattern ("[scheme://]host[:port]"), or one narrowed further. */
export type SecretBinding = string | { host: string; ports?: number[]; paths?: string[]; methods?: string[] };
export type SecretInfo = { name: string; hosts: SecretBinding[]; updatedAt: string };
export type EgressDecision = "allow" | "deny" | "hold" | "approved" | "denied" | "timed_out";
export type EgressInfo = {
  method: string;
  host: string;
  path: string;
  status: number;
  secrets: string[];
  decision: EgressDecision | null;
  bytesOut: number | null;
  bytesIn: number | null;
  redirects: number | null;
};
export type AuditRow = {
  seq: number;
  at: string;
  capability: string;
  method: string;
  kind: CapabilityKind;
  caller: string;
  outcome: "ok" | "error";
  durationMs: number;
  errorCode: string | null;
  args: string[];
  /** Who ran the call: the project's actor, or the front door on a lease the actor lent it. */
  via: "actor" | "lease";
  egress: EgressInfo | null;
};
export type AuditQuery = { after?: number; limit?: number; capability?: string };

export type PolicyAction = "allow" | "deny" | "hold";
export type PolicyRule = { host: string; methods?: string[]; path?: string; action: PolicyAction };
export type EgressPolicy = { rules: PolicyRule[]; default: PolicyAction; holdTimeoutMs: number };
/** What setPolicy takes: the default and the hold timeout may be left to their defaults. */
export type EgressPolicyInput = { rules: PolicyRule[]; default?: PolicyAction; holdTimeoutMs?: number };
export type ApprovalState = "pending" | "approved" | "denied" | "timed_out" | "abandoned";
export type Approval = {
  id: string;
  requestedAt: string;
  expiresAt: string;
  method: string;
  host: string;
  path: string;
  secrets: string[];
  caller: string;
  state: ApprovalState;
  decidedBy: string | null;
  always?: boolean;
};
export type ApprovalEvent = { type: "held" | "decided"; approval: Approval };

export type ReplOutcome =
  | { type: "result"; value: string; json?: unknown; notes?: string[] }
  | { type: "error"; name: string; message: string; stack: string; code?: string };
export type ReplHistoryEntry = {
  seq: number;
  at: string;
  code: string;
  outcome: "ok" | "error";
  value?: string;
  error?: { name: string; message: string };
  durationMs: number;
};
export type ReplLogEntry = { level: string; args: string[] };

export type StoredEvent = { offset: number; event: unknown; at: string };
export type EndReason = "unsubscribed" | "callback_failed" | "timeout" | "session_closed" | "actor_restarted";
export type SubscriptionEnd = { reason: EndReason; message: string; after: number };
export type AppendOptions = { idempotencyKey?: string };
export type ReadOptions = { after?: number; limit?: number };
export type SubscribeOptions = { after?: number | "start" | "end"; ackTimeoutMs?: number };
export type ReadPage = { events: StoredEvent[]; next: number };

/** The main object of a connection made without a bearer header. */
export interface GateApi extends RpcTarget {
  authenticate(token: string): Promise<SessionApi>;
}

export interface SessionApi extends RpcTarget {
  whoami(): { userId: string; sessionId: string };
  projects(): Promise<ProjectInfo[]>;
  createProject(name: string): Promise<ProjectInfo>;
  project(id: string): Promise<ProjectApi>;
}

export interface ProjectApi extends RpcTarget {
  readonly id: string;
  readonly name: string;
  fetch(input: string | Request | URL, init?: RequestInit): Promise<Response>;
  capabilities(): Promise<CapabilityInfo[]>;
  define(name: string, options: { source: string; description?: string }): Promise<CapabilityInfo>;
  remove(name: string): Promise<void>;
  call(name: string, method: string, ...args: unknown[]): Promise<unknown>;
  streams(): StreamsApi;
  cap(name: string): Promise<RpcTarget>;
  shadow(name: string, target: RpcTarget): Promise<ShadowHandleApi>;
  revokeShadow(id: string): Promise<void>;
  setSecret(name: string, value: string, options: { hosts: SecretBinding[] }): Promise<void>;
  listSecrets(): Promise<SecretInfo[]>;
  deleteSecret(name: string): Promise<void>;
  repl(sessionId?: string): Promise<ReplSessionApi>;
  audit(options?: AuditQuery): Promise<AuditRow[]>;
  policy(): Promise<EgressPolicy>;
  setPolicy(policy: EgressPolicyInput): Promise<EgressPolicy>;
  approvals(): Promise<Approval[]>;
  approve(id: string, options?: { always?: boolean }): Promise<Approval>;
  deny(id: string): Promise<Approval>;
  watchApprovals(callback: (event: ApprovalEvent) => unknown): Promise<ApprovalWatchApi>;
}

export interface ApprovalWatchApi extends RpcTarget {
  readonly id: string;
  close(): Promise<void>;
}

export interface ShadowHandleApi extends RpcTarget {
  readonly id: string;
  readonly name: string;
  revoke(): Promise<void>;
}

export interface ReplSessionApi extends RpcTarget {
  readonly id: string;
  eval(code: string, onLog?: (entry: ReplLogEntry) => unknown): Promise<ReplOutcome>;
  cancel(): Promise<boolean>;
  history(): Promise<ReplHistoryEntry[]>;
  close(): Promise<void>;
}

export interface StreamsApi extends RpcTarget {
  append(stream: string, event: unknown, options?: AppendOptions): Promise<{ offset: number }>;
  appendBatch(stream: string, events: unknown[], options?: AppendOptions): Promise<{ first: number; last: number }>;
  read(stream: string, options?: ReadOptions): Promise<ReadPage>;
  subscribe(stream: string, callback: (events: StoredEvent[]) => unknown, options?: SubscribeOptions): Promise<SubscriptionApi>;
  unsubscribe(id: string): Promise<unknown>;
}

export interface SubscriptionApi extends RpcTarget {
  readonly id: string;
  readonly after: number;
  unsubscribe(): Promise<SubscriptionEnd>;
  closed(): Promise<SubscriptionEnd>;
}

/** An API key as `GET /v1/keys` lists it: never the key itself. */
export type KeyInfo = {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revoked: boolean;
};
/** The answer to `POST /v1/keys`: the only time the key is shown. */
export type MintedKey = { id: string; name: string; prefix: string; key: string };
