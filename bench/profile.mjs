// `npm run bench:profile -- <workload>`: a CPU profile of Capstan's Worker (front door, actor
// and EgressPipe share one isolate under wrangler dev) while a capnweb client repeats one
// operation. Prints where the isolate's time went, by function, and writes the profile to
// bench/results/profile-<workload>.cpuprofile (open it in Chrome DevTools, Performance tab).
// Like the scenarios it starts everything itself and measures a snapshot of the working tree.
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { HttpApi } from "../dist/client/index.js";
import { connectRpc, newEgressProject } from "./lib/capstan.mjs";
import { createInfra } from "./lib/infra.mjs";
import { connectInspector, profile, summarise } from "./lib/inspector.mjs";
import { intFromEnv } from "./lib/options.mjs";
import { markdownTable } from "./lib/table.mjs";

const WORKLOADS = {
  /** A call on a lease: front door only, with its audit row sent in batches. */
  call: ({ project }) => (i) => project.call("ping", "echo", { i }),
  /** A stream append: a dispatch through the actor, its SQLite transaction and audit row. */
  append: ({ project }) => {
    const streams = project.streams();
    return (i) => streams.append("profile", { i });
  },
  /** project.fetch of a 1 KiB body with one secret substituted and scrubbed. */
  fetch: ({ project, upstream }) => async () => {
    const res = await project.fetch(`${upstream.url}/profile`, { headers: { authorization: 'Bearer getSecret("BENCH")' } });
    await res.arrayBuffer();
  },
  /** project.fetch of a 10 MiB body, scrubbed on its way, over the socket. */
  "fetch-10mib": ({ project, upstream }) => async () => {
    const res = await project.fetch(`${upstream.url}/size/${10 << 20}/profile`, { headers: { authorization: 'Bearer getSecret("BENCH")' } });
    await res.arrayBuffer();
  },
  /** The same over HTTP (POST /v1/projects/:id/fetch), as project.fetch(…, { via: "http" }) sends it. */
  "http-fetch-10mib": ({ http, projectId, upstream }) => async () => {
    const res = await http.fetch(projectId, `${upstream.url}/size/${10 << 20}/profile`, { headers: { authorization: 'Bearer getSecret("BENCH")' } });
    await res.arrayBuffer();
  },
  /** A read of the audit log through the actor. */
  audit: ({ project }) => () => project.audit({ limit: 50 }),
};

const name = process.argv[2];
if (!WORKLOADS[name]) {
  console.error(`usage: npm run bench:profile -- <${Object.keys(WORKLOADS).join("|")}>`);
  process.exit(2);
}
const n = intFromEnv("BENCH_PROFILE_N", 3000);
const infra = createInfra({ ref: process.env.BENCH_REF || null });
let failed = false;
// Interrupted, or its output closed early (piped into head): the dev servers must not outlive it.
const stop = async (code) => {
  await infra.close();
  process.exit(code);
};
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => void stop(130));
process.stdout.on("error", () => void stop(1));
try {
  const [capstan, upstream] = await Promise.all([infra.capstan(), infra.upstream()]);
  const { key, projectId } = await newEgressProject(capstan, upstream, "profile");
  const rpc = connectRpc(capstan.url, key);
  const inspector = await connectInspector(capstan.inspectorPort);
  try {
    const project = await rpc.session.project(projectId);
    const once = WORKLOADS[name]({ project, upstream, projectId, http: new HttpApi({ url: capstan.url, token: key }) });
    for (let i = 0; i < Math.min(300, n); i++) await once(i); // warm: leases, JIT, caches
    let ms = 0;
    const prof = await profile(inspector, async () => {
      const t = performance.now();
      for (let i = 0; i < n; i++) await once(i);
      ms = performance.now() - t;
    });
    const out = fileURLToPath(new URL(`./results/profile-${name}.cpuprofile`, import.meta.url));
    mkdirSync(fileURLToPath(new URL("./results/", import.meta.url)), { recursive: true });
    writeFileSync(out, JSON.stringify(prof));
    const rows = summarise(prof);
    console.log(`\n### Profile: ${name}, ${n} sequential operations, ${(ms / n).toFixed(3)} ms each\n`);
    console.log(markdownTable(["self %", "function (bundle line)", "most often called from"], rows.map((r) => [r.selfPct.toFixed(1), `\`${r.fn}\``, r.via === "–" ? "–" : `\`${r.via}\``])));
    console.log(`\n(idle) is the isolate waiting; (program) is the runtime outside JS. Wrote ${out}`);
  } finally {
    inspector.close();
    rpc.close();
  }
} catch (err) {
  failed = true;
  console.error(`[bench] profile failed: ${err.stack ?? err}`);
} finally {
  await infra.close({ keepTmp: failed });
}
process.exit(failed ? 1 : 0);
