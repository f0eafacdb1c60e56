import { prepareApiKey, type MintedKey } from "./api-keys";
import { mintUserId } from "./ids";

/** A new user and their first key, written together or not at all. */
export async function createUser(env: Env, keyName = "default"): Promise<{ userId: string; key: MintedKey }> {
  const userId = mintUserId();
  const { minted, insert } = await prepareApiKey(env, userId, keyName);
  await env.DB.batch([env.DB.prepare(`INSERT INTO users (id, created_at) VALUES (?, ?)`).bind(userId, Date.now()), insert]);
  return { userId, key: minted };
}
