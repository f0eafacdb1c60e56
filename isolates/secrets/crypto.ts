// AES-GCM for secrets at rest. This is the only module that reads SECRETS_KEY; it lives on the
// egress side so that the actor and loaded code never import it.
import { CapstanError } from "../../core/errors";

const keys = new Map<string, Promise<CryptoKey>>();

function importKey(raw: string | undefined): Promise<CryptoKey> {
  if (!raw) throw new CapstanError("secrets_unavailable", "SECRETS_KEY is not configured; secrets cannot be stored or used");
  let key = keys.get(raw);
  if (!key) {
    let bytes: Uint8Array;
    try {
      bytes = Uint8Array.from(atob(raw), (c) => c.charCodeAt(0));
    } catch {
      throw new CapstanError("secrets_unavailable", "SECRETS_KEY is not valid base64");
    }
    if (bytes.length !== 32) throw new CapstanError("secrets_unavailable", "SECRETS_KEY must be 32 bytes of base64");
    key = crypto.subtle.importKey("raw", bytes, "AES-GCM", false, ["encrypt", "decrypt"]);
    keys.set(raw, key);
  }
  return key;
}

/** The additional data binds a ciphertext to its project and name: a row copied elsewhere will not decrypt. */
function aad(projectId: string, name: string): Uint8Array {
  return new TextEncoder().encode(`capstan-secret\0${projectId}\0${name}`);
}

export async function sealSecret(env: Env, projectId: string, name: string, value: string): Promise<Uint8Array> {
  const key = await importKey(env.SECRETS_KEY);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad(projectId, name) }, key, new TextEncoder().encode(value)),
  );
  const sealed = new Uint8Array(iv.length + ct.length);
  sealed.set(iv);
  sealed.set(ct, iv.length);
  return sealed;
}

export async function openSecret(env: Env, projectId: string, name: string, sealed: Uint8Array): Promise<string> {
  const key = await importKey(env.SECRETS_KEY);
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: sealed.subarray(0, 12), additionalData: aad(projectId, name) },
      key,
      sealed.subarray(12),
    );
    return new TextDecoder().decode(plain);
  } catch {
    throw new CapstanError("secrets_unavailable", `secret "${name}" cannot be decrypted with the configured SECRETS_KEY`);
  }
}
