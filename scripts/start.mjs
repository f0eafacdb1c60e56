// `npm start`: everything a new user needs to try Capstan locally, idempotently.
//   1. .dev.vars with fresh random SERVICE_TOKEN and SECRETS_KEY, written once (mode 0600)
//   2. local D1 migrations applied
//   3. the runtime started in workerd (wrangler dev) on localhost
//   4. a demo user, project and API key ensured through the real API, then printed
// The demo's key is kept in .wrangler/demo.json (mode 0600) so a restart prints the same one.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";

const PORT = Number(process.env.PORT ?? 8787);
const URL_BASE = `http://127.0.0.1:${PORT}`;
const DEMO_FILE = ".wrangler/demo.json";
const childEnv = { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" };

function ensureDevVars() {
  if (existsSync(".dev.vars")) return;
  const vars = [
    `SERVICE_TOKEN=${randomBytes(32).toString("base64url")}`,
    `SECRETS_KEY=${randomBytes(32).toString("base64")}`,
  ].join("\n");
  writeFileSync(".dev.vars", `${vars}\n`, { mode: 0o600 });
  console.log("wrote .dev.vars with a fresh SERVICE_TOKEN and SECRETS_KEY");
}

function devVar(name) {
  const line = readFileSync(".dev.vars", "utf8").split("\n").find((l) => l.startsWith(`${name}=`));
  if (!line) throw new Error(`.dev.vars has no ${name}; delete the file to have a new one written`);
  return line.slice(name.length + 1).trim();
}

function migrate() {
  const r = spawnSync("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local"], { env: childEnv, stdio: "inherit" });
  if (r.status !== 0) throw new Error("applying local D1 migrations failed");
}

async function waitForHealth(child) {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`${URL_BASE}/healthz`);
      if (res.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the runtime did not answer ${URL_BASE}/healthz within 60 s`);
}

async function api(path, token, init = {}) {
  const res = await fetch(`${URL_BASE}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...init.headers },
  });
  const body = res.status === 204 ? null : await res.json();
  return { status: res.status, body };
}

async function ensureDemo() {
  if (existsSync(DEMO_FILE)) {
    const demo = JSON.parse(readFileSync(DEMO_FILE, "utf8"));
    const { status, body } = await api("/v1/projects", demo.key);
    if (status === 200 && body.some((p) => p.id === demo.projectId)) return demo;
  }
  const user = await api("/internal/users", devVar("SERVICE_TOKEN"), { method: "POST" });
  if (user.status !== 201) throw new Error(`creating the demo user failed: ${user.status} ${JSON.stringify(user.body)}`);
  const project = await api("/v1/projects", user.body.key, { method: "POST", body: JSON.stringify({ name: "demo" }) });
  if (project.status !== 201) throw new Error(`creating the demo project failed: ${project.status} ${JSON.stringify(project.body)}`);
  const demo = { userId: user.body.userId, key: user.body.key, projectId: project.body.id };
  mkdirSync(".wrangler", { recursive: true });
  writeFileSync(DEMO_FILE, JSON.stringify(demo, null, 2), { mode: 0o600 });
  chmodSync(DEMO_FILE, 0o600);
  return demo;
}

ensureDevVars();
migrate();
const dev = spawn("npx", ["wrangler", "dev", "--ip", "127.0.0.1", "--port", String(PORT)], { env: childEnv, stdio: ["ignore", "inherit", "inherit"] });
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => dev.kill(sig));
dev.on("exit", (code) => process.exit(code ?? 0));
try {
  await waitForHealth(dev);
  const demo = await ensureDemo();
  console.log(`
Capstan is running.
  URL:        ${URL_BASE}
  project id: ${demo.projectId}
  API key:    ${demo.key}

Try:  curl -H "authorization: Bearer ${demo.key}" ${URL_BASE}/v1/projects
Stop with Ctrl-C.
`);
} catch (err) {
  console.error(`npm start failed: ${err.message}`);
  dev.kill("SIGTERM");
  process.exitCode = 1;
}
