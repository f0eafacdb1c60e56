// A small router: "/v1/projects/:id" patterns, params by name, 405 with Allow when only the
// method is wrong.
import { CapstanError } from "../core/errors";

export type Handler = (request: Request, params: Record<string, string>) => Promise<Response>;
type Route = { method: string; parts: string[]; handler: Handler };

export class Router {
  #routes: Route[] = [];

  on(method: string, pattern: string, handler: Handler): this {
    this.#routes.push({ method, parts: pattern.split("/").filter(Boolean), handler });
    return this;
  }

  /** The handler for a request, or null when no pattern matches its path. */
  match(request: Request): { handler: Handler; params: Record<string, string> } | null {
    const segments = new URL(request.url).pathname.split("/").filter(Boolean);
    const allowed: string[] = [];
    for (const route of this.#routes) {
      const params = matchParts(route.parts, segments);
      if (!params) continue;
      if (route.method === request.method) return { handler: route.handler, params };
      allowed.push(route.method);
    }
    if (allowed.length) throw new MethodNotAllowed(allowed);
    return null;
  }
}

export class MethodNotAllowed extends CapstanError {
  constructor(readonly allowed: string[]) {
    super("method_not_allowed", `method not allowed; use ${allowed.join(", ")}`);
  }
}

function matchParts(parts: string[], segments: string[]): Record<string, string> | null {
  if (parts.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    let s: string;
    try {
      s = decodeURIComponent(segments[i]!);
    } catch {
      return null;
    }
    if (p.startsWith(":")) params[p.slice(1)] = s;
    else if (p !== s) return null;
  }
  return params;
}
