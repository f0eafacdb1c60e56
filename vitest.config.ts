import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest(async () => ({
      wrangler: { configPath: "./wrangler.jsonc" },
      miniflare: {
        bindings: {
          SERVICE_TOKEN: "test-service-token-0123456789abcdef",
          // 32 fixed bytes: the tests' own key, never a deployment's.
          SECRETS_KEY: btoa("capstan-test-secrets-key-32bytes"),
          TEST_MIGRATIONS: await readD1Migrations("./migrations"),
        },
      },
    })),
  ],
  test: {
    globalSetup: ["./test/node/global-setup.ts"],
    setupFiles: ["./test/setup.ts"],
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
  },
});
