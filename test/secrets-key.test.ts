// Secrets fail closed: without a usable SECRETS_KEY nothing is stored or opened, and the error
// says what is wrong without any value in it.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openSecrets, putSecret } from "../isolates/secrets/store";
import { newProject, newUser } from "./helpers";

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  return "no error";
}

describe("SECRETS_KEY", () => {
  it("missing or malformed: writes and reads refuse with secrets_unavailable", async () => {
    const { key } = await newUser();
    const id = await newProject(key);
    for (const SECRETS_KEY of [undefined, "", "not base64!", btoa("too short")]) {
      const broken = { ...env, SECRETS_KEY } as Env;
      expect(await codeOf(putSecret(broken, id, "A", "value-123", ["a.example"]))).toMatch(/^\[secrets_unavailable\] SECRETS_KEY/);
    }
    const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM secrets WHERE project_id = ?").bind(id).first<{ n: number }>();
    expect(rows!.n).toBe(0);
  });

  it("a different key cannot open what another sealed, and says so without the value", async () => {
    const { key } = await newUser();
    const id = await newProject(key);
    await putSecret(env, id, "B", "sealed-value-456", ["a.example"]);
    const other = { ...env, SECRETS_KEY: btoa("another-32-byte-key-for-testing!") } as Env;
    const message = await codeOf(openSecrets(other, id, ["B"]));
    expect(message).toMatch(/^\[secrets_unavailable\] secret "B" cannot be decrypted/);
    expect(message).not.toContain("sealed-value-456");
    expect((await openSecrets(env, id, ["B"])).get("B")!.value).toBe("sealed-value-456");
  });
});
