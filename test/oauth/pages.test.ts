// The OAuth sign-in's pages as the web layer (src/web) makes them: what a client's name holds is
// escaped, the page headers with form-action open to the client's redirect origin, and the
// interaction's CSRF token: bound to the interaction, and of its own purpose (a token of the same
// construction made for another purpose is refused, here and on the account page).
import type { LightMyRequestResponse } from 'fastify';
import { WEBAUTHN_SCRIPT } from '../../src/web/webauthn-script.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCsrf } from '../../src/web/csrf.ts';
import { loadProviderSecrets } from '../../src/oauth/keys.ts';
import { buildTestApp, makeUser, type TestApp } from '../support/app.ts';
import { makeClient, pkcePair } from '../support/oauth.ts';
import { expectPageHeaders } from '../support/pages.ts';
import { browserFor, type Browser } from '../support/inject-browser.ts';

const HOSTILE_NAME = '<script>alert("pwned")</script> & Co';

let t: TestApp;
let client: Awaited<ReturnType<typeof makeClient>>;
let csrfKey: string;

beforeAll(async () => {
  t = await buildTestApp();
  client = await makeClient(t.deps, { name: HOSTILE_NAME });
  csrfKey = (await loadProviderSecrets(t.deps)).cookieKeys[0]!;
});
afterAll(() => t?.close());

/** A browser at the login page of a new sign-in: the page, and the interaction's uid. */
async function atLoginPage(browser: Browser = browserFor(t.app)): Promise<{ browser: Browser; page: LightMyRequestResponse; uid: string }> {
  const query = new URLSearchParams({ client_id: client.client_id, response_type: 'code', redirect_uri: client.redirectUri, state: 's', code_challenge: pkcePair().challenge, code_challenge_method: 'S256' });
  const start = await browser.get(`/api/v1.1/o/authorize/?${query}`);
  expect(start.statusCode, start.body).toBe(303);
  const location = String(start.headers.location);
  const uid = /\/interaction\/([^/]+)\/$/.exec(location)![1]!;
  const page = await browser.get(location);
  expect(page.statusCode, page.body).toBe(200);
  return { browser, page, uid };
}

describe('the OAuth login and consent pages', () => {
  it('escape the client’s name, and carry the page headers with form-action open to its redirect origin (and no opener policy: an application may open them in a popup)', async () => {
    const { browser, page, uid } = await atLoginPage();
    expectPageHeaders(page, { referrerPolicy: 'no-referrer', https: true, formTargets: ['https://app.example.test'], openedByApplications: true, webauthn: true });
    // The one script is the passkey script; the client's name never becomes one.
    expect(page.body.replace(`<script>${WEBAUTHN_SCRIPT}</script>`, '')).not.toContain('<script>');
    // SIGNUP is closed here (the default): no way to create an account is offered.
    expect(page.body).not.toContain('Create an account');
    expect(page.body).toContain('<strong id="client-name">&#60;script&#62;alert(&#34;pwned&#34;)&#60;/script&#62; &#38; Co</strong>');

    const user = await makeUser(t.deps, { fullName: '<img src=x onerror=alert(1)>' });
    let consentPage = await browser.post(`/api/v1.1/o/interaction/${uid}/login`, { username: user.username, password: user.password });
    for (let i = 0; i < 4 && consentPage.statusCode === 303; i++) {
      const location = new URL(String(consentPage.headers.location), t.config.publicUrl);
      consentPage = await browser.get(location.pathname + location.search);
    }
    expect(consentPage.statusCode, consentPage.body).toBe(200);
    expect(consentPage.body).toContain('/consent');
    expectPageHeaders(consentPage, { referrerPolicy: 'no-referrer', https: true, formTargets: ['https://app.example.test'], openedByApplications: true, webauthn: true });
    expect(consentPage.body).not.toContain('<script>');
    expect(consentPage.body).toContain('<title>Allow &#60;script&#62;alert(&#34;pwned&#34;)&#60;/script&#62; &#38; Co?</title>');
    expect(consentPage.body).toContain('<span id="client-name">&#60;script&#62;');
  });

  it('take the interaction’s token only: not another interaction’s, not one made for another purpose', async () => {
    const user = await makeUser(t.deps);
    const csrf = createCsrf(csrfKey);
    const { browser, uid } = await atLoginPage();
    const { uid: otherUid } = await atLoginPage(browserFor(t.app));
    const post = (token: string) => browser.post(`/api/v1.1/o/interaction/${uid}/login`, { username: user.username, password: user.password }, { csrf: token });
    for (const token of [csrf.tokenFor('oauth-interaction', otherUid), csrf.tokenFor('account-session', uid), csrf.tokenFor('account-login', uid), createCsrf('another key').tokenFor('oauth-interaction', uid)]) {
      const refused = await post(token);
      expect(refused.statusCode).toBe(403);
      expect(refused.body).toContain('This form has expired');
    }
    expect((await post(csrf.tokenFor('oauth-interaction', uid))).statusCode).toBe(303);
  });

  it('the account page takes its session’s token only: not the interaction’s or the login form’s construction', async () => {
    const user = await makeUser(t.deps);
    const browser = browserFor(t.app);
    expect((await browser.login(user.username, user.password)).statusCode).toBe(303);
    const sessionId = browser.cookies.get('account_session')!;
    const csrf = createCsrf(csrfKey);
    const save = (token: string) => browser.post('/account/profile', { full_name: 'Changed' }, { csrf: token });
    for (const token of [csrf.tokenFor('account-login', sessionId), csrf.tokenFor('oauth-interaction', sessionId)]) expect((await save(token)).statusCode).toBe(403);
    expect((await save(csrf.tokenFor('account-session', sessionId))).statusCode).toBe(303);
  });
});
