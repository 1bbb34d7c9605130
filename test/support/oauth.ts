// The OAuth authorization flow in-process (app.inject), for tests that need a grant or a token
// the real way but not a browser: authorize → login page → consent page → code → token.
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { createClient, type CreatedClient } from '../../src/oauth/clients.service.ts';
import type { Deps } from '../../src/kernel/deps.ts';
import { browserFor, type Browser } from './inject-browser.ts';

export const REDIRECT_URI = 'https://app.example.test/callback';

export async function makeClient(deps: Deps, options: { name?: string; redirectUris?: string[]; public?: boolean } = {}): Promise<CreatedClient & { redirectUri: string }> {
  const redirectUris = options.redirectUris ?? [REDIRECT_URI];
  const created = await createClient(deps, { name: options.name ?? 'Test application', redirectUris, public: options.public ?? false });
  return { ...created, redirectUri: redirectUris[0]! };
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function follow(res: LightMyRequestResponse): string {
  expect(res.statusCode, res.body).toBeGreaterThanOrEqual(300);
  expect(res.statusCode, res.body).toBeLessThan(400);
  const location = String(res.headers.location);
  return location.startsWith('/') ? location : new URL(location).pathname + new URL(location).search;
}

/**
 * Runs the browser's part of the flow for `user` and returns the code from the redirect.
 * `browser` may be passed to keep the provider's login session between runs.
 */
export async function authorize(
  app: FastifyInstance,
  client: { client_id: string; redirectUri: string },
  user: { username: string; password: string },
  options: { scope?: string; challenge?: string; browser?: Browser; decision?: 'allow' | 'deny' } = {},
): Promise<{ code: string | null; callback: URL; browser: Browser; sawLogin: boolean; sawConsent: boolean }> {
  const browser = options.browser ?? browserFor(app);
  const query = new URLSearchParams({ client_id: client.client_id, response_type: 'code', redirect_uri: client.redirectUri, state: 'st4te' });
  if (options.scope !== undefined) query.set('scope', options.scope);
  if (options.challenge !== undefined) {
    query.set('code_challenge', options.challenge);
    query.set('code_challenge_method', 'S256');
  }
  let res = await browser.get(`/api/v1.1/o/authorize/?${query}`);
  let sawLogin = false;
  let sawConsent = false;
  for (let step = 0; step < 8; step++) {
    const location = String(res.headers.location ?? '');
    if (res.statusCode === 303 && location.startsWith(client.redirectUri)) {
      const callback = new URL(location);
      return { code: callback.searchParams.get('code'), callback, browser, sawLogin, sawConsent };
    }
    if (res.statusCode >= 300 && res.statusCode < 400) {
      res = await browser.get(follow(res));
      continue;
    }
    expect(res.statusCode, res.body).toBe(200);
    const action = /<form method="post" action="([^"]+)"/.exec(res.body)?.[1];
    if (!action) throw new Error(`no form on the page:\n${res.body}`);
    if (action.endsWith('/login')) sawLogin = true;
    else sawConsent = true;
    res = action.endsWith('/login')
      ? await browser.post(action, { username: user.username, password: user.password })
      : await browser.post(action, { decision: options.decision ?? 'allow' });
  }
  throw new Error('the flow did not reach the redirect URI');
}

/** Redeems a code at the token endpoint with HTTP Basic; the parsed answer and its status. */
export async function redeem(app: FastifyInstance, client: CreatedClient & { redirectUri: string }, code: string, verifier: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1.1/o/token/',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
    },
    payload: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier }).toString(),
  });
  return { status: res.statusCode, body: res.json() as Record<string, string | number>, headers: res.headers };
}
