// `accounts client …` and `accounts grant …` end to end: the binary as a
// real process on a real database of the project's dialect. Grants are written straight into
// oauth_artifacts the way the provider's adapter (src/oauth/adapter.ts) stores them, so these
// tests need no browser; the full OAuth flow is tested elsewhere.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDate, formatMicros } from '../../src/kernel/clock.ts';
import { loadConfig } from '../../src/kernel/config.ts';
import { openStore } from '../../src/kernel/db/connect.ts';
import type { Store } from '../../src/kernel/db/store.ts';
import type { OAuthArtifactRow, OAuthClientRow } from '../../src/kernel/db/database.ts';
import { PUBLIC_URL, cliOnTempDb, expectOneLineFailure, lastLine, lines, type Cli } from '../support/cli.ts';

const CLIENT_ID_SHAPE = /^[A-Za-z0-9_-]{24}$/;
const SECRET_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const API_RESOURCE = `${PUBLIC_URL.replace(/\/$/, '')}/api/v1.1/`;
const HOUR_S = 3600;

let cli: Cli;
let store: Store;
let grantUserId: number;
let otherUserId: number;

beforeAll(async () => {
  cli = await cliOnTempDb();
  grantUserId = (JSON.parse(lastLine((await cli.ok(['user', 'create', 'grantuser', '--email', 'grant@example.com'])).stdout)) as { id: number }).id;
  otherUserId = (JSON.parse(lastLine((await cli.ok(['user', 'create', 'otheruser', '--email', 'other@example.com'])).stdout)) as { id: number }).id;
  // The commands above have migrated the database; the tests read and write it directly too.
  store = openStore(loadConfig({ DATABASE_URL: cli.database.url }).database);
});

afterAll(async () => {
  await store?.close();
  await cli?.remove();
});

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

type Created = { client_id: string; client_secret?: string };
type ListedClient = { client_id: string; name: string; type: string; redirect_uris: string[]; created_at: string };
type ListedGrant = { client_id: string; client_name: string | null; scopes: string[]; granted_at: string };

async function createClient(args: string[]): Promise<{ created: Created; stdout: string; stderr: string }> {
  const result = await cli.ok(['client', 'create', ...args]);
  return { created: JSON.parse(lastLine(result.stdout)) as Created, stdout: result.stdout, stderr: result.stderr };
}

