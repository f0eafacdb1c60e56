// The front door's side of egress policy and approvals, shared by the HTTP routes and capnweb.
// Inputs are validated here (law 8); who may do what is decided here from the caller's role in
// the project: any member reads, only an owner changes the policy, and only an owner or an
// approver answers a held request.
import type { Approval } from "../actors/egress/approvals";
import { DEFAULT_POLICY, type EgressPolicy } from "../core/egress-policy";
import { CapstanError } from "../core/errors";
import { canApprove } from "./auth/grants";
import { actorFor, type ProjectInfo } from "./projects";
import { ApprovalId, ApproveOptions, SetPolicyBody, parse } from "./schemas";

export function getPolicy(env: Env, project: ProjectInfo): Promise<EgressPolicy> {
  return actorFor(env, project.id).policy();
}

export function setPolicy(env: Env, project: ProjectInfo, body: unknown): Promise<EgressPolicy> {
  if (project.role !== "owner") throw new CapstanError("forbidden", "only an owner of the project can change its egress policy");
  const p = parse(SetPolicyBody, body, "policy");
  return actorFor(env, project.id).setPolicy({
    rules: p.rules,
    default: p.default ?? DEFAULT_POLICY.default,
    holdTimeoutMs: p.holdTimeoutMs ?? DEFAULT_POLICY.holdTimeoutMs,
  });
}

export function listApprovals(env: Env, project: ProjectInfo): Promise<Approval[]> {
  return actorFor(env, project.id).approvals();
}

export function decideApproval(env: Env, project: ProjectInfo, userId: string, id: unknown, verdict: "approved" | "denied", options?: unknown): Promise<Approval> {
  if (!canApprove(project.role)) throw new CapstanError("forbidden", "answering a held request needs the approver or owner role in this project");
  const approvalId = parse(ApprovalId, id, "id");
  const always = verdict === "approved" ? Boolean(parse(ApproveOptions, options, "options")?.always) : false;
  return actorFor(env, project.id).decideApproval(approvalId, verdict, `user:${userId}`, always);
}
