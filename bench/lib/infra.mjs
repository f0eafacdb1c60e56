// What scenarios share in one run: a temp dir, the loopback upstream and the dev servers. Each
// piece starts the first time a scenario asks for it, so running one scenario by name starts
// only what that scenario needs, and scenarios that run together measure against the same
// upstream and the same Workers.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentsPeer } from "./agents-peer.mjs";
import { startCapstan } from "./capstan.mjs";
import { stopAll } from "./children.mjs";
import { startUpstream } from "./upstream.mjs";
import { startDev } from "./wrangler.mjs";

/** `ref`: measure Capstan as of this git commit instead of the working tree (BENCH_REF). */
export function createInfra({ ref } = {}) {
  const tmp = mkdtempSync(join(tmpdir(), "capstan-bench-"));
  const closers = [];
  const memo = (start) => {
    let started;
    return () => (started ??= start());
  };
  return {
    tmp,
    upstream: memo(async () => {
      const u = await startUpstream();
      closers.push(u.close);
      return u;
    }),
    capstan: memo(() => startCapstan(tmp, ref)),
    directWorker: memo(() =>
      startDev({
        name: "direct",
        args: ["--config", "bench/wrangler.direct.jsonc", "--persist-to", join(tmp, "direct-state")],
        logPath: join(tmp, "direct.log"),
      }),
    ),
    agentsPeer: memo(() => startAgentsPeer(tmp)),
    /** Stops every child and server; keeps the temp dir (with the wrangler logs) if asked. */
    async close({ keepTmp = false } = {}) {
      await stopAll();
      for (const close of closers.splice(0)) await close();
      if (!keepTmp) rmSync(tmp, { recursive: true, force: true });
    },
  };
}
