// Runs the repo's own wrangler (the same one `npx wrangler` runs) with the Node that runs the
// bench, non-interactively, and starts `wrangler dev` servers that count as ready only once
// they answer GET /healthz with {"ok":true}.
import { createWriteStream } from "node:fs";
import { fileURLToPath } from "node:url";
import { spawnTracked } from "./children.mjs";
import { freePort } from "./ports.mjs";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const WRANGLER = fileURLToPath(new URL("../../node_modules/wrangler/bin/wrangler.js", import.meta.url));

// CI=true makes wrangler skip prompts (migrations apply asks for confirmation otherwise);
// no metrics leave the machine, and Miniflare does not try to download Request.cf data.
const ENV = { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" };
const ANSI = /\x1b\[[0-9;]*m/g;
const LOG_LEVEL = process.env.BENCH_WRANGLER_LOG_LEVEL || "warn";

/** Starts wrangler with its output going to `logPath`; keeps the tail for error messages. */
function startWrangler(args, logPath, cwd = ROOT) {
  const child = spawnTracked(process.execPath, [WRANGLER, ...args], { cwd, env: ENV, stdio: ["ignore", "pipe", "pipe"] });
  const log = createWriteStream(logPath);
  const tail = [];
  let buildFailed = false;
  const keep = (chunk) => {
    const text = chunk.toString().replace(ANSI, ""); // esbuild's errors come coloured regardless
    log.write(text);
    buildFailed ||= text.includes("Build failed");
    tail.push(...text.split("\n").filter(Boolean));
    tail.splice(0, Math.max(0, tail.length - 40));
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  child.on("exit", () => log.end());
  return { child, tail: () => tail.join("\n"), buildFailed: () => buildFailed };
}

/** Runs a wrangler command to completion; throws with its output when it fails. */
export function runWrangler(args, logPath, cwd) {
  const { child, tail } = startWrangler(args, logPath, cwd);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`wrangler ${args.join(" ")} failed (${signal ?? code}):\n${tail()}`));
    });
  });
}

/**
 * `wrangler dev` on a free loopback port, run in `cwd`. `args` are the extra flags (config,
 * persistence, env file). Logging defaults to warnings only, so the log is not a line per
 * request; BENCH_WRANGLER_LOG_LEVEL=info (or debug) shows more when a run misbehaves.
 */
export async function startDev({ name, args, logPath, cwd, timeoutMs = 120_000 }) {
  const port = await freePort();
  const inspectorPort = await freePort(); // two dev servers would otherwise both want 9229
  const { child, tail, buildFailed } = startWrangler(
    ["dev", ...args, "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort),
      "--show-interactive-dev-session=false", "--log-level", LOG_LEVEL],
    logPath,
    cwd,
  );
  const url = `http://127.0.0.1:${port}`;
  console.error(`[bench] ${name}: wrangler dev pid ${child.pid} on ${port}, log ${logPath}`);
  let exited = null;
  child.on("exit", (code, signal) => (exited = signal ?? code));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== null) throw new Error(`${name}: wrangler dev exited (${exited}) before it was ready:\n${tail()}`);
    // wrangler dev keeps running after a failed build, waiting for an edit; the bench cannot wait.
    if (buildFailed()) throw new Error(`${name}: the Worker does not build:\n${tail()}`);
    if (await healthy(url)) return { name, url, port, inspectorPort, child };
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${name}: no {"ok":true} from ${url}/healthz within ${timeoutMs / 1000}s:\n${tail()}`);
}

async function healthy(url) {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
    const body = await res.json();
    return res.ok && body?.ok === true;
  } catch {
    return false;
  }
}
