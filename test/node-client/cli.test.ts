// The `capstan` CLI as a user runs it, through stdin/stdout against a real `wrangler dev`:
// config precedence, login, projects, members, keys, secrets from stdin, fetch, run, and the one-line
// message and exit code of each expected failure.
import { createHash } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "./dev-server";
import { allowEgressTo, capstanUrl, cli, newProject, newUser, recordingUpstream, tempDir, type CliResult } from "./helpers";

let key: string;
let projectId: string;
let env: Record<string, string>;
beforeAll(async () => {
  key = (await newUser()).key;
  projectId = await newProject(key, "cli");
  env = { CAPSTAN_URL: capstanUrl(), CAPSTAN_TOKEN: key, CAPSTAN_PROJECT: projectId };
});

/** An expected failure: one line on stderr, no stack trace, nothing on stdout. */
function expectFailure(r: CliResult, code: number, message: RegExp) {
  expect(r.code).toBe(code);
  expect(r.stdout).toBe("");
  expect(r.stderr).toMatch(message);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe("help and usage", () => {
  it("prints help for the tool and for each command", async () => {
    const all = await cli(["--help"]);
    expect(all.code).toBe(0);
    for (const c of ["login", "projects", "members", "keys", "secrets", "fetch", "repl", "run"]) expect(all.stdout).toContain(c);
    const one = await cli(["secrets", "--help"]);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/capstan secrets set <NAME> --host/);
  });

  it("refuses bad usage with exit code 2", async () => {
    expectFailure(await cli(["frobnicate"]), 2, /unknown command "frobnicate"/);
    expectFailure(await cli(["projects", "list", "--colour"], { env }), 2, /Unknown option '--colour'/);
    expectFailure(await cli(["projects", "list"]), 2, /no server URL/);
    expectFailure(await cli(["projects", "list"], { env: { CAPSTAN_URL: capstanUrl() } }), 2, /no token/);
    expectFailure(await cli(["run", "/nonexistent/file.js"], { env }), 2, /cannot read \/nonexistent\/file\.js: ENOENT/);
  });
});

describe("expected failures", () => {
  it("a refused token: exit 4, and the token is not repeated", async () => {
    const r = await cli(["projects", "list"], { env: { ...env, CAPSTAN_TOKEN: "cap_wrong-token-value" } });
    expectFailure(r, 4, /the token was refused/);
    expect(r.stderr).not.toContain("cap_wrong-token-value");
  });

  it("a server that is not there: exit 3", async () => {
    const port = await freePort();
    expectFailure(await cli(["projects", "list"], { env: { ...env, CAPSTAN_URL: `http://127.0.0.1:${port}` } }), 3, /cannot reach http:\/\/127\.0\.0\.1/);
    const dir = tempDir("run");
    writeFileSync(join(dir, "a.js"), "1");
    expectFailure(await cli(["run", join(dir, "a.js")], { env: { ...env, CAPSTAN_URL: `http://127.0.0.1:${port}` } }), 3, /cannot reach http:\/\/127\.0\.0\.1/);
    expectFailure(await cli(["repl"], { env: { ...env, CAPSTAN_URL: `http://127.0.0.1:${port}` } }), 3, /cannot reach/);
  });

  it("a project that is not yours: exit 5", async () => {
    expectFailure(await cli(["secrets", "list", "--project", "prj_doesnotexist0000000000"], { env }), 5, /not_found/);
    const dir = tempDir("run");
    writeFileSync(join(dir, "a.js"), "1");
    expectFailure(await cli(["run", join(dir, "a.js"), "--project", "prj_doesnotexist0000000000"], { env }), 5, /not_found/);
  });
});

describe("config", () => {
  it("login checks the token and saves it, mode 0600; flags beat env, which beats the file", async () => {
    const dir = tempDir("login");
    const cfg = { CAPSTAN_CONFIG_DIR: dir };
    const bad = await cli(["login", "--url", capstanUrl()], { env: cfg, input: "cap_wrong\n" });
    expectFailure(bad, 4, /the token was refused/);

    const ok = await cli(["login", "--url", capstanUrl(), "--project", projectId], { env: cfg, input: `${key}\n` });
    expect(ok.code).toBe(0);
    expect(ok.stdout + ok.stderr).not.toContain(key);
    const file = join(dir, "config.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ url: capstanUrl(), token: key, project: projectId });

    // The file alone is enough.
    const listed = await cli(["projects", "list", "--json"], { env: cfg });
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).map((p: { id: string }) => p.id)).toContain(projectId);
    expect(listed.stdout).not.toContain(key);
    // The environment beats the file...
    expectFailure(await cli(["projects", "list"], { env: { ...cfg, CAPSTAN_TOKEN: "cap_wrong" } }), 4, /refused/);
    // ...and a flag beats the environment.
    const flagged = await cli(["projects", "list", "--token", key], { env: { ...cfg, CAPSTAN_TOKEN: "cap_wrong" } });
    expect(flagged.code).toBe(0);
    // The project from the file is the default; --project beats it.
    expect((await cli(["secrets", "list"], { env: cfg })).code).toBe(0);
    expect((await cli(["secrets", "list", "-p", "prj_doesnotexist0000000000"], { env: cfg })).code).toBe(5);
  });
});

