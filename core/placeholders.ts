// The placeholder grammar, shared by the egress side (which substitutes) and by anything
// that only needs a secret's name (validation, audit). A name is never a secret.
//   getSecret("NAME")                                   a secret's value
//   basicAuth(getSecret("USER"), getSecret("PASS"))     base64("USER:PASS"), for Basic auth
//   getIdToken("AUDIENCE")                              a short-lived workload identity JWT
// Quotes may be single or double and must match within each call.

export const SECRET_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const NAME = "[A-Za-z0-9_.-]{1,64}";
const AUDIENCE = "[A-Za-z0-9_.:/@%+=~-]{1,256}";

/** getSecret("NAME") or getSecret('NAME'); the quotes must match. */
export const PLACEHOLDER = /getSecret\((["'])([A-Za-z0-9_.-]{1,64})\1\)/g;

/**
 * Every placeholder form in one alternation, so expansion is one pass. `q` is the quote
 * alternation (the URL parser percent-encodes quotes, and spaces, in paths and queries).
 * Groups: basicAuth user 2, pass 4; getSecret name 6; getIdToken audience 8.
 */
function tokenPattern(q: string, sp: string): RegExp {
  const secret = (n: number) => `getSecret\\((${q})(${NAME})\\${n}\\)`;
  return new RegExp(
    `basicAuth\\(${sp}${secret(1)}${sp},${sp}${secret(3)}${sp}\\)|${secret(5)}|getIdToken\\((${q})(${AUDIENCE})\\7\\)`,
    "g",
  );
}
export const TOKEN = tokenPattern(`["']`, " {0,4}");
export const URL_TOKEN = tokenPattern(`%22|%27|"|'`, "(?: |%20){0,4}");

/** The longest text a placeholder can occupy: what a stream must hold back between chunks. */
export const PLACEHOLDER_MAX_LENGTH = 'basicAuth(getSecret(""),getSecret(""))'.length + 12 + 2 * 64 + 8;
export const ID_TOKEN_MAX_LENGTH = 'getIdToken("")'.length + 256;
export const TOKEN_MAX_LENGTH = Math.max(PLACEHOLDER_MAX_LENGTH, ID_TOKEN_MAX_LENGTH);

export type Token = { kind: "secret"; name: string } | { kind: "basic"; user: string; pass: string } | { kind: "idToken"; audience: string };

export function tokenOf(m: RegExpMatchArray): Token {
  if (m[2] !== undefined) return { kind: "basic", user: m[2], pass: m[4]! };
  if (m[6] !== undefined) return { kind: "secret", name: m[6] };
  return { kind: "idToken", audience: m[8]! };
}

/** Secret names and audiences used in `text`. */
export function tokensIn(text: string, url = false): { names: Set<string>; audiences: Set<string> } {
  const names = new Set<string>();
  const audiences = new Set<string>();
  for (const m of text.matchAll(url ? URL_TOKEN : TOKEN)) {
    const t = tokenOf(m);
    if (t.kind === "secret") names.add(t.name);
    else if (t.kind === "basic") names.add(t.user).add(t.pass);
    else audiences.add(url ? decodeURIComponent(t.audience) : t.audience);
  }
  return { names, audiences };
}

/** Names of every secret placeholder in `text`, in order of first appearance, without repeats. */
export function placeholderNames(text: string): string[] {
  return [...tokensIn(text).names];
}
