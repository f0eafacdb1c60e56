// What the global setups hand to the tests through inject(): test/node/global-setup.ts to the
// workerd tests, test/node-client/global-setup.ts to the Node-side client and CLI tests.
import "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    upstream: string;
    otherUpstream: string;
    capstanUrl: string;
    serviceToken: string;
    tmpRoot: string;
  }
}
