// Every input's shape, at the edge. Types inside come from these with z.infer.
import { z } from "zod";
import { CapstanError } from "../core/errors";
import { parseHostPattern } from "../core/host-binding";
import { SECRET_NAME } from "../core/placeholders";
import { PROJECT_ID } from "./auth/ids";

export const ProjectName = z.string().trim().min(1, "must not be empty").max(100, "must be at most 100 characters");
export const ProjectId = z.string().regex(PROJECT_ID, "is not a project id (prj_…)");
export const SecretName = z.string().regex(SECRET_NAME, "must be 1-64 characters of A-Z a-z 0-9 _ . -");
export const SecretValue = z.string().min(1, "must not be empty").max(64 * 1024, "must be at most 64 KiB");
const HostPatternText = z.string().max(300, "must be at most 300 characters").superRefine((text, ctx) => {
  const parsed = parseHostPattern(text);
  if (typeof parsed === "string") ctx.addIssue({ code: "custom", message: parsed });
});
const HttpMethod = z.string().regex(/^[A-Z]{1,16}$/, "must be an HTTP method in capitals (GET, POST, …)");
const PathPrefix = z.string().max(1024, "must be at most 1024 characters").regex(/^\/[^?#\s]*$/, "must be a path starting with / (no query, no fragment)");
const SecretBindingObject = z.strictObject({
  host: HostPatternText,
  ports: z.array(z.number().int().min(1, "must be a port 1-65535").max(65535, "must be a port 1-65535")).min(1).max(16).optional(),
  paths: z.array(PathPrefix).min(1).max(32).optional(),
  methods: z.array(HttpMethod).min(1).max(16).optional(),
});
/** A string is a host pattern; an object narrows one. Either way the issue names the exact field. */
const SecretBinding = z.unknown().transform((v, ctx): string | z.infer<typeof SecretBindingObject> => {
  const r = typeof v === "string" ? HostPatternText.safeParse(v) : SecretBindingObject.safeParse(v);
  if (r.success) return r.data;
  for (const issue of r.error.issues) {
    const message = typeof v === "string" || (typeof v === "object" && v !== null) ? issue.message : "must be a host pattern or { host, ports?, paths?, methods? }";
    ctx.addIssue({ code: "custom", message, path: issue.path });
  }
  return z.NEVER;
});
export const HostBindings = z
  .array(SecretBinding)
  .min(1, "must name at least one host (secrets are deny-by-default)")
  .max(32, "may name at most 32 hosts");

const PolicyAction = z.enum(["allow", "deny", "hold"], { error: "must be allow, deny or hold" });
export const PolicyRule = z.strictObject({
  host: HostPatternText,
  methods: z.array(HttpMethod).min(1).max(16).optional(),
  path: PathPrefix.optional(),
  action: PolicyAction,
});
export const SetPolicyBody = z.strictObject({
  rules: z.array(PolicyRule).max(200, "may hold at most 200 rules"),
  default: PolicyAction.optional(),
  holdTimeoutMs: z.number().int().min(100, "must be at least 100 ms").max(3_600_000, "must be at most one hour").optional(),
});
export const ApprovalId = z.string().regex(/^apr_[A-Za-z0-9_-]{8,64}$/, "is not an approval id (apr_…)");
export const ApproveOptions = z.strictObject({ always: z.boolean().optional() }).optional();

export const CreateProjectBody = z.object({ name: ProjectName });
export const PutSecretBody = z.object({ value: SecretValue, hosts: HostBindings });
export const SecretOptions = z.object({ hosts: HostBindings });

export const CapabilityName = z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, "must be a letter then up to 63 of A-Z a-z 0-9 _ . -");
export const MethodName = z.string().regex(/^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/, "must be a JavaScript identifier");
export const DefineOptions = z.object({
  source: z.string().min(1, "must not be empty").max(256 * 1024, "must be at most 256 KiB"),
  description: z.string().max(500, "must be at most 500 characters").optional(),
});

export const ReplSessionId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 characters of A-Z a-z 0-9 _ -");
export const ReplCode = z.string().max(256 * 1024, "must be at most 256 KiB");

/** What a REPL client may send over the WebSocket. */
export const ReplClientMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("auth"), token: z.string().max(4096) }),
  z.object({ type: z.literal("eval"), id: z.union([z.string().max(128), z.number()]), code: ReplCode }),
  z.object({ type: z.literal("history") }),
  z.object({ type: z.literal("cancel") }),
]);

export const AuditQuery = z
  .object({
    after: z.number().int().min(0).optional(),
    limit: z.number().int().min(1).max(1000).optional(),
    capability: z.string().max(128).optional(),
  })
  .optional();

/** Parses or throws a bad_request whose message names the field that was wrong. */
export function parse<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = issue.path.length ? `${what}.${issue.path.join(".")}` : what;
  throw new CapstanError("bad_request", `${path} ${issue.message.replace(/^Invalid input: /, "")}`.trim());
}
