// Who may do what in the registry (docs/how-to/registry.md has the table):
// - in their own namespace (`USERNAME/…`) a user may pull, push and delete;
// - elsewhere, pull follows REGISTRY_PULL: `anyone` (anonymous callers too), `users` (any signed-in
//   user, the default) or `owner` (nobody else);
// - the catalog (`registry:catalog:*`) only to the accounts an operator marked with
//   `accounts user set-admin` (with the password, or a token with repo_read or more).
// A password signs in with every right the user has; a personal access token only with its
// registry scopes (repo_read: pull; repo_write: pull, push; repo_delete: pull, push, delete); the
// account scopes grant nothing here.
import type { RegistryPull } from '../kernel/config.ts';
import type { Principal } from '../auth/principal.ts';
import type { RepositoryAction, RequestedScope } from './scope.ts';

export type Grant = { type: string; name: string; actions: string[] };

/** What a token's scopes allow in a registry, at most. */
function tokenCeiling(principal: Principal): Set<RepositoryAction> {
  if (principal.method === 'password') return new Set(['pull', 'push', 'delete']);
  const scopes = principal.scopes as ReadonlySet<string>;
  if (scopes.has('repo_delete')) return new Set(['pull', 'push', 'delete']);
  if (scopes.has('repo_write')) return new Set(['pull', 'push']);
  if (scopes.has('repo_read')) return new Set(['pull']);
  return new Set();
}

/** The part of each requested scope the caller has (the intersection); scopes with nothing granted are left out. */
export function grantedAccess(principal: Principal | undefined, requested: readonly RequestedScope[], pull: RegistryPull, isAdmin = false): Grant[] {
  const ceiling = principal ? tokenCeiling(principal) : new Set<RepositoryAction>();
  return requested.flatMap((scope) => {
    if (scope.type === 'registry') return isAdmin && ceiling.has('pull') ? [{ type: 'registry', name: 'catalog', actions: ['*'] }] : [];
    const path = scope.name.includes('/') && /[.:]|^localhost$/.test(scope.name.split('/')[0]!) ? scope.name.split('/').slice(1) : scope.name.split('/');
    const own = principal !== undefined && path.length > 1 && path[0] === principal.username;
    const allowed = scope.actions.filter((action) => {
      if (own) return ceiling.has(action as RepositoryAction);
      if (action !== 'pull') return false;
      // Anyone: whoever could pull without signing in may with any credentials too.
      if (pull === 'anyone') return true;
      if (pull === 'users') return principal !== undefined && ceiling.has('pull');
      return false;
    });
    return allowed.length > 0 ? [{ type: 'repository', name: scope.name, actions: allowed }] : [];
  });
}
