// project.repl(sessionId?) over capnweb: the same sessions as the WebSocket REPL.
import { RpcTarget } from "capnweb";
import type { ReplOutcome } from "../../actors/repl/eval-line";
import type { HistoryEntry } from "../../actors/repl/store";
import { parse, ReplCode } from "../schemas";

type Actor = DurableObjectStub<import("../../actors/project-actor").ProjectActor>;
type OnLog = (entry: { level: string; args: string[] }) => unknown;

export class ReplSession extends RpcTarget {
  constructor(private actor: Actor, private sessionId: string, private owner: string) {
    super();
  }
  get id(): string {
    return this.sessionId;
  }
  /** Runs one line. Console output goes to `onLog` while it runs, when one is given. */
  eval(code: unknown, onLog?: unknown): Promise<ReplOutcome> {
    const c = parse(ReplCode, code, "code");
    const forward = typeof onLog === "function" ? (onLog as OnLog) : null;
    const log = (level: string, args: string[]) => (forward ? Promise.resolve(forward({ level, args })).catch(() => undefined) : undefined);
    return this.actor.replEval(this.sessionId, this.owner, c, log) as Promise<ReplOutcome>;
  }
  /** Stops waiting for the running line (Ctrl-C); resolves whether one was running. */
  cancel(): Promise<boolean> {
    return this.actor.replCancel(this.sessionId, this.owner);
  }
  history(): Promise<HistoryEntry[]> {
    return this.actor.replHistory(this.sessionId, this.owner) as Promise<HistoryEntry[]>;
  }
  close(): Promise<void> {
    return this.actor.replClose(this.sessionId, this.owner);
  }
}