describe("projects and keys", () => {
  it("creates and lists projects", async () => {
    const created = await cli(["projects", "create", "from-cli"], { env });
    expect(created.code).toBe(0);
    const id = created.stdout.trim();
    expect(id).toMatch(/^prj_/);
    const list = await cli(["projects", "list"], { env });
    expect(list.stdout).toMatch(new RegExp(`${id}\\s+from-cli\\s+owner`));
  });

  it("shows a new key once, lists it by prefix only, and revokes it", async () => {
    const created = await cli(["keys", "create", "ci-key"], { env });
    expect(created.code).toBe(0);
    const newKey = created.stdout.trim();
    expect(newKey).toMatch(/^cap_[A-Za-z0-9_-]{43}$/);
    const keyId = /created (key_\S+)/.exec(created.stderr)![1]!;

    // The new key works on its own.
    const withNew = await cli(["projects", "list", "--json"], { env: { ...env, CAPSTAN_TOKEN: newKey } });
    expect(withNew.code).toBe(0);
    expect(JSON.parse(withNew.stdout).map((p: { id: string }) => p.id)).toContain(projectId);

    const list = await cli(["keys", "list"], { env });
    expect(list.stdout).toContain(keyId);
    expect(list.stdout).toContain(newKey.slice(0, 12));
    expect(list.stdout).not.toContain(newKey);
    expect(list.stdout).not.toContain(key);

    expect((await cli(["keys", "revoke", keyId], { env })).code).toBe(0);
    expectFailure(await cli(["projects", "list"], { env: { ...env, CAPSTAN_TOKEN: newKey } }), 4, /the token was refused/);
    expectFailure(await cli(["keys", "revoke", "key_doesnotexist00000000"], { env }), 5, /not_found/);
  });
});

describe("members", () => {
  it("adds a member, changes the role, removes them, and keeps the last owner", async () => {
    const owner = await newUser();
    const bob = await newUser();
    const project = await newProject(owner.key, "team");
    const as = (k: string) => ({ env: { CAPSTAN_URL: capstanUrl(), CAPSTAN_TOKEN: k, CAPSTAN_PROJECT: project } });
    const added = await cli(["members", "add", bob.userId, "approver"], as(owner.key));
    expect(added.code).toBe(0);
    expect(added.stderr).toContain(`${bob.userId} is approver of ${project}`);
    expect((await cli(["members", "list"], as(bob.key))).stdout).toMatch(new RegExp(`${bob.userId}\\s+approver`));
    expect((await cli(["members", "set", bob.userId, "member"], as(owner.key))).code).toBe(0);
    const listed = JSON.parse((await cli(["members", "list", "--json"], as(owner.key))).stdout) as { userId: string; role: string }[];
    expect(listed.map((m) => [m.userId, m.role])).toEqual([[owner.userId, "owner"], [bob.userId, "member"]]);
    expectFailure(await cli(["members", "remove", owner.userId], as(bob.key)), 4, /forbidden/);
    expectFailure(await cli(["members", "remove", owner.userId], as(owner.key)), 1, /last owner/);
    expectFailure(await cli(["members", "set", bob.userId, "admin"], as(owner.key)), 2, /role must be one of owner, approver, member/);
    expect((await cli(["members", "remove", bob.userId], as(owner.key))).code).toBe(0);
    expectFailure(await cli(["members", "list"], as(bob.key)), 5, /not_found/);
  });
});

