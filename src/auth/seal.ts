// AES-GCM sealing for auth's own material at rest. The key is derived with HKDF from a root
// key the caller passes in, under a label of the caller's, so one root secret can serve several
// purposes without any two of them sharing a key. The additional data binds a ciphertext to
// what it is (say, a key id): a row copied under another name does not open.
import { CapstanError } from "../../core/errors";

const derived = new Map<string, Promise<CryptoKey>>();

function sealingKey(rootBase64: string | undefined, label: string): Promise<CryptoKey> {
  if (!rootBase64) throw new CapstanError("auth_unavailable", "SECRETS_KEY is not configured; the built-in issuer cannot keep its signing key");
  const cacheKey = `${label}\0${rootBase64}`;
  let key = derived.get(cacheKey);
  if (!key) {
    let root: Uint8Array;
    try {
      root = Uint8Array.from(atob(rootBase64), (c) => c.charCodeAt(0));
    } catch {
      throw new CapstanError("auth_unavailable", "SECRETS_KEY is not valid base64");
    }
    if (root.length !== 32) throw new CapstanError("auth_unavailable", "SECRETS_KEY must be 32 bytes of base64");
    key = crypto.subtle
      .importKey("raw", root, "HKDF", false, ["deriveKey"])
      .then((ikm) =>
        crypto.subtle.deriveKey(
          { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(32), info: new TextEncoder().encode(label) },
          ikm,
          { name: "AES-GCM", length: 256 },
          false,
          ["encrypt", "decrypt"],
        ),
      );
    derived.set(cacheKey, key);
  }
  return key;
}

export async function seal(rootBase64: string | undefined, label: string, aad: string, plain: Uint8Array): Promise<Uint8Array> {
  const key = await sealingKey(rootBase64, label);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: new TextEncoder().encode(aad) }, key, plain));
  const sealed = new Uint8Array(iv.length + ct.length);
  sealed.set(iv);
  sealed.set(ct, iv.length);
  return sealed;
}

/** The plaintext, or null when the sealed bytes do not open under this root, label and aad. */
export async function open(rootBase64: string | undefined, label: string, aad: string, sealed: Uint8Array): Promise<Uint8Array | null> {
  const key = await sealingKey(rootBase64, label);
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: sealed.subarray(0, 12), additionalData: new TextEncoder().encode(aad) },
      key,
      sealed.subarray(12),
    );
    return new Uint8Array(plain);
  } catch {
    return null;
  }
}
