import { describe, expect, it } from 'vitest';
import { parseScope, parseScopes } from './scope.ts';

describe('parseScope', () => {
  it('reads type, name and actions, with a host and port in the name', () => {
    expect(parseScope('repository:alice/hello:pull,push')).toEqual({ type: 'repository', name: 'alice/hello', actions: ['pull', 'push'] });
    expect(parseScope('repository:localhost:5000/alice/app:pull')).toEqual({ type: 'repository', name: 'localhost:5000/alice/app', actions: ['pull'] });
    expect(parseScope('repository:registry.example:443/team/app:push')).toEqual({ type: 'repository', name: 'registry.example:443/team/app', actions: ['push'] });
    expect(parseScope('repository:library/ubuntu:*')).toEqual({ type: 'repository', name: 'library/ubuntu', actions: ['pull', 'push', 'delete'] });
    expect(parseScope('registry:catalog:*')).toEqual({ type: 'registry', name: 'catalog', actions: ['*'] });
  });

  it('keeps only the actions it knows, once each', () => {
    expect(parseScope('repository:alice/a:pull,pull,fly,,push')).toEqual({ type: 'repository', name: 'alice/a', actions: ['pull', 'push'] });
    expect(parseScope('repository:alice/a:')).toBeUndefined();
  });

  it('leaves out what is not a scope: other types, bad names, missing parts', () => {
    for (const junk of ['', 'repository', 'repository:alice', ':alice/a:pull', 'image:alice/a:pull', 'repository:Alice/A:pull', 'repository:alice//a:pull', 'repository:alice/a-:pull', 'repository:../etc:pull', 'registry:catalog:pull', `repository:${'a'.repeat(256)}:pull`, 'repository:alice/a b:pull']) {
      expect(parseScope(junk), junk).toBeUndefined();
    }
  });

  it('several scopes: repeated parameters, and space-separated in one', () => {
    expect(parseScopes(['repository:a1/x:pull', 'repository:b1/y:push repository:c1/z:pull', 'junk'])).toEqual([
      { type: 'repository', name: 'a1/x', actions: ['pull'] },
      { type: 'repository', name: 'b1/y', actions: ['push'] },
      { type: 'repository', name: 'c1/z', actions: ['pull'] },
    ]);
  });
});