describe("secrets", () => {
  let upstream: Awaited<ReturnType<typeof recordingUpstream>>;
  beforeAll(async () => {
    upstream = await recordingUpstream();
    await allowEgressTo(key, projectId, upstream.url);
  });
  afterAll(() => upstream.close());

  it("sets a secret from stdin, never shows it, and it reaches only the bound host", async () => {
    const value = `canary-${crypto.randomUUID()}`;
    const host = new URL(upstream.url).host;
    const set = await cli(["secrets", "set", "API_KEY", "--host", `http://${host}`], { env, input: `${value}\n` });
    expect(set.stderr).toContain("set API_KEY");
    expect(set.code).toBe(0);
    const list = await cli(["secrets", "list"], { env });
    expect(list.stdout).toMatch(/API_KEY\s+http:\/\/127\.0\.0\.1/);
    const json = await cli(["secrets", "list", "--json"], { env });
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ name: "API_KEY" })]);

    // The value, exactly as piped (less the newline), is what the upstream receives.
    const dir = tempDir("secret-run");
    const file = join(dir, "use-secret.js");
    writeFileSync(file, `const r = await fetch("${upstream.url}/hello", { headers: { authorization: 'Bearer getSecret("API_KEY")' } });\nconsole.log("status", r.status);\n`);
    const ran = await cli(["run", file], { env });
    expect(ran.stdout).toBe("status 200\n");
    expect(ran.code).toBe(0);
    expect(upstream.seen.at(-1)!.headers.authorization).toBe(`Bearer ${value}`);

    for (const r of [set, list, json, ran]) expect(r.stdout + r.stderr).not.toContain(value);

    expect((await cli(["secrets", "delete", "API_KEY"], { env })).code).toBe(0);
    expect((await cli(["secrets", "list"], { env })).stdout).toBe("(none)\n");
    expectFailure(await cli(["secrets", "delete", "API_KEY"], { env }), 5, /not_found/);
  });

  it("takes a binding narrowed by a JSON object", async () => {
    const binding = { host: "api.example.com", paths: ["/v1"], methods: ["GET"] };
    const set = await cli(["secrets", "set", "NARROW", "--host", JSON.stringify(binding), "--host", "*.example.org"], { env, input: "narrow-value" });
    expect(set.code).toBe(0);
    const list = await cli(["secrets", "list", "--json"], { env });
    expect(JSON.parse(list.stdout)).toContainEqual(expect.objectContaining({ name: "NARROW", hosts: [binding, "*.example.org"] }));
    expectFailure(await cli(["secrets", "set", "NARROW", "--host", "{not json"], { env, input: "v" }), 2, /neither a host pattern nor a JSON object/);
    expectFailure(await cli(["secrets", "set", "NARROW", "--host", '{"host":"x.example.com","ports":[0]}'], { env, input: "v" }), 1, /port/);
    expect((await cli(["secrets", "delete", "NARROW"], { env })).code).toBe(0);
  });

  it("never takes the value from argv, and needs a host", async () => {
    const r = await cli(["secrets", "set", "API_KEY", "hunter2-value", "--host", "api.example.com"], { env });
    expectFailure(r, 2, /never from arguments/);
    expect(r.stderr).not.toContain("hunter2-value");
    expectFailure(await cli(["secrets", "set", "API_KEY"], { env, input: "v" }), 2, /at least one --host/);
    expectFailure(await cli(["secrets", "set", "API_KEY", "--host", "api.example.com"], { env, input: "" }), 2, /the value is empty/);
  });
});

