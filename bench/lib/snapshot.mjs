// A frozen copy of the repo's Worker for the bench to run. `wrangler dev` watches every file
// in the bundle (and the config) and reloads the Worker when one changes; a reload drops open
// WebSockets (capnweb then fails with "Peer closed WebSocket: 1006"), and the code measured
// would change halfway through a run. Running from a copy taken at start-up measures exactly
// one version of the code, whatever is being edited meanwhile.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./wrangler.mjs";

// Not copied: dependencies (linked instead), history, wrangler's own state and the bench.
const SKIP = new Set(["node_modules", ".git", ".wrangler", ".dev.vars", "bench"]);

/**
 * Copies the Worker into `dir` and returns `dir`. With `ref` (a commit, branch or tag) the copy
 * is that commit's tree; without, it is the working tree as it is now, edits included.
 */
export function snapshotRepo(dir, ref) {
  mkdirSync(dir, { recursive: true });
  if (ref) {
    const tar = execFileSync("git", ["archive", "--format=tar", ref], { cwd: ROOT, maxBuffer: 256 * 1024 * 1024 });
    execFileSync("tar", ["-x", "-C", dir], { input: tar });
  } else {
    for (const entry of readdirSync(ROOT)) {
      if (SKIP.has(entry) || entry.startsWith(".env")) continue;
      cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
    }
  }
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}
