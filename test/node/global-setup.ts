// Runs in Node before the workerd tests: starts the loopback upstreams and hands their URLs in.
import type { TestProject } from "vitest/node";
import { startUpstream } from "./upstream";

export default async function setup(project: TestProject) {
  const a = await startUpstream();
  const b = await startUpstream();
  project.provide("upstream", a.url);
  project.provide("otherUpstream", b.url);
  return async () => {
    a.server.close();
    b.server.close();
  };
}