describe("fetch", () => {
  /** Echoes a request, digests an upload, reflects the Authorization header through MiBs, or answers a status. */
  async function upstream(): Promise<{ url: string; close(): void }> {
    const server = createServer((req, res) => {
      const hash = createHash("sha256");
      const chunks: Buffer[] = [];
      let bytes = 0;
      req.on("data", (c: Buffer) => {
        hash.update(c);
        bytes += c.length;
        if (chunks.length < 64) chunks.push(c);
      });
      req.on("end", () => {
        const url = new URL(req.url ?? "/", "http://x");
        const auth = req.headers.authorization ?? "";
        if (url.pathname === "/echo") return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ method: req.method, auth, type: req.headers["content-type"] ?? null, body: Buffer.concat(chunks).toString() }));
        if (url.pathname === "/digest") return void res.writeHead(200).end(JSON.stringify({ bytes, sha256: hash.digest("hex") }));
        if (url.pathname === "/big") return void res.writeHead(200).end(Buffer.from(`${"b".repeat(1000)}${auth}`.repeat(Number(url.searchParams.get("units")))));
        res.writeHead(Number(url.pathname.slice(1)) || 200, { "x-why": "asked" }).end("status body");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
  }

  let up: { url: string; close(): void };
  const value = `cli-fetch-${crypto.randomUUID()}`;
  beforeAll(async () => {
    up = await upstream();
    await allowEgressTo(key, projectId, up.url);
    const set = await cli(["secrets", "set", "FETCHED", "--host", up.url], { env, input: value });
    expect(set.code).toBe(0);
  });
  afterAll(() => up.close());

  it("sends the method, headers and body with the secret filled in, and prints the scrubbed answer", async () => {
    const r = await cli(["fetch", `${up.url}/echo`, "-X", "PUT", "-H", 'authorization: Bearer getSecret("FETCHED")', "-H", "content-type: text/plain", "-d", "hello", "-i"], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ method: "PUT", auth: "Bearer [redacted:FETCHED]", type: "text/plain", body: "hello" });
    expect(r.stdout + r.stderr).not.toContain(value);
    expect(r.stderr).toMatch(/^200 OK\n/);
    expect(r.stderr).toMatch(/^capstan-fetched: 1$/m);
  });

  it("streams a download to a file and an upload from stdin, byte-exact", async () => {
    const dir = tempDir("fetch");
    const out = join(dir, "big.bin");
    const units = 12_000;
    const down = await cli(["fetch", `${up.url}/big?units=${units}`, "-H", 'authorization: getSecret("FETCHED")', "-o", out], { env });
    expect(down.code).toBe(0);
    expect(down.stdout).toBe("");
    expect(readFileSync(out).equals(Buffer.from(`${"b".repeat(1000)}[redacted:FETCHED]`.repeat(units)))).toBe(true);

    const upload = Buffer.alloc(9 << 20).map((_, i) => (i * 7) & 0xff);
    const sent = await cli(["fetch", `${up.url}/digest`, "--data-file", "-"], { env, input: upload });
    expect(sent.code).toBe(0);
    expect(JSON.parse(sent.stdout)).toEqual({ bytes: upload.length, sha256: createHash("sha256").update(upload).digest("hex") });
  }, 60_000);

  it("exits 0 on any answer, 1 with -f on a 4xx, and 1 with one line when the egress refuses", async () => {
    const any = await cli(["fetch", `${up.url}/418`], { env });
    expect(any.code).toBe(0);
    expect(any.stdout).toBe("status body");
    const failed = await cli(["fetch", `${up.url}/418`, "-f"], { env });
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe("");
    expect(failed.stderr).toMatch(/the upstream answered 418/);
    expectFailure(await cli(["fetch", "http://127.0.0.1:9/x", "-H", 'authorization: getSecret("FETCHED")'], { env }), 1, /\[egress_denied\]$/m);
    expectFailure(await cli(["fetch", `${up.url}/echo`, "-H", "no-colon"], { env }), 2, /-H no-colon is not 'name: value'/);
    expectFailure(await cli(["fetch", `${up.url}/echo`, "-d", "x", "--data-file", "-"], { env }), 2, /-d or --data-file, not both/);
  });
});

describe("repl with piped input", () => {
  it("runs each line (continuing unfinished ones) and prints only their output", async () => {
    const input = "const a = 20\na * 2\nfunction f(x) {\n  return x + 1\n}\nconsole.log('f is', typeof f)\nf(a)\nundefinedThing\n";
    const r = await cli(["repl", projectId], { env, input });
    expect(r.stdout).toBe("undefined\n40\nundefined\nf is function\nundefined\n21\n");
    expect(r.stderr).toMatch(/^project prj_\S+, session rpl_\S+\. Ctrl-C cancels a line, Ctrl-D exits\.\nReferenceError: undefinedThing is not defined\n/);
    expect(r.code).toBe(0);
  });
});

describe("run", () => {
  it("runs a file inside the project: console output, the last value, exit 0", async () => {
    const dir = tempDir("run");
    const file = join(dir, "ok.js");
    writeFileSync(file, `const xs = [1, 2, 3];\nconsole.log("sum", xs.reduce((a, b) => a + b));\nconsole.error("to stderr");\nawait project.streams.append("runs", { ok: true });\nnew Map([["k", xs.length]])\n`);
    const r = await cli(["run", file], { env });
    expect(r.stdout).toBe("sum 6\nMap(1) { 'k' => 3 }\n");
    expect(r.stderr).toBe("to stderr\n");
    expect(r.code).toBe(0);
  });

  it("exits 1 with the error's name, message and a stack into the file", async () => {
    const dir = tempDir("run");
    const file = join(dir, "bad.js");
    writeFileSync(file, `console.log("before");\nfunction boom() {\n  throw new TypeError("no good");\n}\nboom();\n`);
    const r = await cli(["run", file], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("before\n");
    expect(r.stderr).toMatch(/^TypeError: no good\n/);
    expect(r.stderr).toMatch(/<repl>:3:/);
  });
});
