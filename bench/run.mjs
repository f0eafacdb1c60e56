// `npm run bench` runs every scenario; `npm run bench -- egress` runs the one named. Each
// scenario prints a markdown table and writes bench/results/<name>.json. All the Workers and
// servers are started here (through lib/infra.mjs) and stopped here, whatever happens.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { createInfra } from "./lib/infra.mjs";
import { readOptions } from "./lib/options.mjs";
import { SCENARIOS } from "./scenarios/index.mjs";

const RESULTS = fileURLToPath(new URL("./results/", import.meta.url));

/** Which code was measured: the commit, and whether uncommitted edits were part of it. */
function repoState(ref) {
  const git = (...args) => execFileSync("git", args, { cwd: fileURLToPath(new URL("..", import.meta.url)), encoding: "utf8" }).trim();
  try {
    if (ref) return { commit: git("rev-parse", "--verify", `${ref}^{commit}`), dirty: false, ref };
    return { commit: git("rev-parse", "HEAD"), dirty: git("status", "--porcelain").length > 0 };
  } catch {
    if (ref) throw new Error(`BENCH_REF=${ref} is not a commit in this repository`);
    return { commit: null, dirty: null };
  }
}

function selectScenarios(names) {
  if (!names.length) return SCENARIOS;
  return names.map((n) => {
    const s = SCENARIOS.find((x) => x.name === n);
    if (!s) throw new Error(`no scenario "${n}"; known: ${SCENARIOS.map((x) => x.name).join(", ")}`);
    return s;
  });
}

async function main() {
  let scenarios, options, repo;
  try {
    scenarios = selectScenarios(process.argv.slice(2));
    options = readOptions();
    repo = repoState(options.ref); // before any snapshot of the working tree is taken
  } catch (err) {
    console.error(`[bench] ${err.message}`);
    process.exit(2);
  }
  const infra = createInfra({ ref: options.ref });
  let stopping = false;
  const stop = async (code, keepTmp) => {
    if (stopping) return;
    stopping = true;
    await infra.close({ keepTmp });
    if (keepTmp) console.error(`wrangler logs kept in ${infra.tmp}`);
    process.exit(code);
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => {
      console.error(`\n${signal}: stopping the dev servers`);
      void stop(130, false);
    });
  }

  try {
    mkdirSync(RESULTS, { recursive: true });
    for (const scenario of scenarios) {
      console.error(`[bench] ${scenario.name}: starting (N=${options.iterations}, warm-up ${options.warmup}, ${options.concurrency} in flight)`);
      const started = Date.now();
      const result = await scenario.run(infra, options);
      const record = {
        scenario: scenario.name,
        title: scenario.title,
        date: new Date().toISOString(),
        seconds: (Date.now() - started) / 1000,
        repo,
        machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, loadavg: loadavg() },
        options,
        ...result.json,
        table: result.table,
      };
      writeFileSync(`${RESULTS}${scenario.name}.json`, `${JSON.stringify(record, null, 2)}\n`);
      console.log(`\n### ${scenario.title}\n\n${result.table}\n`);
      console.error(`[bench] ${scenario.name}: ${record.seconds.toFixed(1)}s, wrote bench/results/${scenario.name}.json`);
    }
  } catch (err) {
    if (stopping) return; // interrupted: the servers going away is what made the scenario fail
    console.error(`[bench] failed: ${err instanceof Error ? err.stack : err}`);
    await stop(1, true);
  }
  await stop(0, false);
}

await main();