async function clientRow(clientId: string): Promise<OAuthClientRow | undefined> {
  return store.db.selectFrom('oauth_clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
}

async function listClientsJson(): Promise<ListedClient[]> {
  return lines((await cli.ok(['client', 'list', '--json'])).stdout).map((l) => JSON.parse(l) as ListedClient);
}

async function listGrantsJson(username: string): Promise<ListedGrant[]> {
  return lines((await cli.ok(['grant', 'list', username, '--json'])).stdout).map((l) => JSON.parse(l) as ListedGrant);
}

/** An artifact row as the adapter writes it: the id's digest, the payload without its jti. */
function artifact(model: string, id: string, payload: Record<string, unknown>, expiresInS = HOUR_S): OAuthArtifactRow {
  return {
    model,
    id: sha256(id),
    payload: JSON.stringify({ ...payload, kind: model }),
    grant_id: typeof payload.grantId === 'string' ? payload.grantId : null,
    uid: null,
    user_code: null,
    account_id: typeof payload.accountId === 'string' ? payload.accountId : null,
    client_id: typeof payload.clientId === 'string' ? payload.clientId : null,
    expires_at: formatDate(new Date(Date.now() + expiresInS * 1000)),
    consumed_at: null,
  };
}

type Issued = { grantId: string; accessToken: string };

/**
 * What the provider stores when a user allows a client: the Grant (its own id in grant_id too,
 * as the adapter's grantId column is filled from the payload) and an access token under it.
 */
async function issueGrant(
  userId: number,
  clientId: string,
  options: { iat?: number; openid?: string; api?: string; expiresInS?: number } = {},
): Promise<Issued> {
  const grantId = randomBytes(16).toString('base64url');
  const accessToken = randomBytes(32).toString('base64url');
  const iat = options.iat ?? Math.floor(Date.now() / 1000);
  const expiresInS = options.expiresInS ?? 14 * 24 * HOUR_S;
  const accountId = String(userId);
  const grant = artifact(
    'Grant',
    grantId,
    {
      accountId,
      clientId,
      iat,
      exp: iat + expiresInS,
      ...(options.openid !== undefined ? { openid: { scope: options.openid } } : {}),
      resources: { [API_RESOURCE]: options.api ?? 'profile_read email_read' },
    },
    expiresInS,
  );
  grant.grant_id = grantId;
  const token = artifact('AccessToken', accessToken, {
    accountId,
    clientId,
    grantId,
    iat,
    exp: iat + HOUR_S,
    scope: options.api ?? 'profile_read email_read',
    aud: API_RESOURCE,
  });
  await store.db.insertInto('oauth_artifacts').values([grant, token]).execute();
  return { grantId, accessToken };
}

async function artifactsOfGrant(grantId: string): Promise<{ model: string }[]> {
  return store.db.selectFrom('oauth_artifacts').select('model').where('grant_id', '=', grantId).orderBy('model').execute();
}

describe('accounts client create', () => {
  it('a confidential client: id and secret as one JSON object, alone on stdout; only the digest is stored', async () => {
    const { created, stdout, stderr } = await createClient([
      '--name',
      '  Photo Printer  ',
      '--redirect-uri',
      'https://printer.example.com/oauth/callback',
      '--redirect-uri',
      'http://127.0.0.1:8765/cb',
      '--redirect-uri',
      'http://[::1]/cb',
    ]);
    expect(Object.keys(created).sort()).toEqual(['client_id', 'client_secret']);
    expect(created.client_id).toMatch(CLIENT_ID_SHAPE);
    expect(created.client_secret).toMatch(SECRET_SHAPE);
    expect(stdout).toBe(`${JSON.stringify(created)}\n`);
    expect(stderr).toContain('"Photo Printer"');
    expect(stderr).toContain(created.client_id);
    expect(stderr).toMatch(/shown only this once/);
    expect(stderr).not.toContain(created.client_secret);

    const row = await clientRow(created.client_id);
    expect(row).toMatchObject({
      name: 'Photo Printer',
      secret_digest: sha256(created.client_secret!),
      redirect_uris: JSON.stringify(['https://printer.example.com/oauth/callback', 'http://127.0.0.1:8765/cb', 'http://[::1]/cb']),
    });
    // The secret itself is nowhere in the table.
    const everything = JSON.stringify(await store.db.selectFrom('oauth_clients').selectAll().execute());
    expect(everything).not.toContain(created.client_secret);
  });

  it('a public client: no secret, in the output or in the database', async () => {
    const { created, stdout, stderr } = await createClient(['--name', 'Phone App', '--redirect-uri', 'http://localhost:4000/cb', '--public']);
    expect(created).toEqual({ client_id: expect.stringMatching(CLIENT_ID_SHAPE) });
    expect(stdout).toBe(`{"client_id":"${created.client_id}"}\n`);
    expect(stderr).toContain('"Phone App"');
    expect(stderr).toMatch(/no secret/i);
    expect(await clientRow(created.client_id)).toMatchObject({ name: 'Phone App', secret_digest: null, redirect_uris: '["http://localhost:4000/cb"]' });
  });

  it('every client gets its own id and secret', async () => {
    const [a, b] = await Promise.all([
      createClient(['--name', 'Twin', '--redirect-uri', 'https://twin.example.com/cb']),
      createClient(['--name', 'Twin', '--redirect-uri', 'https://twin.example.com/cb']),
    ]);
    expect(a!.created.client_id).not.toBe(b!.created.client_id);
    expect(a!.created.client_secret).not.toBe(b!.created.client_secret);
  });
});

describe('accounts client create with bad input: one error line, a non-zero exit, no client', () => {
  const REJECTED = 'Rejected App';
  // Each rule is checked in-process by src/oauth/clients.service.test.ts; here, that the CLI
  // reports the service's messages and commander's own, one line each.
  const cases: { name: string; args: string[]; error: RegExp }[] = [
    {
      name: 'several problems at once, on one line',
      args: ['--name', '', '--redirect-uri', 'not a url', '--redirect-uri', 'http://app.example.com/cb'],
      error: /^accounts: error: name: A name is required.*; redirect_uri: "not a url" is not an absolute URL\. "http:\/\/app\.example\.com\/cb" uses http/,
    },
    { name: 'no redirect URI', args: ['--name', REJECTED], error: /^accounts: error: redirect_uri: At least one redirect URI is required/ },
    // Commander's own messages.
    { name: 'no --name', args: ['--redirect-uri', 'https://app.example.com/cb'], error: /^accounts: error: required option '--name <name>' not specified/ },
    { name: '--redirect-uri without a value', args: ['--name', REJECTED, '--redirect-uri'], error: /^accounts: error: option '--redirect-uri <uri>' argument missing/ },
  ];

  it.concurrent.for(cases)('$name', async ({ args, error }) => {
    expectOneLineFailure(await cli.run(['client', 'create', ...args]), error);
  });

  it('none of them made a client', async () => {
    const names = (await store.db.selectFrom('oauth_clients').select('name').execute()).map((r) => r.name);
    expect(names).not.toContain(REJECTED);
    for (const name of names) expect(name.trim()).not.toBe('');
  });
});

describe('accounts client list', () => {
  it('shows every client as a table or as JSON lines, never a secret', async () => {
    const confidential = await createClient(['--name', 'Listed Confidential', '--redirect-uri', 'https://listed.example.com/a', '--redirect-uri', 'https://listed.example.com/b']);
    const pub = await createClient(['--name', 'Listed Public', '--redirect-uri', 'http://localhost/cb', '--public']);

    const json = await cli.ok(['client', 'list', '--json']);
    expect(json.stderr).toBe('');
    expect(json.stdout).not.toContain(confidential.created.client_secret);
    expect(json.stdout).not.toContain(sha256(confidential.created.client_secret!));
    expect(json.stdout).not.toContain('secret');
    const clients = lines(json.stdout).map((l) => JSON.parse(l) as ListedClient);
    const byId = new Map(clients.map((c) => [c.client_id, c]));
    const listedConfidential = byId.get(confidential.created.client_id);
    expect(Object.keys(listedConfidential!).sort()).toEqual(['client_id', 'created_at', 'name', 'redirect_uris', 'type']);
    expect(listedConfidential).toMatchObject({
      name: 'Listed Confidential',
      type: 'confidential',
      redirect_uris: ['https://listed.example.com/a', 'https://listed.example.com/b'],
    });
    expect(Number.isNaN(Date.parse(listedConfidential!.created_at))).toBe(false);
    expect(byId.get(pub.created.client_id)).toMatchObject({ name: 'Listed Public', type: 'public', redirect_uris: ['http://localhost/cb'] });

    const table = await cli.ok(['client', 'list']);
    expect(table.stdout).not.toContain(confidential.created.client_secret);
    const [header, ...rows] = lines(table.stdout);
    expect(header!.split(/\s{2,}/)).toEqual(['CLIENT ID', 'NAME', 'TYPE', 'REDIRECT URIS', 'CREATED']);
    expect(rows).toHaveLength(clients.length);
    const row = rows.find((r) => r.startsWith(`${confidential.created.client_id} `));
    expect(row!.split(/\s{2,}/)).toEqual([
      confidential.created.client_id,
      'Listed Confidential',
      'confidential',
      'https://listed.example.com/a https://listed.example.com/b',
      listedConfidential!.created_at,
    ]);
    const pubRow = rows.find((r) => r.startsWith(`${pub.created.client_id} `));
    expect(pubRow!.split(/\s{2,}/)).toEqual([pub.created.client_id, 'Listed Public', 'public', 'http://localhost/cb', byId.get(pub.created.client_id)!.created_at]);
  });
});

describe('accounts client delete', () => {
  it('deletes the client and everything issued to it, nothing else', async () => {
    const doomed = (await createClient(['--name', 'Doomed', '--redirect-uri', 'https://doomed.example.com/cb'])).created.client_id;
    const kept = (await createClient(['--name', 'Kept', '--redirect-uri', 'https://kept.example.com/cb'])).created.client_id;
    const doomedGrant = await issueGrant(grantUserId, doomed);
    const keptGrant = await issueGrant(grantUserId, kept);
    expect((await listGrantsJson('grantuser')).map((g) => g.client_id)).toEqual(expect.arrayContaining([doomed, kept]));

    const result = await cli.ok(['client', 'delete', doomed]);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim()).toBe(`Deleted client ${doomed} and every code, token and grant issued to it.`);

    expect(await clientRow(doomed)).toBeUndefined();
    expect(await artifactsOfGrant(doomedGrant.grantId)).toEqual([]);
    expect(await store.db.selectFrom('oauth_artifacts').select('id').where('client_id', '=', doomed).execute()).toEqual([]);
    expect(await clientRow(kept)).toBeDefined();
    expect(await artifactsOfGrant(keptGrant.grantId)).toEqual([{ model: 'AccessToken' }, { model: 'Grant' }]);
    expect((await listClientsJson()).map((c) => c.client_id)).not.toContain(doomed);
    const grants = (await listGrantsJson('grantuser')).map((g) => g.client_id);
    expect(grants).not.toContain(doomed);
    expect(grants).toContain(kept);

    // Clean up what this test granted, so the grant tests below start from nothing.
    await cli.ok(['grant', 'revoke', 'grantuser', kept]);
  });

  it('an unknown client, or one deleted already: not found', async () => {
    const gone = (await createClient(['--name', 'Gone', '--redirect-uri', 'https://gone.example.com/cb'])).created.client_id;
    await cli.ok(['client', 'delete', gone]);
    const again = await cli.run(['client', 'delete', gone]);
    expectOneLineFailure(again, new RegExp(`^accounts: error: No client has the id "${gone}"\\.\n$`));
    expect(again.code).toBe(1);
    expectOneLineFailure(await cli.run(['client', 'delete', 'no-such-client']), /^accounts: error: No client has the id "no-such-client"\./);
    expectOneLineFailure(await cli.run(['client', 'delete']), /^accounts: error: missing required argument 'client-id'/);
  });
});

