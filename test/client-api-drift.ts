// A type-level test, checked by `tsc` in `npm test` (nothing runs): the client's interfaces in
// client/types.ts must name exactly the public members of the server classes they mirror,
// and the data types must be the server's own. Adding, renaming or removing a method on either
// side without the other fails the type-check here, naming the pair that drifted.
import type { AuditRow as ServerAuditRow } from "../actors/audit";
import type { CapabilityInfo as ServerCapabilityInfo } from "../actors/project-actor";
import type { ReplOutcome as ServerReplOutcome } from "../actors/repl/eval-line";
import type { HistoryEntry as ServerHistoryEntry } from "../actors/repl/store";
import type { StoredEvent as ServerStoredEvent } from "../actors/streams/store";
import type { SubscriptionEnd as ServerSubscriptionEnd } from "../actors/streams/subscriptions";
import type { SecretInfo as ServerSecretInfo } from "../isolates/secrets/store";
import type { KeyInfo as ServerKeyInfo, MintedKey as ServerMintedKey } from "../src/auth/api-keys";
import type { ProjectInfo as ServerProjectInfo } from "../src/projects";
import type { Approval as ServerApproval, ApprovalEvent as ServerApprovalEvent } from "../actors/egress/approvals";
import type { EgressPolicy as ServerEgressPolicy } from "../core/egress-policy";
import type { SecretBinding as ServerSecretBinding } from "../core/host-binding";
import type { Gate, Project, Session, ShadowHandle } from "../src/rpc/api";
import type { ApprovalWatch } from "../src/rpc/approval-watch";
import type { ReplSession } from "../src/rpc/repl-session";
import type { Streams, Subscription } from "../src/rpc/streams-api";
import type * as Client from "../client/types";


type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Mutual assignability: for data, where `A & B` and its flattened form should count as one. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Expect<T extends true> = T;
/** The string-named members: what a peer can call. (Private and #fields are not in keyof.) */
type Members<T> = Extract<keyof T, string>;
/** Names on one side only; `never` when the two agree. */
type Drift<Server, ClientSide> = Exclude<Members<Server>, Members<ClientSide>> | Exclude<Members<ClientSide>, Members<Server>>;
type NoDrift<Server, ClientSide> = Equal<Drift<Server, ClientSide>, never>;

export type Checks = [
  Expect<NoDrift<Gate, Client.GateApi>>,
  Expect<NoDrift<Session, Client.SessionApi>>,
  Expect<NoDrift<Project, Client.ProjectApi>>,
  Expect<NoDrift<ShadowHandle, Client.ShadowHandleApi>>,
  Expect<NoDrift<ReplSession, Client.ReplSessionApi>>,
  Expect<NoDrift<Streams, Client.StreamsApi>>,
  Expect<NoDrift<Subscription, Client.SubscriptionApi>>,
  Expect<NoDrift<ApprovalWatch, Client.ApprovalWatchApi>>,
  Expect<Same<ServerProjectInfo, Client.ProjectInfo>>,
  Expect<Same<ServerCapabilityInfo, Client.CapabilityInfo>>,
  Expect<Same<ServerAuditRow, Client.AuditRow>>,
  Expect<Same<ServerReplOutcome, Client.ReplOutcome>>,
  Expect<Same<ServerHistoryEntry, Client.ReplHistoryEntry>>,
  Expect<Same<ServerStoredEvent, Client.StoredEvent>>,
  Expect<Same<ServerSubscriptionEnd, Client.SubscriptionEnd>>,
  Expect<Same<ServerSecretInfo, Client.SecretInfo>>,
  Expect<Same<ServerSecretBinding, Client.SecretBinding>>,
  Expect<Same<ServerEgressPolicy, Client.EgressPolicy>>,
  Expect<Same<ServerApproval, Client.Approval>>,
  Expect<Same<ServerApprovalEvent, Client.ApprovalEvent>>,
  Expect<Same<ServerKeyInfo, Client.KeyInfo>>,
  Expect<Same<ServerMintedKey, Client.MintedKey>>,
  // Session.whoami answers synchronously on the server; a client awaits it like any call.
  Expect<Equal<ReturnType<Session["whoami"]>, ReturnType<Client.SessionApi["whoami"]>>>,
];
