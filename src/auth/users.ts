import { prepareApiKey, type MintedKey } from "./api-keys";
import { auditStatement } from "./audit";
import { mintUserId } from "./ids";

/** A new user and their first key, written (and audited) together or not at all. */
export async function createUser(env: Env, keyName = "default"): Promise<{ userId: string; key: MintedKey }> {
  const userId = mintUserId();
  const { minted, insert } = await prepareApiKey(env, userId, keyName);
  await env.DB.batch([
    env.DB.prepare(`INSERT INTO users (id, created_at) VALUES (?, ?)`).bind(userId, Date.now()),
    insert,
    auditStatement(env, { event: "user.created", userId, via: "service" }),
    auditStatement(env, { event: "key.minted", userId, keyId: minted.id, via: "service", detail: { name: keyName } }),
  ]);
  return { userId, key: minted };
}
