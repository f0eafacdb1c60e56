import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Two projects: the suites that run inside workerd (the Worker's own code, real bindings), and
// the Node-side suites that drive a real `wrangler dev` with the typed client and the CLI.
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest(async () => ({
            wrangler: { configPath: "./wrangler.jsonc" },
            miniflare: {
              bindings: {
                SERVICE_TOKEN: "test-service-token-0123456789abcdef",
                // 32 fixed bytes: the tests' own key, never a deployment's.
                SECRETS_KEY: btoa("capstan-test-secrets-key-32bytes"),
                // The built-in issuer's identity: the origin the tests call (test/helpers.ts BASE).
                AUTH_PUBLIC_URL: "http://capstan.test",
                // A stand-in external issuer whose keys are pinned (no network); its private keys are in
                // test/auth-helpers.ts and sign nothing outside the tests.
                AUTH_ISSUER: "https://idp.test",
                AUTH_JWKS: JSON.stringify({
                  keys: [
                    { kty: "EC", crv: "P-256", kid: "ext-es256", alg: "ES256", use: "sig", x: "x4eaCj79fTli28Z12P-SW1Hp5WSsLmaXPMYQhMd1IPI", y: "S3LsDZKSWLQAUDks3T__D2ZZhIZu8P7IqWHBRv7fQa4" },
                    { kty: "OKP", crv: "Ed25519", kid: "ext-eddsa", alg: "EdDSA", use: "sig", x: "MhbYSvs7w154zMuvFHoYJ-gW-Xv5nYbEFLNpBuLKwbI" },
                  ],
                }),
                TEST_MIGRATIONS: await readD1Migrations("./migrations"),
              },
            },
          })),
        ],
        test: {
          name: "workerd",
          globalSetup: ["./test/node/global-setup.ts"],
          setupFiles: ["./test/setup.ts"],
          include: ["test/**/*.test.ts"],
          exclude: ["test/node-client/**"],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "node",
          environment: "node",
          globalSetup: ["./test/node-client/global-setup.ts"],
          include: ["test/node-client/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
