// The Worker's bindings and exports, typed once for every side (front door, actor, isolates).
declare namespace Cloudflare {
  interface Env {
    DB: D1Database;
    PROJECT_ACTOR: DurableObjectNamespace<import("./actors/project-actor").ProjectActor>;
    LOADER: WorkerLoader;
    /** Bearer token for the /internal routes; set in .dev.vars locally, a secret in production. */
    SERVICE_TOKEN?: string;
    /** Base64 of 32 random bytes: the AES-GCM key for secrets at rest. Read only in isolates/secrets. */
    SECRETS_KEY?: string;
  }
  interface GlobalProps {
    mainModule: typeof import("./src/index");
    durableNamespaces: "ProjectActor";
  }
}
type Env = Cloudflare.Env;
