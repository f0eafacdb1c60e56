// The typed Node client: `import { connect } from "capstan/client"`. See docs/client.md.
export { connect, CapstanClient, ProjectClient, ReplClient, StreamsClient, type FetchOptions } from "./client.js";
export type { ConnectOptions, ConnectionState, Heartbeat } from "./connection.js";
export type { Backoff } from "./backoff.js";
export { CapstanError, parseWireError, toCapstanError, type ErrorCode } from "./errors.js";
export { HttpApi } from "./http.js";
export { StreamSubscription, type ClientSubscriptionEnd, type ClientEndReason } from "./subscription.js";
export { ReplSocket, type ReplServerMessage } from "./repl-socket.js";
export type * from "./types.js";
