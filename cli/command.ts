// The shape every command shares: its help, its own flags (on top of the global ones), and run.
import type { ParseArgsConfig } from "node:util";

export type Options = NonNullable<ParseArgsConfig["options"]>;
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export type Command = {
  name: string;
  summary: string;
  /** The full help: usage lines, then details. */
  help: string;
  options: Options;
  /** Resolves to the exit code. */
  run(positionals: string[], values: Values): Promise<number>;
};

/** Flags every command takes. */
export const GLOBAL_OPTIONS: Options = {
  url: { type: "string" },
  token: { type: "string" },
  project: { type: "string", short: "p" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

export const GLOBAL_HELP = `Global flags:
  --url <url>         the server (default: $CAPSTAN_URL, then the config file)
  --token <token>     an API key or access token (default: $CAPSTAN_TOKEN, then the config file)
  -p, --project <id>  the project (default: $CAPSTAN_PROJECT, then the config file)
  --json              print JSON instead of a table
  -h, --help          this help`;

export function str(values: Values, key: string): string | undefined {
  const v = values[key];
  return typeof v === "string" ? v : undefined;
}
