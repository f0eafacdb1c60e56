// Shapes shared by the actor's dispatch and those who call it over Workers RPC.

export type CapabilityKind = "builtin" | "source" | "shadow";

/** Who made a call. Set by trusted code (the front door, or an entrypoint's props), never by the caller. */
export type Caller = { kind: "session" | "http" | "isolate" | "repl" | "capability"; id: string };
