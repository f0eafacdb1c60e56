// The placeholder grammar, shared by the egress side (which substitutes) and by anything
// that only needs a secret's name (validation, audit). A name is never a secret.

export const SECRET_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** getSecret("NAME") or getSecret('NAME'); the quotes must match. */
export const PLACEHOLDER = /getSecret\((["'])([A-Za-z0-9_.-]{1,64})\1\)/g;

/** The longest text a placeholder can occupy: what a stream must hold back between chunks. */
export const PLACEHOLDER_MAX_LENGTH = 'getSecret("")'.length + 64;

/** Names of every placeholder in `text`, in order of first appearance, without repeats. */
export function placeholderNames(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(PLACEHOLDER)) names.add(m[2]!);
  return [...names];
}
