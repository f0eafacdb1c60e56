// The Agents SDK peer: installed into bench/peers/agents on first use (so the project's own
// install does not carry it), started with `wrangler dev`, and driven with the SDK's own wire
// protocol over one WebSocket ({type:"rpc", id, method, args} → {type:"rpc", id, success, result}).
import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startDev } from "./wrangler.mjs";

const PEER = fileURLToPath(new URL("../peers/agents/", import.meta.url));

export async function startAgentsPeer(tmp) {
  if (!existsSync(join(PEER, "node_modules", "agents"))) {
    console.error("[bench] agents: installing the Agents SDK peer into bench/peers/agents (once)");
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: PEER, stdio: "inherit" });
  }
  return startDev({
    name: "agents",
    args: ["--config", join(PEER, "wrangler.jsonc"), "--persist-to", join(tmp, "agents-state")],
    logPath: join(tmp, "agents.log"),
  });
}

/** One WebSocket to the agent instance `name`; call(method, ...args) resolves with the result. */
export async function connectAgent(url, name) {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/agents/echo-agent/${name}`);
  const pending = new Map();
  let seq = 0;
  ws.addEventListener("message", (event) => {
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch {
      return;
    }
    if (msg.type !== "rpc" || !pending.has(msg.id)) return;
    const p = pending.get(msg.id);
    if (!msg.success) {
      pending.delete(msg.id);
      p.reject(new Error(msg.error));
    } else if (msg.done !== false) {
      pending.delete(msg.id);
      p.resolve(msg.result);
    }
  });
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", () => reject(new Error(`agents: cannot open ${ws.url}`)), { once: true });
  });
  return {
    call(method, ...args) {
      const id = `c${++seq}`;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        ws.send(JSON.stringify({ type: "rpc", id, method, args }));
      });
    },
    close: () => ws.close(),
  };
}
