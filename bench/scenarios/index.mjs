// The scenarios `npm run bench` knows, in the order a full run takes them. A scenario is
// { name, title, run(infra, options) → { table, json } }; add new ones here.
import calls from "./calls.mjs";
import egress from "./egress.mjs";
import egressScrub from "./egress-scrub.mjs";
import fanout from "./fanout.mjs";
import repl from "./repl.mjs";
import streams from "./streams.mjs";

export const SCENARIOS = [egress, egressScrub, calls, repl, streams, fanout];
