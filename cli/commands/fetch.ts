// `capstan fetch`: one request through the project's egress, curl-shaped, over the HTTP fetch
// route (docs/api.md#the-fetch-route): placeholders in the URL, headers and body are
// substituted on the way out and scrubbed on the way back, and both bodies stream, so a large
// download or upload never sits in memory here.
import { createReadStream, createWriteStream } from "node:fs";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { HttpApi } from "../../client/http.js";
import { GLOBAL_HELP, str, type Command } from "../command.js";
import { requireProject, resolveConfig } from "../config.js";
import { EXIT, UsageError } from "../exit.js";

export const fetchCommand: Command = {
  name: "fetch",
  summary: "send one HTTP request through the project's egress",
  help: `Usage:
  capstan fetch <url> [-X <method>] [-H 'name: value' ...] [-d <data> | --data-file <path|->] [-o <file>] [-i] [-f]

The request leaves through the project: its egress policy applies, getSecret("NAME")
placeholders in the URL, the headers and a text body are filled in by the server, and every
substituted value is scrubbed out of the answer before it comes back. For example:
  capstan fetch https://api.github.com/user -H 'authorization: Bearer getSecret("GITHUB_TOKEN")'

  -X, --method <m>        the method (default GET, or POST with a body)
  -H, --header <h>        a request header, 'name: value'; repeat for more
  -d, --data <text>       the body, as given
  --data-file <path>      the body, streamed from a file, or from stdin with -
  -o, --output <file>     write the answer's body to a file instead of stdout
  -i, --include           print the status line and headers to stderr first
  -f, --fail              exit 1 without printing the body when the status is 400 or more
  --manual-redirects      return a redirect as it is instead of following it

The body streams both ways, so this suits large files. Exit codes as for every command; an
answer with any status exits 0 unless -f is given.

${GLOBAL_HELP}`,
  options: {
    method: { type: "string", short: "X" },
    header: { type: "string", short: "H", multiple: true },
    data: { type: "string", short: "d" },
    "data-file": { type: "string" },
    output: { type: "string", short: "o" },
    include: { type: "boolean", short: "i" },
    fail: { type: "boolean", short: "f" },
    "manual-redirects": { type: "boolean" },
  },
  async run(positionals, values) {
    if (positionals.length !== 1) throw new UsageError("fetch takes one URL");
    const url = positionals[0]!;
    const data = str(values, "data");
    const dataFile = str(values, "data-file");
    if (data !== undefined && dataFile !== undefined) throw new UsageError("fetch takes -d or --data-file, not both");
    const config = resolveConfig({ url: str(values, "url"), token: str(values, "token"), project: str(values, "project") });
    const project = requireProject(config);
    const headers = ((values.header as string[] | undefined) ?? []).map(header);
    const body = dataFile !== undefined ? fileBody(dataFile) : data;
    const method = str(values, "method") ?? (body === undefined ? "GET" : "POST");
    const init = { method, headers, body, redirect: values["manual-redirects"] ? "manual" : "follow", duplex: "half" } as RequestInit;

    const res = await new HttpApi(config).fetch(project, url, init);
    if (values.include) {
      process.stderr.write(`${res.status} ${res.statusText}\n`);
      for (const [k, v] of res.headers) process.stderr.write(`${k}: ${v}\n`);
      process.stderr.write("\n");
    }
    if (values.fail && res.status >= 400) {
      await res.body?.cancel();
      process.stderr.write(`capstan: the upstream answered ${res.status} ${res.statusText}\n`);
      return EXIT.failed;
    }
    const output = str(values, "output");
    if (res.body) {
      const sink = output ? createWriteStream(output) : process.stdout;
      await pipeline(Readable.fromWeb(res.body as import("node:stream/web").ReadableStream), sink as Writable);
    }
    return EXIT.ok;
  },
};

/** '-H name: value' as a pair; the value may itself contain colons. */
function header(text: string): [string, string] {
  const at = text.indexOf(":");
  if (at <= 0) throw new UsageError(`-H ${text} is not 'name: value'`);
  return [text.slice(0, at).trim(), text.slice(at + 1).trim()];
}

function fileBody(path: string): ReadableStream<Uint8Array> {
  const source = path === "-" ? process.stdin : createReadStream(path);
  source.on("error", () => undefined);
  return Readable.toWeb(source) as unknown as ReadableStream<Uint8Array>;
}
