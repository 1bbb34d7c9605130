// `accounts user …` end to end: the binary as a real process on a real database of the project's
// dialect, checked through a real server (`accounts serve`) running on the same database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, bearer } from '../support/app.ts';
import { startServer, type ServerProcess } from '../support/processes.ts';
import { HAS_SCRIPT, PUBLIC_URL, cliOnTempDb, eventually, get, lastLine, lines, runOnTerminal, type Cli } from '../support/cli.ts';

let cli: Cli;
let server: ServerProcess;

beforeAll(async () => {
  cli = await cliOnTempDb();
  await cli.ok(['migrate']);
  server = await startServer(cli.env);
});

afterAll(async () => {
  await server?.stop();
  await cli?.remove();
});

const emailsOf = (username: string) => `/api/v1.1/users/${username}/emails/`;
const userPath = (username: string) => `/api/v1.1/users/${username}/`;

async function expectStatus(path: string, authorization: string, status: number): Promise<void> {
  await eventually(async () => expect((await get(server.url, path, authorization)).status).toBe(status));
}

async function createToken(username: string, scopes = 'profile_read,email_read'): Promise<string> {
  return lastLine((await cli.ok(['token', 'create', username, '--scopes', scopes])).stdout);
}

describe('accounts user create', () => {
  it('prints the user as JSON on the last line of stdout; the primary email is verified; the password is the first line of stdin', async () => {
    const result = await cli.ok(
      ['user', 'create', 'janedoe', '--email', 'jane@example.com', '--full-name', 'Jane Doe', '--password-stdin'],
      'first-line-password\nsecond-line-ignored\n',
    );
    expect(result.stderr).toContain('Created user janedoe');
    const user = JSON.parse(lastLine(result.stdout)) as Record<string, unknown>;
    expect(user).toMatchObject({
      username: 'janedoe',
      url: `${PUBLIC_URL}/api/v1.1/users/janedoe/`,
      type: 'User',
      full_name: 'Jane Doe',
      location: '',
      company: '',
      profile_url: '',
      email: 'jane@example.com',
      is_active: true,
    });
    expect(user.id).toEqual(expect.any(Number));
    expect(user.date_joined).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

    const emails = await get(server.url, emailsOf('janedoe'), basic('janedoe', 'first-line-password'));
    expect(emails.status).toBe(200);
    expect(emails.body).toEqual([{ email: 'jane@example.com', verified: true, primary: true }]);

    // The profile the server shows is the one the CLI printed.
    const profile = await get(server.url, userPath('janedoe'), basic('janedoe', 'first-line-password'));
    expect(profile.status).toBe(200);
    expect(profile.body).toEqual(user);

    // Only the first line is the password.
    for (const wrong of ['second-line-ignored', 'first-line-password\nsecond-line-ignored', 'first-line-password\n']) {
      expect((await get(server.url, emailsOf('janedoe'), basic('janedoe', wrong))).status).toBe(401);
    }
  });

  it('reads a password ending in CRLF without the CR, and stdin without a final newline', async () => {
    await cli.ok(['user', 'create', 'crlfuser', '--email', 'crlf@example.com', '--password-stdin'], 'windows-password\r\nmore\r\n');
    await cli.ok(['user', 'create', 'nonewline', '--email', 'nonewline@example.com', '--password-stdin'], 'no-newline-password');
    const [crlf, noNewline] = await Promise.all([
      get(server.url, emailsOf('crlfuser'), basic('crlfuser', 'windows-password')),
      get(server.url, emailsOf('nonewline'), basic('nonewline', 'no-newline-password')),
    ]);
    expect(crlf.status).toBe(200);
    expect(noNewline.status).toBe(200);
  });

  it('without --password-stdin the account has no password: Basic always fails, a token works', async () => {
    const result = await cli.ok(['user', 'create', 'tokenonly', '--email', 'tokenonly@example.com']);
    const user = JSON.parse(lastLine(result.stdout)) as Record<string, unknown>;
    expect(user).toMatchObject({ username: 'tokenonly', full_name: '', email: 'tokenonly@example.com', is_active: true });

    for (const password of ['', 'anything', 'correct horse battery staple']) {
      expect((await get(server.url, emailsOf('tokenonly'), basic('tokenonly', password))).status).toBe(401);
    }
    const token = await createToken('tokenonly');
    const viaBearer = await get(server.url, emailsOf('tokenonly'), bearer(token));
    expect(viaBearer.status).toBe(200);
    expect(viaBearer.body).toEqual([{ email: 'tokenonly@example.com', verified: true, primary: true }]);
    expect((await get(server.url, emailsOf('tokenonly'), basic('tokenonly', token))).status).toBe(200);
  });
});

describe('accounts user set-password', () => {
  it('replaces the password: the old one stops working, the new one works', async () => {
    await cli.ok(['user', 'create', 'passchange', '--email', 'passchange@example.com', '--password-stdin'], 'old-password-1\n');
    await expectStatus(emailsOf('passchange'), basic('passchange', 'old-password-1'), 200);

    // The username is matched case-insensitively, as in the API's paths.
    const result = await cli.ok(['user', 'set-password', 'PassChange', '--password-stdin'], 'new-password-2\nignored\n');
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('Password of passchange changed.');

    await expectStatus(emailsOf('passchange'), basic('passchange', 'old-password-1'), 401);
    await expectStatus(emailsOf('passchange'), basic('passchange', 'new-password-2'), 200);
    await expectStatus(emailsOf('passchange'), basic('passchange', 'ignored'), 401);
  });

  it('gives a password to an account that had none', async () => {
    await cli.ok(['user', 'create', 'latepass', '--email', 'latepass@example.com']);
    await cli.ok(['user', 'set-password', 'latepass', '--password-stdin'], 'finally-a-password\n');
    await expectStatus(emailsOf('latepass'), basic('latepass', 'finally-a-password'), 200);
  });
});

