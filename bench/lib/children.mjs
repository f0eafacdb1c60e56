// Every child process the bench starts is registered here, so that it is killed when the bench
// ends, fails or is interrupted. wrangler dev starts workerd (and esbuild) under itself, so each
// child is spawned as the leader of its own process group and the whole group is signalled.
import { spawn } from "node:child_process";

const live = new Set();

/** spawn() in a new process group that is remembered until it exits. */
export function spawnTracked(command, args, options = {}) {
  const child = spawn(command, args, { ...options, detached: true });
  live.add(child);
  child.on("exit", () => live.delete(child));
  return child;
}

function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** Asks each group to stop, then kills whatever is still there after a grace period. */
export async function stopAll(graceMs = 3000) {
  const children = [...live];
  for (const c of children) signalGroup(c, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (live.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  // workerd may outlive its wrangler parent; the group kill reaches it even then.
  for (const c of children) signalGroup(c, "SIGKILL");
  live.clear();
}

/** Last resort on any exit path: 'exit' handlers must be synchronous, so no grace period. */
process.on("exit", () => {
  for (const c of live) signalGroup(c, "SIGKILL");
});
