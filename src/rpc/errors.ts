// Errors leave a capnweb session as a plain Error with a `code` and a message a user can act
// on. A TypeError is the peer misusing the API (say, a method that does not exist) and keeps
// its message; anything else unexpected is "internal error", with its details kept server-side.
import { CapstanError, asCapstanError } from "../../core/errors";

export function rpcError(err: Error): Error {
  let e = asCapstanError(err);
  if (e.code === "internal") {
    if (err instanceof TypeError) e = new CapstanError("bad_request", err.message);
    // A peer hanging up is how sessions end, not a fault worth a log line.
    else if (!/^Peer closed/.test(err.message)) console.error("internal error in rpc", err.stack ?? err.message);
  }
  const out = new Error(e.detail);
  (out as Error & { code: string }).code = e.code;
  out.stack = "";
  return out;
}
