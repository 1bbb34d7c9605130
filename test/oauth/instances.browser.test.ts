// Two `accounts serve` instances on one database (one SQLite file, or one PostgreSQL database),
// with the same PUBLIC_URL as behind a load balancer:
// - token lifetimes follow the settings (OAUTH_ACCESS_TOKEN_SECONDS here), codes live 60 s;
// - a code issued through one instance is redeemed through the other, and its tokens work on both;
// - a token revoked (RFC 7009) through one instance, an access token that has expired, a grant
//   revoked by `accounts grant revoke` (another process): refused by every instance within 5 s;
// - a refresh token outlives the browser's login session.
// Expiry is not waited for (the shortest access token lifetime is 60 s): the token's expiry in
// the database is set to a moment just past, which is what the passing of its lifetime leaves.
import { createHash } from 'node:crypto';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDate } from '../../src/kernel/clock.ts';
import { loadConfig } from '../../src/kernel/config.ts';
import { createDeps } from '../../src/wiring.ts';
import { createAuthCache } from '../../src/auth/auth-cache.ts';
import { createClient } from '../../src/oauth/clients.service.ts';
import { eventually, withTestStore } from '../support/e2e.ts';
import { freePort, runCli, startServer, type ServerProcess } from '../support/processes.ts';
import {
  DEFAULT_SCOPE,
  authorizationRequest,
  authorizeInBrowser,
  basicAuth,
  cliCreateClient,
  cliCreateUser,
  cliGrants,
  oauthFailure,
  openBrowserSession,
  post,
  redeem,
  relyingParty,
  startOAuthScenario,
  type BrowserSession,
  type CallbackServer,
  type OAuthScenario,
  type OAuthServer,
  type RegisteredClient,
  type Relying,
  type TestUser,
} from './helpers.ts';

const ACCESS_TOKEN_SECONDS = 900;
const WITHIN_MS = 5_000;
const APP_NAME = 'Multi Instance App';

let scenario: OAuthScenario | undefined;
let second: ServerProcess | undefined;
let session: BrowserSession | undefined;
let server: OAuthServer;
let instances: ServerProcess[];
let callback: CallbackServer;
let user: TestUser;
let client: RegisteredClient;
let rp: Relying;

beforeAll(async () => {
  scenario = await startOAuthScenario({ OAUTH_ACCESS_TOKEN_SECONDS: String(ACCESS_TOKEN_SECONDS) });
  ({ server, callback } = scenario);
  session = await openBrowserSession(scenario.browser);
  // The second instance starts once the first has migrated the database and made its keys.
  second = await startServer({ ...server.env, PORT: String(await freePort()) });
  instances = [server.server, second];
  user = await cliCreateUser(server.env, 'multiuser');
  client = await cliCreateClient(server.env, APP_NAME, [callback.uri]);
  rp = await relyingParty(server.issuer, client);
});

afterAll(async () => {
  await session?.close();
  await second?.stop();
  await scenario?.close();
});

/** Tokens the real way: openid-client, the browser (logging in and allowing when asked), then a redemption. */
async function tokens(page = session!.page) {
  const request = await authorizationRequest(rp.config, callback.uri);
  const result = await authorizeInBrowser(page, callback, request, user);
  return redeem(rp.config, request, result.callback);
}

/** What each instance answers to GET /users/multiuser/ with the access token. */
function statuses(accessToken: string): Promise<number[]> {
  return Promise.all(
    instances.map(async (instance) => (await fetch(`${instance.url}/api/v1.1/users/multiuser/`, { headers: { authorization: `Bearer ${accessToken}` } })).status),
  );
}

/** Polls until every instance answers `status`; fails unless that happens within 5 s of `since`. */
async function expectEveryInstance(accessToken: string, status: number, since: number): Promise<void> {
  let answers: number[] = [];
  await eventually(async () => {
    answers = await statuses(accessToken);
    return answers.every((a) => a === status);
  }, since + WITHIN_MS - Date.now());
  expect(answers, `what each instance answered within ${WITHIN_MS} ms`).toEqual(instances.map(() => status));
}

