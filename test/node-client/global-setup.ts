// Runs in Node before the Node-side suites: builds the client and CLI into dist/ (so the CLI
// under test is the code in the tree), and starts one `wrangler dev` for the suites to share.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { ROOT, startDevServer } from "./dev-server";

export default async function setup(project: TestProject) {
  execFileSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: ROOT, stdio: "inherit" });
  const server = await startDevServer();
  // The tests' temporary files (config dirs, scripts, terminals) all go here, and go at the end.
  const tmpRoot = mkdtempSync(join(tmpdir(), "capstan-node-client-"));
  project.provide("capstanUrl", server.url);
  project.provide("serviceToken", server.serviceToken);
  project.provide("tmpRoot", tmpRoot);
  return async () => {
    await server.stop();
    rmSync(tmpRoot, { recursive: true, force: true });
  };
}
