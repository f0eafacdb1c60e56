// The JSON HTTP routes (docs/api.md, docs/auth.md) that capnweb does not offer: API keys and
// members, and the project and secret routes the CLI uses without opening a WebSocket.
import { errorFromResponse, unreachable } from "./errors.js";
import { httpFetch } from "./http-fetch.js";
import type { EgressPolicy, EgressPolicyInput, KeyInfo, MemberInfo, MemberRole, MintedKey, ProjectInfo, SecretBinding, SecretInfo } from "./types.js";

export type HttpOptions = { url: string; token: string };

export class HttpApi {
  readonly #base: string;
  readonly #token: string;
  constructor(options: HttpOptions) {
    this.#base = options.url.replace(/\/+$/, "");
    this.#token = options.token;
  }

  listProjects(): Promise<ProjectInfo[]> {
    return this.#call("GET", "/v1/projects");
  }
  createProject(name: string): Promise<ProjectInfo> {
    return this.#call("POST", "/v1/projects", { name });
  }
  listMembers(projectId: string): Promise<MemberInfo[]> {
    return this.#call("GET", `/v1/projects/${encodeURIComponent(projectId)}/members`);
  }
  addMember(projectId: string, userId: string, role: MemberRole): Promise<MemberInfo> {
    return this.#call("POST", `/v1/projects/${encodeURIComponent(projectId)}/members`, { userId, role });
  }
  setMemberRole(projectId: string, userId: string, role: MemberRole): Promise<MemberInfo> {
    return this.#call("PUT", `/v1/projects/${encodeURIComponent(projectId)}/members/${encodeURIComponent(userId)}`, { role });
  }
  removeMember(projectId: string, userId: string): Promise<void> {
    return this.#call("DELETE", `/v1/projects/${encodeURIComponent(projectId)}/members/${encodeURIComponent(userId)}`);
  }
  listKeys(): Promise<KeyInfo[]> {
    return this.#call("GET", "/v1/keys");
  }
  createKey(name: string, expiresAt?: string): Promise<MintedKey> {
    return this.#call("POST", "/v1/keys", expiresAt === undefined ? { name } : { name, expiresAt });
  }
  revokeKey(id: string): Promise<void> {
    return this.#call("DELETE", `/v1/keys/${encodeURIComponent(id)}`);
  }
  listSecrets(projectId: string): Promise<SecretInfo[]> {
    return this.#call("GET", `/v1/projects/${encodeURIComponent(projectId)}/secrets`);
  }
  setSecret(projectId: string, name: string, value: string, hosts: SecretBinding[]): Promise<void> {
    return this.#call("PUT", `/v1/projects/${encodeURIComponent(projectId)}/secrets/${encodeURIComponent(name)}`, { value, hosts });
  }
  deleteSecret(projectId: string, name: string): Promise<void> {
    return this.#call("DELETE", `/v1/projects/${encodeURIComponent(projectId)}/secrets/${encodeURIComponent(name)}`);
  }

  /** The project's fetch, with the request's and the response's bodies streamed over HTTP. */
  fetch(projectId: string, input: string | URL | Request, init?: RequestInit): Promise<Response> {
    return httpFetch({ url: this.#base, token: this.#token }, projectId, input, init);
  }

  policy(projectId: string): Promise<EgressPolicy> {
    return this.#call("GET", `/v1/projects/${encodeURIComponent(projectId)}/egress-policy`);
  }
  setPolicy(projectId: string, policy: EgressPolicyInput): Promise<EgressPolicy> {
    return this.#call("PUT", `/v1/projects/${encodeURIComponent(projectId)}/egress-policy`, policy);
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(`${this.#base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      throw unreachable(this.#base, err);
    }
    const text = await res.text();
    if (!res.ok) throw errorFromResponse(res, text, `${method} ${path}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }
}
