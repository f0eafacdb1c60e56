import type { Builtin } from "./builtin";
import { fetchBuiltin } from "./fetch";
import { pingBuiltin } from "./ping";
import { streamsBuiltin } from "./streams";

/** The platform's capabilities: always present, the last resort of every resolution. */
export const BUILTINS: Readonly<Record<string, Builtin>> = { fetch: fetchBuiltin, ping: pingBuiltin, streams: streamsBuiltin };
