import { describe, expect, it } from 'vitest';
import { originsOf } from './security.ts';

describe('originsOf (form-action sources)', () => {
  it('gives the origin of a URI, nothing for a custom scheme, and nothing that would break the CSP', () => {
    expect(originsOf('https://app.example.test/cb?x=1')).toEqual(['https://app.example.test']);
    expect(originsOf('com.example.app:/callback')).toEqual([]);
    expect(originsOf('not a uri')).toEqual([]);
    // URL parsing lets these hosts through; in a CSP they would end the directive or the list.
    expect(originsOf('https://a;b.example/cb')).toEqual([]);
    expect(originsOf('https://a,b.example/cb')).toEqual([]);
  });
});
