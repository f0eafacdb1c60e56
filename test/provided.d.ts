// What test/node/global-setup.ts hands to the workerd tests through inject().
import "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    upstream: string;
    otherUpstream: string;
  }
}
