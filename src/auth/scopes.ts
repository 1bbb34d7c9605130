// The scopes of the Accounts API: v1.1's four, and security_read (the person's own security log,
// GET …/events/). Independent: a write scope does not imply the read one. Tokens made before
// security_read existed keep the scopes they had; a password carries every one.
// Personal access tokens may also carry the registry's three (Docker Hub's access levels, for the
// registry token server in src/registry): repo_read (pull), repo_write (pull, push), repo_delete
// (pull, push, delete). They grant nothing on the API, and the API's four grant nothing in a registry.

export const SCOPES = ['profile_read', 'profile_write', 'email_read', 'email_write', 'security_read'] as const;
export type Scope = (typeof SCOPES)[number];

export const REGISTRY_SCOPES = ['repo_read', 'repo_write', 'repo_delete'] as const;
export type RegistryScope = (typeof REGISTRY_SCOPES)[number];

/** What a personal access token may carry. */
export const TOKEN_SCOPES = [...SCOPES, ...REGISTRY_SCOPES] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

export function isTokenScope(value: string): value is TokenScope {
  return (TOKEN_SCOPES as readonly string[]).includes(value);
}

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** Parses a token's list like "profile_read,email_read" or "profile_read repo_write"; throws on an unknown name. */
export function parseScopeList(input: string): TokenScope[] {
  const names = input.split(/[\s,]+/).filter((s) => s !== '');
  if (names.length === 0) throw new Error(`no scopes given; choose from ${TOKEN_SCOPES.join(', ')}`);
  const unknown = names.filter((n) => !isTokenScope(n));
  if (unknown.length > 0) throw new Error(`unknown scope ${unknown.map((u) => `"${u}"`).join(', ')}; choose from ${TOKEN_SCOPES.join(', ')}`);
  // Canonical order, no duplicates.
  return TOKEN_SCOPES.filter((s) => names.includes(s));
}
