// Durability: kill -9 the server in the middle of a burst of writes, restart
// it on the same database, and every write that got a 2xx is there. Writes are made with Bearer
// tokens (no argon2), so the burst is dense: a few hundred POSTs of new addresses and PATCHes of
// `location` over several accounts, about 20 in flight at a time, and SIGKILL lands once a set
// number of them have been acknowledged. On SQLite the file must then pass PRAGMA
// integrity_check; on PostgreSQL the rows are read back with a query. On both, users.email_count
// (kept by triggers) must equal the real number of rows.
import { rmSync } from 'node:fs';
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeTempDir } from '../support/app.ts';
import { createTestDatabase, TEST_DIALECT, type TestDatabase } from '../support/database.ts';
import { runCli, startServer, type ServerProcess } from '../support/processes.ts';
import { scaled } from '../support/time.ts';

const USERS = Array.from({ length: 6 }, (_, i) => `durable${i + 1}`);
const EMAILS_PER_USER = 19; // with the primary: the limit of 20
const PATCHES_PER_USER = 30;
const IN_FLIGHT = 20;
/** SIGKILL once this many writes have been acknowledged: about half of the burst. */
const KILL_AFTER = 130;

const dir = makeTempDir('accounts-durability-');
let database: TestDatabase | undefined;
let env: Record<string, string>;
const tokens = new Map<string, string>();
const servers: ServerProcess[] = [];

async function cli(args: string[], stdin?: string): Promise<string> {
  const result = await runCli(args, { env, ...(stdin !== undefined ? { stdin } : {}) });
  expect(result.code, `accounts ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

async function createAccount(username: string): Promise<void> {
  await cli(['user', 'create', username, '--email', `${username}@example.com`, '--password-stdin'], 'durability password 1\n');
  const out = await cli(['token', 'create', username, '--scopes', 'profile_read,profile_write,email_read,email_write', '--name', 'burst']);
  const token = out.trimEnd().split('\n').at(-1) ?? '';
  expect(token).toMatch(/^dapat_[0-9A-Za-z]+$/);
  tokens.set(username, token);
}

beforeAll(async () => {
  database = await createTestDatabase(dir);
  env = { DATABASE_URL: database.url, LOG_LEVEL: 'warn' };
  // The first command brings the new database up to date; the others then run side by side.
  await createAccount(USERS[0]!);
  await Promise.all(USERS.slice(1).map(createAccount));
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGKILL')));
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function start(): Promise<ServerProcess> {
  const server = await startServer(env);
  servers.push(server);
  return server;
}

type Write = { username: string; kind: 'email' | 'location'; value: string };
type Outcome = 'acknowledged' | 'refused' | 'unknown' | 'not sent';
/** A write and what became of it. `sent` and `answered` are steps of one logical clock (no time). */
type Sent = Write & { outcome: Outcome; sent: number; answered: number };

/** The burst: every account's writes, interleaved. */
function burst(): Write[] {
  const writes: Write[] = [];
  for (let round = 0; round < Math.max(EMAILS_PER_USER, PATCHES_PER_USER); round++) {
    for (const username of USERS) {
      if (round < EMAILS_PER_USER) writes.push({ username, kind: 'email', value: `${username}.burst${round}@Example.com` });
      if (round < PATCHES_PER_USER) writes.push({ username, kind: 'location', value: `${username} location #${round}` });
    }
  }
  return writes;
}

function request(server: ServerProcess, write: Write): Promise<Response> {
  const headers = { authorization: `Bearer ${tokens.get(write.username)!}`, 'content-type': 'application/json' };
  return write.kind === 'email'
    ? fetch(`${server.url}/api/v1.1/users/${write.username}/emails/`, { method: 'POST', headers, body: JSON.stringify({ email: write.value }) })
    : fetch(`${server.url}/api/v1.1/users/${write.username}/`, { method: 'PATCH', headers, body: JSON.stringify({ location: write.value }) });
}

