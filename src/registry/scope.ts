// The `scope` parameter of a registry token request (Distribution's spec/auth/scope.md, in its repository):
// `type:name:actions`, e.g. `repository:alice/hello:pull,push` or `registry:catalog:*`. A name may
// hold a registry host with a port (`localhost:5000/alice/app`), so the type ends at the first
// colon and the actions begin after the last. Anything that does not parse is left out: a scope
// the caller may not have is not an error (the token grants less), and neither is one we cannot read.

export type RequestedScope = { type: 'repository' | 'registry'; name: string; actions: string[] };

export const REPOSITORY_ACTIONS = ['pull', 'push', 'delete'] as const;
export type RepositoryAction = (typeof REPOSITORY_ACTIONS)[number];

// The reference grammar's path: lowercase components joined by '/', each [a-z0-9]+ with single
// separators ('.', '_', '__', '-'s) inside; an optional host[:port]/ in front; 255 characters at most.
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const HOST = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?';
const REPOSITORY_NAME = new RegExp(`^${HOST}${COMPONENT}(?:/${COMPONENT})*$`);

export function parseScope(raw: string): RequestedScope | undefined {
  const first = raw.indexOf(':');
  const last = raw.lastIndexOf(':');
  if (first <= 0 || last <= first) return undefined;
  const type = raw.slice(0, first);
  const name = raw.slice(first + 1, last);
  const actions = [...new Set(raw.slice(last + 1).split(',').filter((a) => a !== ''))];
  if (type === 'registry') return name === 'catalog' && actions.includes('*') ? { type, name, actions: ['*'] } : undefined;
  if (type !== 'repository' || name.length > 255 || !REPOSITORY_NAME.test(name)) return undefined;
  const known = actions.flatMap((a) => (a === '*' ? [...REPOSITORY_ACTIONS] : (REPOSITORY_ACTIONS as readonly string[]).includes(a) ? [a] : []));
  return known.length > 0 ? { type, name, actions: [...new Set(known)] } : undefined;
}

/** Every `scope` of the query string (zero, one or several; the POST form's is space-separated). */
export function parseScopes(values: readonly string[]): RequestedScope[] {
  return values.flatMap((value) => value.split(' ')).flatMap((raw) => parseScope(raw) ?? []);
}