describe('accounts grant list and revoke', () => {
  it('lists the applications a user authorised, one per client with its scopes merged, and revokes them', async () => {
    const mail = (await createClient(['--name', 'Mail Reader', '--redirect-uri', 'https://mail.example.com/cb'])).created.client_id;
    const profile = (await createClient(['--name', 'Profile Viewer', '--redirect-uri', 'http://localhost:3000/cb', '--public'])).created.client_id;
    const stale = (await createClient(['--name', 'Stale', '--redirect-uri', 'https://stale.example.com/cb'])).created.client_id;

    expect((await cli.ok(['grant', 'list', 'grantuser', '--json'])).stdout).toBe('');
    expect(lines((await cli.ok(['grant', 'list', 'grantuser'])).stdout)).toEqual(['CLIENT ID  NAME  SCOPES  GRANTED']);

    const now = Math.floor(Date.now() / 1000);
    // Two grants to the same client (the user allowed it twice): shown once, scopes merged, the first date.
    const first = await issueGrant(grantUserId, mail, { iat: now - 7200, openid: 'openid', api: 'profile_read email_read' });
    const second = await issueGrant(grantUserId, mail, { iat: now - 60, api: 'email_read email_write' });
    const profileGrant = await issueGrant(grantUserId, profile, { iat: now - 30, api: 'profile_read' });
    // An expired grant is not an authorisation any more.
    await issueGrant(grantUserId, stale, { iat: now - 30 * 86_400, expiresInS: -60 });
    // Another user's grant to the same client is theirs alone.
    const others = await issueGrant(otherUserId, mail, { iat: now - 10, api: 'profile_read' });

    const grants = await listGrantsJson('GrantUser');
    expect(grants).toHaveLength(2);
    const byClient = new Map(grants.map((g) => [g.client_id, g]));
    expect(byClient.get(mail)).toEqual({
      client_id: mail,
      client_name: 'Mail Reader',
      scopes: ['email_read', 'email_write', 'openid', 'profile_read'],
      granted_at: formatMicros((now - 7200) * 1_000_000),
    });
    expect(byClient.get(profile)).toEqual({ client_id: profile, client_name: 'Profile Viewer', scopes: ['profile_read'], granted_at: formatMicros((now - 30) * 1_000_000) });
    expect(await listGrantsJson('otheruser')).toEqual([
      { client_id: mail, client_name: 'Mail Reader', scopes: ['profile_read'], granted_at: formatMicros((now - 10) * 1_000_000) },
    ]);

    const table = await cli.ok(['grant', 'list', 'grantuser']);
    const [header, ...rows] = lines(table.stdout);
    expect(header!.split(/\s{2,}/)).toEqual(['CLIENT ID', 'NAME', 'SCOPES', 'GRANTED']);
    expect(rows.map((r) => r.split(/\s{2,}/))).toEqual(
      expect.arrayContaining([
        [mail, 'Mail Reader', 'email_read,email_write,openid,profile_read', formatMicros((now - 7200) * 1_000_000)],
        [profile, 'Profile Viewer', 'profile_read', formatMicros((now - 30) * 1_000_000)],
      ]),
    );
    expect(rows).toHaveLength(2);

    // Revoking deletes both grants to the client and the tokens issued under them, nothing else.
    const revoked = await cli.ok(['grant', 'revoke', 'GrantUser', mail]);
    expect(revoked.stdout).toBe('');
    expect(revoked.stderr.trim()).toBe(`Revoked the access of client ${mail} to grantuser: its grants, codes and tokens are deleted.`);
    expect(await artifactsOfGrant(first.grantId)).toEqual([]);
    expect(await artifactsOfGrant(second.grantId)).toEqual([]);
    for (const token of [first.accessToken, second.accessToken]) {
      expect(await store.db.selectFrom('oauth_artifacts').select('id').where('model', '=', 'AccessToken').where('id', '=', sha256(token)).execute()).toEqual([]);
    }
    expect(await artifactsOfGrant(profileGrant.grantId)).toEqual([{ model: 'AccessToken' }, { model: 'Grant' }]);
    expect(await artifactsOfGrant(others.grantId)).toEqual([{ model: 'AccessToken' }, { model: 'Grant' }]);
    expect((await listGrantsJson('grantuser')).map((g) => g.client_id)).toEqual([profile]);
    expect((await listGrantsJson('otheruser')).map((g) => g.client_id)).toEqual([mail]);
    expect(await clientRow(mail)).toBeDefined(); // the client itself stays

    // The audit trail records it, as done by an operator.
    const audit = lines((await cli.ok(['audit', 'grantuser', '--json'])).stdout).map((l) => JSON.parse(l) as { event: string; actor: string; outcome: string; detail: unknown });
    // (The last event; the one before it is the clean-up of the delete test.)
    expect(audit.at(-1)).toMatchObject({ event: 'oauth_revoked', actor: 'admin', outcome: 'success', detail: { client_id: mail } });
    const auditTable = await cli.ok(['audit', 'grantuser']);
    expect(auditTable.stdout).toMatch(/oauth_revoked\s+admin/);
    expect(lines((await cli.ok(['audit', 'otheruser', '--json'])).stdout).map((l) => (JSON.parse(l) as { event: string }).event)).not.toContain('oauth_revoked');

    // Again: nothing left to revoke.
    expectOneLineFailure(await cli.run(['grant', 'revoke', 'grantuser', mail]), new RegExp(`^accounts: error: grantuser has not authorised a client with the id "${mail}"\\.`));
    await cli.ok(['grant', 'revoke', 'grantuser', profile]);
    expect(await listGrantsJson('grantuser')).toEqual([]);
  });

  it('refuses what is not there: a client never authorised, an unknown client, an unknown user', async () => {
    const never = (await createClient(['--name', 'Never Authorised', '--redirect-uri', 'https://never.example.com/cb'])).created.client_id;
    const notAuthorised = await cli.run(['grant', 'revoke', 'otheruser', never]);
    expectOneLineFailure(notAuthorised, new RegExp(`^accounts: error: otheruser has not authorised a client with the id "${never}"\\.`));
    expect(notAuthorised.code).toBe(1);
    expectOneLineFailure(await cli.run(['grant', 'revoke', 'otheruser', 'no-such-client']), /^accounts: error: otheruser has not authorised a client with the id "no-such-client"\./);
    expectOneLineFailure(await cli.run(['grant', 'list', 'nobody']), /^accounts: error: No user named "nobody"\./);
    expectOneLineFailure(await cli.run(['grant', 'list', 'nobody', '--json']), /^accounts: error: No user named "nobody"\./);
    expectOneLineFailure(await cli.run(['grant', 'revoke', 'nobody', never]), /^accounts: error: No user named "nobody"\./);
    expectOneLineFailure(await cli.run(['grant', 'revoke', 'otheruser']), /^accounts: error: missing required argument 'client-id'/);
    // Nothing was recorded for the refusals.
    const events = lines((await cli.ok(['audit', 'otheruser', '--json'])).stdout).map((l) => (JSON.parse(l) as { event: string }).event);
    expect(events).not.toContain('oauth_revoked');
  });
});

describe('--help', () => {
  const cases: { command: string[]; mentions: string[] }[] = [
    { command: ['client', 'create'], mentions: ['--name <name>', '--redirect-uri <uri>', '--public', 'shown this once'] },
    { command: ['grant', 'revoke'], mentions: ['<username>', '<client-id>'] },
  ];
  const named = cases.map((c) => ({ ...c, name: ['accounts', ...c.command, '--help'].join(' ') }));
  it.concurrent.for(named)('$name', async ({ command, mentions }, { expect }) => {
    const result = await cli.run([...command, '--help']);
    expect(result.code).toBe(0);
    for (const mention of mentions) expect(result.stdout).toContain(mention);
  });
});