/** Introspection through one instance, as the client (HTTP Basic). */
async function introspect(instance: ServerProcess, token: string): Promise<Record<string, unknown>> {
  const response = await post(`${instance.url}/api/v1.1/o/introspect/`, { token }, { authorization: basicAuth(client.client_id, client.client_secret!) });
  expect(response.status).toBe(200);
  return response.body;
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

/** Moves a stored code's or token's end to a moment ago, as the passing of its lifetime would. */
async function expireInDatabase(model: 'AccessToken' | 'AuthorizationCode' | 'Session', id: string): Promise<void> {
  await withTestStore(server.database, async ({ db }) => {
    const row = await db.selectFrom('oauth_artifacts').selectAll().where('model', '=', model).where('id', '=', digest(id)).executeTakeFirst();
    expect(row, `the ${model} is stored under its digest`).toBeDefined();
    const past = Date.now() - 1000;
    const payload = { ...(JSON.parse(row!.payload) as Record<string, unknown>), exp: Math.floor(past / 1000) };
    await db
      .updateTable('oauth_artifacts')
      .set({ payload: JSON.stringify(payload), expires_at: formatDate(new Date(past)) })
      .where('model', '=', model)
      .where('id', '=', digest(id))
      .execute();
  });
}

describe('two instances on one database', () => {
  it('the access token lifetime follows OAUTH_ACCESS_TOKEN_SECONDS; the token works on every instance', async () => {
    const issued = await tokens();
    expect(issued.expires_in).toBe(ACCESS_TOKEN_SECONDS);
    expect(JSON.parse(rp.exchanges.at(-1)!.body)).toMatchObject({ expires_in: ACCESS_TOKEN_SECONDS, token_type: 'Bearer', scope: DEFAULT_SCOPE });
    for (const instance of instances) {
      const info = await introspect(instance, issued.access_token);
      expect(info).toMatchObject({ active: true, client_id: client.client_id, sub: String(user.id) });
      expect(Number(info.exp) - Number(info.iat)).toBe(ACCESS_TOKEN_SECONDS);
    }
    expect(await statuses(issued.access_token)).toEqual([200, 200]);
  });

  it('a code issued through one instance is redeemed through the other', async () => {
    const request = await authorizationRequest(rp.config, callback.uri);
    const result = await authorizeInBrowser(session!.page, callback, request, user);
    const response = await post(
      `${second!.url}/api/v1.1/o/token/`,
      { grant_type: 'authorization_code', code: result.callback.searchParams.get('code')!, redirect_uri: callback.uri, code_verifier: request.verifier },
      { authorization: basicAuth(client.client_id, client.client_secret!) },
    );
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ username: 'multiuser', user_id: user.id, scope: DEFAULT_SCOPE });
    expect(await statuses(String(response.body.access_token))).toEqual([200, 200]);
  });

  it('a token revoked (RFC 7009) through one instance is refused by every instance within 5 s, and the other instance introspects it as inactive', async () => {
    const issued = await tokens();
    expect(await statuses(issued.access_token)).toEqual([200, 200]);
    await oidc.tokenRevocation(rp.config, issued.access_token);
    const since = Date.now();
    await expectEveryInstance(issued.access_token, 401, since);
    expect(await introspect(second!, issued.access_token)).toEqual({ active: false });
  });

  it('an expired access token is refused by every instance and introspected as inactive; its refresh token still gives a working one', async () => {
    const issued = await tokens();
    expect(await statuses(issued.access_token)).toEqual([200, 200]);
    await expireInDatabase('AccessToken', issued.access_token);
    const since = Date.now();
    await expectEveryInstance(issued.access_token, 401, since);
    for (const instance of instances) expect(await introspect(instance, issued.access_token)).toEqual({ active: false });

    const refreshed = await oidc.refreshTokenGrant(rp.config, issued.refresh_token!);
    expect(await statuses(refreshed.access_token)).toEqual([200, 200]);
  });

  it('a code lives 60 s: once they are over, it is refused with invalid_grant', async () => {
    const request = await authorizationRequest(rp.config, callback.uri);
    const result = await authorizeInBrowser(session!.page, callback, request, user);
    const code = result.callback.searchParams.get('code')!;
    const stored = await withTestStore(server.database, ({ db }) =>
      db.selectFrom('oauth_artifacts').select('payload').where('model', '=', 'AuthorizationCode').where('id', '=', digest(code)).executeTakeFirstOrThrow(),
    );
    const payload = JSON.parse(stored.payload) as { iat: number; exp: number };
    expect(payload.exp - payload.iat).toBe(60);
    await expireInDatabase('AuthorizationCode', code);
    expect(await oauthFailure(redeem(rp.config, request, result.callback))).toEqual({ error: 'invalid_grant', status: 400 });
  });

  it('a refresh token outlives the login session of the browser that consented (SESSION_MAX_MINUTES, 12 h, against 180 days), and the API and introspection agree about its access token', async () => {
    const own = await openBrowserSession(scenario!.browser);
    try {
      const issued = await tokens(own.page);
      const cookie = (await own.context.cookies()).find((c) => c.name === '_session');
      expect(cookie, 'the provider keeps its login session in the _session cookie').toBeDefined();
      // The login session ends (its 12 hours are over); the grant and its tokens have not.
      await expireInDatabase('Session', cookie!.value);

      const api = await statuses(issued.access_token);
      const info = await introspect(server.server, issued.access_token);
      expect({ api, active: info.active }).toEqual({ api: [200, 200], active: true });
      const refreshed = await oidc.refreshTokenGrant(rp.config, issued.refresh_token!);
      expect(await statuses(refreshed.access_token)).toEqual([200, 200]);
    } finally {
      await own.close();
    }
  });
});