describe('--password-stdin on a terminal', () => {
  // It used to read the first line as from a pipe: no prompt, and the password echoed as typed.
  it.skipIf(!HAS_SCRIPT)('asks for the password twice on standard error and never shows it', async () => {
    const created = await runOnTerminal(['user', 'create', 'ttyuser', '--email', 'tty@example.com', '--password-stdin'], cli.env, [
      ['Password for ttyuser: ', 'typed-unseen-1\r'],
      ['Again, to confirm: ', 'typed-unseen-1\r'],
    ]);
    expect(created.code, created.screen).toBe(0);
    expect(created.screen).toMatch(/^Password for ttyuser: \nAgain, to confirm: \nCreated user ttyuser/);
    expect(created.screen).not.toContain('typed-unseen');
    await expectStatus(emailsOf('ttyuser'), basic('ttyuser', 'typed-unseen-1'), 200);

    const changed = await runOnTerminal(['user', 'set-password', 'ttyuser', '--password-stdin'], cli.env, [
      ['New password for ttyuser: ', 'typed-unseen-2\r'],
      ['Again, to confirm: ', 'typed-unseen-2\r'],
    ]);
    expect(changed.code, changed.screen).toBe(0);
    expect(changed.screen).not.toContain('typed-unseen');
    await expectStatus(emailsOf('ttyuser'), basic('ttyuser', 'typed-unseen-2'), 200);
  });
});

describe('accounts user deactivate / activate', () => {
  it('a deactivated account authenticates with nothing, password or token; activated again, both work', async () => {
    await cli.ok(['user', 'create', 'switchable', '--email', 'switchable@example.com', '--password-stdin'], 'switch-password\n');
    const token = await createToken('switchable');
    const byPassword = basic('switchable', 'switch-password');
    const byBearer = bearer(token);
    const byBasicToken = basic('switchable', token);
    for (const auth of [byPassword, byBearer, byBasicToken]) await expectStatus(emailsOf('switchable'), auth, 200);

    const deactivated = await cli.ok(['user', 'deactivate', 'switchable']);
    expect(deactivated.stdout).toBe('');
    expect(deactivated.stderr.trim()).toBe('Deactivated switchable.');
    for (const auth of [byPassword, byBearer, byBasicToken]) await expectStatus(emailsOf('switchable'), auth, 401);
    const listed = lines((await cli.ok(['user', 'list', '--json'])).stdout).map((l) => JSON.parse(l) as { username: string; is_active: boolean });
    expect(listed.find((u) => u.username === 'switchable')?.is_active).toBe(false);

    const again = await cli.ok(['user', 'deactivate', 'switchable']);
    expect(again.stderr.trim()).toBe('switchable was already deactivated.');

    const activated = await cli.ok(['user', 'activate', 'SWITCHABLE']);
    expect(activated.stdout).toBe('');
    expect(activated.stderr.trim()).toBe('Activated switchable.');
    for (const auth of [byPassword, byBearer, byBasicToken]) await expectStatus(emailsOf('switchable'), auth, 200);

    const activeAlready = await cli.ok(['user', 'activate', 'switchable']);
    expect(activeAlready.stderr.trim()).toBe('switchable was already active.');
  });
});

describe('accounts user list', () => {
  it('shows every user as a table, and as one JSON object per line with --json', async () => {
    await cli.ok(['user', 'create', 'listed', '--email', 'Listed@Example.com', '--full-name', 'Listed Person']);
    await cli.ok(['user', 'deactivate', 'listed']);
    await cli.ok(['user', 'create', 'listedtoo', '--email', 'listedtoo@example.com', '--password-stdin'], 'listed-password\n');

    const json = await cli.ok(['user', 'list', '--json']);
    const users = lines(json.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
    const names = users.map((u) => u.username);
    expect(names).toEqual(expect.arrayContaining(['listed', 'listedtoo']));
    expect(new Set(names).size).toBe(names.length);
    const listed = users.find((u) => u.username === 'listed');
    expect(listed).toMatchObject({
      username: 'listed',
      url: `${PUBLIC_URL}/api/v1.1/users/listed/`,
      type: 'User',
      full_name: 'Listed Person',
      email: 'Listed@example.com',
      is_active: false,
    });
    // Each line is exactly the API's representation of that user.
    const fromApi = await get(server.url, userPath('listedtoo'), basic('listedtoo', 'listed-password'));
    expect(users.find((u) => u.username === 'listedtoo')).toEqual(fromApi.body);

    const tableOutput = await cli.ok(['user', 'list']);
    const [header, ...rows] = lines(tableOutput.stdout);
    expect(header!.split(/\s{2,}/)).toEqual(['ID', 'USERNAME', 'EMAIL', 'ACTIVE', 'JOINED']);
    expect(rows).toHaveLength(users.length);
    for (const user of users) {
      const row = rows.find((r) => r.split(/\s+/)[1] === user.username);
      expect(row, `no row for ${String(user.username)}`).toBeDefined();
      expect(row!.split(/\s+/)).toEqual([String(user.id), user.username, user.email, user.is_active ? 'yes' : 'no', user.date_joined]);
    }
  });
});
