import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCsrf, isCrossSiteForm, type CsrfPurpose } from './csrf.ts';

const PURPOSES: CsrfPurpose[] = ['account-session', 'account-login', 'oauth-interaction'];

describe('one CSRF scheme', () => {
  const csrf = createCsrf('server-key');

  it('is base64url(HMAC-SHA256(key, purpose:binding))', () => {
    expect(csrf.tokenFor('account-login', '1700000000.abc')).toBe(createHmac('sha256', 'server-key').update('account-login:1700000000.abc').digest('base64url'));
  });

  it('accepts the token of the same purpose and binding only', () => {
    for (const purpose of PURPOSES) {
      const token = csrf.tokenFor(purpose, 'binding');
      expect(csrf.accepts(purpose, 'binding', token), purpose).toBe(true);
      expect(csrf.accepts(purpose, 'other binding', token), purpose).toBe(false);
      // A token made for one purpose is not one for another, with the same binding.
      for (const other of PURPOSES.filter((p) => p !== purpose)) expect(csrf.accepts(other, 'binding', token), `${purpose} as ${other}`).toBe(false);
    }
  });

  it('depends on the key', () => {
    expect(createCsrf('another key').accepts('account-session', 'binding', csrf.tokenFor('account-session', 'binding'))).toBe(false);
  });

  it('refuses what is not a token: nothing, a non-string, an empty binding', () => {
    const token = csrf.tokenFor('oauth-interaction', 'uid');
    for (const sent of [undefined, null, '', 42, [token], { token }]) expect(csrf.accepts('oauth-interaction', 'uid', sent)).toBe(false);
    expect(csrf.accepts('oauth-interaction', undefined, token)).toBe(false);
    expect(csrf.accepts('oauth-interaction', '', csrf.tokenFor('oauth-interaction', ''))).toBe(false);
    expect(() => createCsrf('')).toThrow();
  });
});

describe('isCrossSiteForm', () => {
  const publicOrigin = 'https://accounts.example.test';
  const request = (headers: Record<string, string>, host = 'accounts.example.test') => ({ headers, host });

  it('believes Fetch Metadata when it is sent: only same-origin (or a user action) passes', () => {
    expect(isCrossSiteForm(request({ 'sec-fetch-site': 'same-origin' }), publicOrigin)).toBe(false);
    expect(isCrossSiteForm(request({ 'sec-fetch-site': 'none' }), publicOrigin)).toBe(false);
    expect(isCrossSiteForm(request({ 'sec-fetch-site': 'same-site', origin: publicOrigin }), publicOrigin)).toBe(true);
    expect(isCrossSiteForm(request({ 'sec-fetch-site': 'cross-site' }), publicOrigin)).toBe(true);
  });

  it('else Origin: PUBLIC_URL, the host the request came to, null or none pass; another site does not', () => {
    expect(isCrossSiteForm(request({ origin: publicOrigin }, '127.0.0.1:8080'), publicOrigin)).toBe(false);
    expect(isCrossSiteForm(request({ origin: 'http://127.0.0.1:8080' }, '127.0.0.1:8080'), publicOrigin)).toBe(false);
    expect(isCrossSiteForm(request({ origin: 'null' }), publicOrigin)).toBe(false);
    expect(isCrossSiteForm(request({}), publicOrigin)).toBe(false);
    expect(isCrossSiteForm(request({ origin: 'https://evil.example' }), publicOrigin)).toBe(true);
    expect(isCrossSiteForm(request({ origin: 'not a url' }), publicOrigin)).toBe(true);
  });
});
