// Where the CLI's URL, token and project come from: a flag beats the environment
// (CAPSTAN_URL, CAPSTAN_TOKEN, CAPSTAN_PROJECT), which beats the config file that
// `capstan login` writes ($CAPSTAN_CONFIG_DIR or ~/.config/capstan, config.json, mode 0600).
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { UsageError } from "./exit.js";

export type StoredConfig = { url?: string; token?: string; project?: string };
export type Flags = { url?: string; token?: string; project?: string };

export function configDir(): string {
  return process.env.CAPSTAN_CONFIG_DIR || join(process.env.XDG_CONFIG_HOME || join(homedir(), ".config"), "capstan");
}

export function configFile(): string {
  return join(configDir(), "config.json");
}

export function readConfigFile(): StoredConfig {
  const file = configFile();
  if (!existsSync(file)) return {};
  try {
    const data = JSON.parse(readFileSync(file, "utf8")) as StoredConfig;
    return typeof data === "object" && data !== null ? data : {};
  } catch {
    throw new UsageError(`${file} is not valid JSON; run capstan login again`);
  }
}

export function writeConfigFile(config: StoredConfig): string {
  const dir = configDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = configFile();
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  // writeFileSync keeps the mode of a file that already existed.
  chmodSync(file, 0o600);
  return file;
}

/** One setting, by precedence. */
function pick(flag: string | undefined, envName: string, stored: string | undefined): string | undefined {
  return flag || process.env[envName] || stored || undefined;
}

export type Resolved = { url: string; token: string; project?: string };

/** URL and token are required for every command that talks to a server. */
export function resolveConfig(flags: Flags): Resolved {
  const stored = readConfigFile();
  const url = pick(flags.url, "CAPSTAN_URL", stored.url);
  const token = pick(flags.token, "CAPSTAN_TOKEN", stored.token);
  const project = pick(flags.project, "CAPSTAN_PROJECT", stored.project);
  if (!url) throw new UsageError("no server URL: pass --url, set CAPSTAN_URL, or run capstan login");
  if (!token) throw new UsageError("no token: pass --token, set CAPSTAN_TOKEN, or run capstan login");
  return { url: checkUrl(url), token, project };
}

export function requireProject(config: Resolved, positional?: string): string {
  const project = positional || config.project;
  if (!project) throw new UsageError("no project: name one, or pass --project, set CAPSTAN_PROJECT, or capstan login --project");
  return project;
}

export function checkUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`not a URL: ${url}`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new UsageError(`the URL must be http: or https:, not ${u.protocol}`);
  return u.toString().replace(/\/+$/, "");
}
