// A project's egress policy, as data, and the one function that evaluates it. Rules are tried
// in order; the first whose host pattern, method and path prefix all match decides. Otherwise
// the default does, except for private and metadata destinations (core/private-address.ts):
// those are refused unless a rule names that very host (no wildcard), so a permissive default
// never opens the way to loopback or 169.254.169.254. Shared by the actor (which parks holds)
// and the EgressPipe (which re-evaluates on every redirect hop).
import { parseHostPattern, pathUnder, patternMatches } from "./host-binding";
import { isPrivateHost } from "./private-address";

export type PolicyAction = "allow" | "deny" | "hold";
export type PolicyRule = { host: string; methods?: string[]; path?: string; action: PolicyAction };
export type EgressPolicy = { rules: PolicyRule[]; default: PolicyAction; holdTimeoutMs: number };

export const DEFAULT_HOLD_TIMEOUT_MS = 60_000;
export const DEFAULT_POLICY: EgressPolicy = { rules: [], default: "allow", holdTimeoutMs: DEFAULT_HOLD_TIMEOUT_MS };

export type PolicyDecision = { action: PolicyAction; rule: number | null; reason: string };

/** Each rule's host pattern, parsed once per rule object: a policy is read on every call, and changes rarely. */
const patterns = new WeakMap<PolicyRule, ReturnType<typeof parseHostPattern>>();

function patternOf(rule: PolicyRule): ReturnType<typeof parseHostPattern> {
  let p = patterns.get(rule);
  if (p === undefined) patterns.set(rule, (p = parseHostPattern(rule.host)));
  return p;
}

export function decide(policy: EgressPolicy, url: URL, method: string): PolicyDecision {
  const m = method.toUpperCase();
  const priv = isPrivateHost(url.hostname);
  for (let i = 0; i < policy.rules.length; i++) {
    const rule = policy.rules[i]!;
    const p = patternOf(rule);
    if (typeof p === "string" || !patternMatches(p, url)) continue;
    if (priv && p.wildcard) continue;
    if (rule.methods && !rule.methods.includes(m)) continue;
    if (rule.path && !pathUnder(url.pathname, rule.path)) continue;
    return { action: rule.action, rule: i, reason: `rule ${i} (${rule.action} ${rule.host})` };
  }
  if (priv) return { action: "deny", rule: null, reason: `${url.hostname} is a private or metadata address and no rule names it` };
  return { action: policy.default, rule: null, reason: `the policy's default (${policy.default})` };
}

/** The rule an "always" approval adds: this origin, this method, this path. */
export function alwaysRule(url: URL, method: string): PolicyRule {
  return { host: `${url.protocol}//${url.host}`, methods: [method.toUpperCase()], path: url.pathname, action: "allow" };
}
