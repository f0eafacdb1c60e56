// The WebSocket REPL: GET /v1/projects/:id/repl?session=<id>. Authentication happens once, at
// connect: a bearer header, or for browsers a first message {type:"auth", token}. Messages are
// JSON; see docs/api.md#repl. Lines of one socket run in order.
import { CapstanError, asCapstanError } from "../../core/errors";
import { mintReplSessionId } from "../auth/ids";
import { bearerToken, principalForToken, type Principal } from "../auth/principal";
import { actorFor, requireMember } from "../projects";
import { ProjectId, ReplClientMessage, ReplSessionId, parse } from "../schemas";

const AUTH_WAIT_MS = 10_000;

export async function replRoute(env: Env, request: Request, projectId: string): Promise<Response> {
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    throw new CapstanError("bad_request", "this route is a WebSocket: send Upgrade: websocket");
  }
  const id = parse(ProjectId, projectId, "project id");
  const q = new URL(request.url).searchParams.get("session");
  const sessionId = q === null ? mintReplSessionId() : parse(ReplSessionId, q, "session");
  const token = bearerToken(request);
  // With a header, refuse before upgrading, so a bad key or a foreign project is a plain 401/404.
  const early = token ? await authorise(env, token, id) : null;

  const { 0: client, 1: server } = new WebSocketPair();
  server.accept();
  const send = (m: unknown) => {
    try {
      server.send(JSON.stringify(m));
    } catch {
      // The client has gone; nothing to tell it.
    }
  };
  let who: Principal | null = early;
  let queue: Promise<unknown> = Promise.resolve();
  const timer = who ? 0 : setTimeout(() => server.close(4401, "authenticate first: {type:\"auth\", token}"), AUTH_WAIT_MS);
  const ready = async () => {
    const opened = await actorFor(env, id).replOpen(sessionId, who!.userId);
    send({ type: "ready", session: sessionId, history: opened.history });
  };

  server.addEventListener("message", (event) => {
    let msg;
    try {
      if (typeof event.data !== "string") throw new CapstanError("bad_request", "messages must be JSON text");
      let data: unknown;
      try {
        data = JSON.parse(event.data);
      } catch {
        throw new CapstanError("bad_request", "the message is not valid JSON");
      }
      msg = parse(ReplClientMessage, data, "message");
    } catch (err) {
      const e = asCapstanError(err);
      send({ type: "error", id: null, name: "ProtocolError", message: e.detail, stack: "" });
      return;
    }
    if (msg.type === "auth") {
      if (who) return send({ type: "error", id: null, name: "ProtocolError", message: "already authenticated", stack: "" });
      authorise(env, msg.token, id)
        .then(async (p) => {
          who = p;
          clearTimeout(timer);
          await ready();
        })
        .catch((err) => {
          const e = asCapstanError(err);
          send({ type: "error", id: null, name: "AuthError", message: e.detail, stack: "" });
          server.close(e.code === "not_found" ? 4404 : 4401, e.detail.slice(0, 120));
        });
      return;
    }
    if (!who) return send({ type: "error", id: null, name: "ProtocolError", message: "authenticate first: {type:\"auth\", token}", stack: "" });
    const user = who;
    if (msg.type === "cancel") {
      // Not queued: it must reach the actor while the line it cancels is still running.
      actorFor(env, id).replCancel(sessionId, user.userId).catch(() => undefined);
      return;
    }
    if (msg.type === "history") {
      queue = queue.then(async () => send({ type: "history", entries: await actorFor(env, id).replHistory(sessionId, user.userId) }));
      return;
    }
    const lineId = msg.id;
    const code = msg.code;
    queue = queue.then(async () => {
      try {
        const log = (level: string, args: string[]) => send({ type: "log", id: lineId, level, args });
        const outcome = await actorFor(env, id).replEval(sessionId, user.userId, code, log);
        send({ ...outcome, id: lineId });
      } catch (err) {
        const e = asCapstanError(err);
        send({ type: "error", id: lineId, name: "CapstanError", message: e.detail, stack: "", code: e.code });
      }
    });
  });
  if (who) await ready();
  return new Response(null, { status: 101, webSocket: client });
}

async function authorise(env: Env, token: string, projectId: string): Promise<Principal> {
  const who = await principalForToken(env, token);
  await requireMember(env, who, projectId);
  return who;
}
