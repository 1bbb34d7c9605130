// The four scopes of the Accounts API. Independent: a write scope does not imply the read one.

export const SCOPES = ['profile_read', 'profile_write', 'email_read', 'email_write'] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** Parses a list like "profile_read,email_read" or "profile_read email_read"; throws on an unknown name. */
export function parseScopeList(input: string): Scope[] {
  const names = input.split(/[\s,]+/).filter((s) => s !== '');
  if (names.length === 0) throw new Error(`no scopes given; choose from ${SCOPES.join(', ')}`);
  const unknown = names.filter((n) => !isScope(n));
  if (unknown.length > 0) throw new Error(`unknown scope ${unknown.map((u) => `"${u}"`).join(', ')}; choose from ${SCOPES.join(', ')}`);
  // Canonical order, no duplicates.
  return SCOPES.filter((s) => names.includes(s));
}