/** Sends the writes, IN_FLIGHT at a time, and SIGKILLs the server once KILL_AFTER are acknowledged. */
async function burstAndKill(server: ServerProcess, writes: Write[]): Promise<{ sent: Sent[]; acknowledgedBeforeKill: number }> {
  const sent: Sent[] = writes.map((w) => ({ ...w, outcome: 'not sent', sent: -1, answered: -1 }));
  let clock = 0;
  let next = 0;
  let acknowledged = 0;
  let acknowledgedBeforeKill = -1;
  const kill = () => {
    if (acknowledgedBeforeKill >= 0) return;
    acknowledgedBeforeKill = acknowledged;
    server.child.kill('SIGKILL');
  };
  const worker = async () => {
    while (acknowledgedBeforeKill < 0 && next < sent.length) {
      const write = sent[next++]!;
      write.sent = clock++;
      try {
        const response = await request(server, write);
        await response.arrayBuffer();
        write.answered = clock++;
        write.outcome = response.ok ? 'acknowledged' : 'refused';
        if (response.ok) acknowledged += 1;
        if (acknowledged >= KILL_AFTER) kill();
      } catch {
        write.outcome = 'unknown'; // the connection died with the server: it may or may not have committed
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  kill(); // in case the whole burst was acknowledged before the mark (asserted against below)
  await server.exited;
  return { sent, acknowledgedBeforeKill };
}

type UserRow = { id: number; username: string; location: string; email_count: number };
type EmailRow = { user_id: number; email: string; is_primary: number };

/** The rows as the database holds them after the crash: SQLite through the file, PostgreSQL through a query. */
async function readRows(): Promise<{ users: UserRow[]; emails: EmailRow[]; integrity: string }> {
  if (TEST_DIALECT === 'sqlite') {
    const path = database!.url.replace(/^sqlite:/, '');
    const file = new Sqlite(path);
    try {
      const integrity = (file.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join('\n');
      const users = file.prepare('SELECT id, username, location, email_count FROM users').all() as UserRow[];
      const emails = file.prepare('SELECT user_id, email, is_primary FROM emails').all() as EmailRow[];
      return { users, emails, integrity };
    } finally {
      file.close();
    }
  }
  const client = new pg.Client({ connectionString: database!.url });
  await client.connect();
  try {
    const users = (await client.query<UserRow>('SELECT id::int AS id, username, location, email_count FROM users')).rows;
    const emails = (await client.query<EmailRow>('SELECT user_id::int AS user_id, email, is_primary FROM emails')).rows;
    // The counter kept by triggers, against a count of the rows, in SQL as well.
    const drift = (await client.query<{ username: string }>(
      'SELECT u.username FROM users u LEFT JOIN emails e ON e.user_id = u.id GROUP BY u.id, u.username, u.email_count HAVING u.email_count <> count(e.id)',
    )).rows;
    return { users, emails, integrity: drift.length === 0 ? 'ok' : `email_count differs for ${drift.map((d) => d.username).join(', ')}` };
  } finally {
    await client.end();
  }
}

it('every write acknowledged before kill -9 is there after a restart', { timeout: scaled(120_000) }, async () => {
  const first = await start();
  const { sent, acknowledgedBeforeKill } = await burstAndKill(first, burst());
  const killedWith = await first.exited;

  const acknowledged = sent.filter((w) => w.outcome === 'acknowledged');
  // The kill landed in the middle of the burst: writes were acknowledged, and some never were.
  expect(killedWith).toBeNull(); // ended by the signal, not by itself
  expect(sent.filter((w) => w.outcome === 'refused')).toEqual([]);
  expect(acknowledgedBeforeKill).toBe(KILL_AFTER);
  expect(acknowledged.length).toBeGreaterThanOrEqual(KILL_AFTER);
  expect(acknowledged.length).toBeLessThan(sent.length);

  // The crash image, before anything else opens the database.
  const crashed = await readRows();
  expect(crashed.integrity).toBe('ok');

  // Restart on the same database: it recovers and answers.
  const second = await start();
  const found = { emails: 0, accountsWithLocation: 0 };
  for (const username of USERS) {
    const mine = sent.filter((w) => w.username === username);
    const headers = { authorization: `Bearer ${tokens.get(username)!}` };
    const emailsResponse = await fetch(`${second.url}/api/v1.1/users/${username}/emails/`, { headers });
    expect(emailsResponse.status).toBe(200);
    const listed = ((await emailsResponse.json()) as Array<{ email: string }>).map((e) => e.email.toLowerCase());
    const userResponse = await fetch(`${second.url}/api/v1.1/users/${username}/`, { headers });
    expect(userResponse.status).toBe(200);
    const { location } = (await userResponse.json()) as { location: string };

    // Every address that got a 201 is there; nothing is there that was never sent.
    const ackedEmails = mine.filter((w) => w.kind === 'email' && w.outcome === 'acknowledged').map((w) => w.value.toLowerCase());
    const sentEmails = new Set([`${username}@example.com`, ...mine.filter((w) => w.kind === 'email' && w.outcome !== 'not sent').map((w) => w.value.toLowerCase())]);
    for (const email of ackedEmails) expect(listed, `${username}: ${email} was acknowledged`).toContain(email);
    for (const email of listed) expect(sentEmails.has(email), `${username}: ${email} was never sent`).toBe(true);
    found.emails += ackedEmails.filter((e) => listed.includes(e)).length;

    // The location is the value of a PATCH that was acknowledged or in flight at the kill (the
    // order of concurrent PATCHes is not defined, so not necessarily the last acknowledged one),
    // and not one that an acknowledged PATCH sent after its answer must have overwritten. The
    // initial '' only if no PATCH of this account was acknowledged.
    const patches = mine.filter((w) => w.kind === 'location');
    const ackedPatches = patches.filter((w) => w.outcome === 'acknowledged');
    const winner = patches.find((w) => w.value === location && (w.outcome === 'acknowledged' || w.outcome === 'unknown'));
    if (ackedPatches.length === 0) {
      expect(location === '' || winner !== undefined, `${username}: location "${location}"`).toBe(true);
    } else {
      expect(winner, `${username}: location "${location}" is not an acknowledged or in-flight value`).toBeDefined();
      if (winner!.outcome === 'acknowledged') {
        const overwrittenBy = ackedPatches.filter((q) => q.sent > winner!.answered);
        expect(overwrittenBy.map((q) => q.value), `${username}: "${location}" was overwritten by later acknowledged PATCHes`).toEqual([]);
      }
      found.accountsWithLocation += 1;
    }
  }

  // The rows themselves, after the restarted server has had the database: one primary each,
  // email_count equal to the real number of rows, and (SQLite) a sound file.
  await second.stop('SIGTERM');
  const after = await readRows();
  expect(after.integrity).toBe('ok');
  expect(after.users.map((u) => u.username).sort()).toEqual([...USERS].sort());
  for (const user of after.users) {
    const own = after.emails.filter((e) => e.user_id === user.id);
    expect(Number(user.email_count), `${user.username}: email_count`).toBe(own.length);
    expect(own.filter((e) => Number(e.is_primary) === 1).length, `${user.username}: one primary`).toBe(1);
    const ackedEmails = acknowledged.filter((w) => w.username === user.username && w.kind === 'email').map((w) => w.value.toLowerCase());
    for (const email of ackedEmails) expect(own.map((e) => e.email.toLowerCase()), `${user.username}: ${email}`).toContain(email);
    // The crash image and the database after the restart agree: recovery lost nothing.
    const before = crashed.emails.filter((e) => e.user_id === user.id).map((e) => e.email).sort();
    expect(own.map((e) => e.email).sort(), user.username).toEqual(before);
    expect(user.location, user.username).toBe(crashed.users.find((u) => u.id === user.id)?.location);
  }
  const ackedEmailCount = acknowledged.filter((w) => w.kind === 'email').length;
  const accountsWithAckedPatch = new Set(acknowledged.filter((w) => w.kind === 'location').map((w) => w.username)).size;
  expect(found.emails).toBe(ackedEmailCount);
  expect(found.accountsWithLocation).toBe(accountsWithAckedPatch);

  if (process.env.DURABILITY_REPORT) {
    const report = {
      dialect: TEST_DIALECT,
      writes: sent.length,
      acknowledgedBeforeKill,
      acknowledged: acknowledged.length,
      acknowledgedEmails: ackedEmailCount,
      acknowledgedPatches: acknowledged.length - ackedEmailCount,
      inFlightAtKill: sent.filter((w) => w.outcome === 'unknown').length,
      notSent: sent.filter((w) => w.outcome === 'not sent').length,
      foundAfterRestart: { acknowledgedEmails: found.emails, accountsWithAnAcknowledgedOrInFlightLocation: `${found.accountsWithLocation}/${accountsWithAckedPatch}` },
      addedAddressesAfterRestart: after.emails.length - USERS.length,
    };
    process.stdout.write(`durability: ${JSON.stringify(report)}\n`);
  }
});
