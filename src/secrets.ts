// Secret writes from the front door go straight to the secret store (law 2): never through the
// actor. Both the HTTP routes and the capnweb Project use these.
import { CapstanError } from "../core/errors";
import { deleteSecret, listSecrets, putSecret, type SecretInfo } from "../isolates/secrets/store";
import { HostBindings, SecretName, SecretValue, parse } from "./schemas";

export async function setProjectSecret(env: Env, projectId: string, name: unknown, value: unknown, hosts: unknown): Promise<void> {
  const n = parse(SecretName, name, "name");
  const v = parse(SecretValue, value, "value");
  const h = parse(HostBindings, hosts, "hosts");
  await putSecret(env, projectId, n, v, h);
}

export function listProjectSecrets(env: Env, projectId: string): Promise<SecretInfo[]> {
  return listSecrets(env, projectId);
}

export async function deleteProjectSecret(env: Env, projectId: string, name: unknown): Promise<void> {
  const n = parse(SecretName, name, "name");
  if (!(await deleteSecret(env, projectId, n))) throw new CapstanError("not_found", `secret "${n}" is not set in this project`);
}
