// Who may do what (docs/how-to/registry.md#who-may-do-what), as a table of cases.
import { describe, expect, it } from 'vitest';
import type { Principal } from '../auth/principal.ts';
import type { TokenScope } from '../auth/scopes.ts';
import { grantedAccess } from './access.ts';
import { parseScopes } from './scope.ts';

const password = (username: string): Principal => ({ userId: 1, username, scopes: new Set(), method: 'password' });
const token = (username: string, scopes: TokenScope[]): Principal => ({ userId: 1, username, scopes: new Set(scopes), method: 'token', tokenId: 7 });
const asked = (...scopes: string[]) => parseScopes(scopes);
const actions = (grants: ReturnType<typeof grantedAccess>) => Object.fromEntries(grants.map((g) => [g.name, g.actions.join(',')]));

describe('grantedAccess', () => {
  const scopes = asked('repository:alice/app:pull,push,delete', 'repository:bob/app:pull,push', 'repository:library/base:pull', 'repository:registry.example:5000/alice/app:pull,push');

  it('own namespace in full with the password, other namespaces pull per REGISTRY_PULL', () => {
    expect(actions(grantedAccess(password('alice'), scopes, 'users'))).toEqual({
      'alice/app': 'pull,push,delete',
      'bob/app': 'pull',
      'library/base': 'pull',
      'registry.example:5000/alice/app': 'pull,push', // a host in the name is not a namespace
    });
    expect(actions(grantedAccess(password('alice'), scopes, 'owner'))).toEqual({ 'alice/app': 'pull,push,delete', 'registry.example:5000/alice/app': 'pull,push' });
    expect(actions(grantedAccess(password('alice'), scopes, 'anyone'))).toMatchObject({ 'bob/app': 'pull', 'library/base': 'pull' });
  });

  it('anonymous: pull only under anyone, nothing otherwise', () => {
    expect(actions(grantedAccess(undefined, scopes, 'anyone'))).toEqual({ 'alice/app': 'pull', 'bob/app': 'pull', 'library/base': 'pull', 'registry.example:5000/alice/app': 'pull' });
    expect(grantedAccess(undefined, scopes, 'users')).toEqual([]);
    expect(grantedAccess(undefined, scopes, 'owner')).toEqual([]);
  });

  it("a token: its registry scopes are a ceiling; the API's scopes grant nothing (but anyone's pull)", () => {
    expect(actions(grantedAccess(token('alice', ['repo_read']), scopes, 'users'))).toEqual({ 'alice/app': 'pull', 'bob/app': 'pull', 'library/base': 'pull', 'registry.example:5000/alice/app': 'pull' });
    expect(actions(grantedAccess(token('alice', ['repo_write']), scopes, 'owner'))).toEqual({ 'alice/app': 'pull,push', 'registry.example:5000/alice/app': 'pull,push' });
    expect(actions(grantedAccess(token('alice', ['repo_delete']), asked('repository:alice/app:delete'), 'owner'))).toEqual({ 'alice/app': 'delete' });
    expect(grantedAccess(token('alice', ['profile_read', 'email_write']), scopes, 'users')).toEqual([]);
    expect(actions(grantedAccess(token('alice', ['profile_read']), scopes, 'anyone'))).toMatchObject({ 'bob/app': 'pull' });
  });

  it('a name alone at the top (no namespace) is nobody\'s own; the catalog only for an admin with a registry right', () => {
    expect(actions(grantedAccess(password('alice'), asked('repository:alice:pull,push'), 'users'))).toEqual({ alice: 'pull' });
    const catalog = asked('registry:catalog:*');
    expect(grantedAccess(password('alice'), catalog, 'users', false)).toEqual([]);
    expect(grantedAccess(password('alice'), catalog, 'users', true)).toEqual([{ type: 'registry', name: 'catalog', actions: ['*'] }]);
    expect(grantedAccess(token('alice', ['profile_read']), catalog, 'users', true)).toEqual([]);
  });
});
