// The rules a client registration must meet, checked before anything is stored.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../kernel/errors.ts';
import type { Deps } from '../kernel/deps.ts';
import { createClient, redirectUriProblem } from './clients.service.ts';

describe('redirectUriProblem', () => {
  it.each([
    ['https://app.example.com/cb'],
    ['https://app.example.com:8443/cb?x=1'],
    ['http://localhost:9000/cb'],
    ['http://127.0.0.1:8000/callback'],
    ['http://[::1]:8000/cb'],
  ])('accepts %s', (uri) => {
    expect(redirectUriProblem(uri)).toBeUndefined();
  });

  it.each([
    ['/oauth/callback', /is not an absolute URL/],
    ['not a url', /is not an absolute URL/],
    ['http://app.example.com/cb', /uses http; only https is allowed, or http to localhost/],
    ['http://127.0.0.2/cb', /uses http/],
    ['ftp://app.example.com/cb', /uses ftp/],
    ['javascript:alert(1)', /uses javascript/],
    ['https://app.example.com/cb#frag', /has a fragment/],
    ['https://app.example.com/cb#', /has a fragment/],
    ['https://user:pw@app.example.com/cb', /carries credentials/],
  ])('refuses %s', (uri, problem) => {
    expect(redirectUriProblem(uri)).toMatch(problem);
  });
});

describe('createClient validation', () => {
  // Validation comes first: a store that is touched fails the test.
  const deps = {
    store: {
      write: () => {
        throw new Error('nothing may be written');
      },
    },
  } as unknown as Deps;

  const problems = async (input: { name: string; redirectUris: string[] }) => {
    const error = await createClient(deps, { ...input, public: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    return (error as ApiError).fieldErrors;
  };

  it('requires a name of 1 to 100 characters, trimmed', async () => {
    expect(await problems({ name: '', redirectUris: ['https://a.example/cb'] })).toEqual({ name: ['A name is required: the consent page shows it to users.'] });
    expect(await problems({ name: '   ', redirectUris: ['https://a.example/cb'] })).toEqual({ name: ['A name is required: the consent page shows it to users.'] });
    expect(await problems({ name: 'x'.repeat(101), redirectUris: ['https://a.example/cb'] })).toEqual({ name: ['At most 100 characters.'] });
  });

  it('requires 1 to 20 distinct, acceptable redirect URIs, and reports every problem', async () => {
    expect(await problems({ name: 'App', redirectUris: [] })).toEqual({ redirect_uri: ['At least one redirect URI is required.'] });
    expect(await problems({ name: 'App', redirectUris: ['https://a.example/cb', 'https://a.example/cb'] })).toEqual({ redirect_uri: ['A redirect URI is listed twice.'] });
    const many = Array.from({ length: 21 }, (_, i) => `https://a.example/cb${i}`);
    expect(await problems({ name: 'App', redirectUris: many })).toEqual({ redirect_uri: ['At most 20 redirect URIs.'] });
    const both = await problems({ name: '', redirectUris: ['/x', 'http://a.example/cb'] });
    expect(Object.keys(both ?? {})).toEqual(['name', 'redirect_uri']);
    expect(both?.redirect_uri).toHaveLength(2);
  });
});
