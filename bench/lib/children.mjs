// Every child process the bench starts is registered here, so that it is killed when the bench
// ends, fails or is interrupted. wrangler dev starts workerd (and esbuild) under itself, so each
// child is spawned as the leader of its own process group: the leader is asked to stop first,
// so that wrangler shuts workerd down and reaps it, and then the whole group is killed in case
// anything outlived it.
import { spawn } from "node:child_process";

const live = new Set();

/** spawn() in a new process group that is remembered until it exits. */
export function spawnTracked(command, args, options = {}) {
  const child = spawn(command, args, { ...options, detached: true });
  live.add(child);
  child.on("exit", () => live.delete(child));
  return child;
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/** Asks each leader to stop, then kills every group outright after a grace period. */
export async function stopAll(graceMs = 5000) {
  const children = [...live];
  for (const c of children) signal(c.pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (live.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const c of children) signal(-c.pid, "SIGKILL");
  live.clear();
}

/** Last resort on any exit path: 'exit' handlers must be synchronous, so no grace period. */
process.on("exit", () => {
  for (const c of live) signal(-c.pid, "SIGKILL");
});