// Client ids are random base64url (src/oauth/clients.service.ts): unless the generator avoids
// it, one in 64 begins with '-', which the CLI's option parser takes for an option. The tests
// above put '--' before client ids, so as not to fail one run in 64; this one looks for such an
// id (500 clients make one with a probability of 99.96% if the generator allows them) and uses
// it the way the commands are documented: `accounts grant revoke USERNAME CLIENT_ID`, no `--`.
describe('every client id works as the CLI argument it is printed for', () => {
  it('`accounts grant revoke USERNAME CLIENT_ID` and `accounts client delete CLIENT_ID` take an id that begins with "-" as the id', async () => {
    const id = await withTestStore(server.database, async (store) => {
      const deps = createDeps({ config: loadConfig({ DATABASE_URL: server.database.url, PUBLIC_URL: server.issuer }), store, cache: createAuthCache() });
      for (let i = 0; i < 500; i++) {
        const created = await createClient(deps, { name: `Dash ${i}`, redirectUris: [callback.uri], public: true });
        if (created.client_id.startsWith('-')) return created.client_id;
      }
      return undefined; // the generator never begins an id with '-': nothing to check
    });
    if (id === undefined) return;
    const revoke = await runCli(['grant', 'revoke', 'multiuser', id], { env: server.env });
    expect(revoke.stderr.trim(), 'the CLI took the id for an option').toBe(`accounts: error: multiuser has not authorised a client with the id "${id}".`);
    const deleted = await runCli(['client', 'delete', id], { env: server.env });
    expect(deleted.stderr.trim(), 'the CLI took the id for an option').toBe(`Deleted client ${id} and every code, token and grant issued to it.`);
    expect(deleted.code).toBe(0);
  });
});

describe('accounts grant list and revoke', () => {
  it('list shows the application after consent; revoke makes every instance refuse its access token within 5 s and its refresh token fail with invalid_grant', async () => {
    const issued = await tokens();
    const grants = await cliGrants(server.env, 'multiuser');
    expect(grants).toEqual([{ client_id: client.client_id, client_name: APP_NAME, scopes: ['email_read', 'profile_read'], granted_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) }]);
    const table = await runCli(['grant', 'list', 'multiuser'], { env: server.env });
    expect(table.stdout).toContain(client.client_id);
    expect(table.stdout).toContain(APP_NAME);

    const revoked = await runCli(['grant', 'revoke', 'multiuser', '--', client.client_id], { env: server.env });
    expect(revoked.code, revoked.stderr).toBe(0);
    const since = Date.now();
    await expectEveryInstance(issued.access_token, 401, since);
    expect(await oauthFailure(oidc.refreshTokenGrant(rp.config, issued.refresh_token!))).toEqual({ error: 'invalid_grant', status: 400 });
    expect(await cliGrants(server.env, 'multiuser')).toEqual([]);

    // Nothing left to revoke: the CLI says so and fails.
    const again = await runCli(['grant', 'revoke', 'multiuser', '--', client.client_id], { env: server.env });
    expect(again.code).not.toBe(0);

    // The user is still logged in, but the application must ask again.
    const request = await authorizationRequest(rp.config, callback.uri);
    const result = await authorizeInBrowser(session!.page, callback, request, user);
    expect(result).toMatchObject({ sawLogin: false, sawConsent: true });
  });
});

describe('accounts client delete', () => {
  it("makes every instance refuse the client's access tokens within 5 s; its refresh tokens no longer work", async () => {
    const doomed = await cliCreateClient(server.env, 'Doomed App', [callback.uri]);
    const doomedRp = await relyingParty(server.issuer, doomed);
    const request = await authorizationRequest(doomedRp.config, callback.uri);
    const result = await authorizeInBrowser(session!.page, callback, request, user);
    const issued = await redeem(doomedRp.config, request, result.callback);
    expect(await statuses(issued.access_token)).toEqual([200, 200]);

    const deleted = await runCli(['client', 'delete', '--', doomed.client_id], { env: server.env });
    expect(deleted.code, deleted.stderr).toBe(0);
    await expectEveryInstance(issued.access_token, 401, Date.now());
    expect(await oauthFailure(oidc.refreshTokenGrant(doomedRp.config, issued.refresh_token!))).toEqual({ error: 'invalid_client', status: 401 });
  });
});

it('logged no error on either instance', () => {
  for (const instance of instances) expect(instance.output()).not.toMatch(/"level":(50|60)/);
});
