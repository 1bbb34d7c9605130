// `accounts migrate`, `--help` on every command, and configuration errors: the binary as a real
// process on a real database of the project's dialect (a SQLite file, or a PostgreSQL database).
// The user and token commands are in test/users/ and test/tokens/, client and grant commands in
// test/oauth/, bad input in errors.test.ts.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../src/kernel/db/migrations/index.ts';
import { TEST_DIALECT } from '../support/database.ts';
import { runCli } from '../support/processes.ts';
import { cliOnTempDb, expectOneLineFailure, lines, type Cli } from '../support/cli.ts';

const TABLES = ['access_tokens', 'emails', 'schema_migrations', 'users'];

describe('accounts migrate', () => {
  let cli: Cli;
  beforeAll(async () => {
    cli = await cliOnTempDb(join('nested', 'deeper'));
  });
  afterAll(() => cli.remove());

  it('creates the database (on SQLite the file and its directories), applies every migration, then finds nothing to do', async () => {
    if (cli.dbPath !== undefined) expect(existsSync(join(cli.dir, 'nested'))).toBe(false);
    expect(await cli.tables()).toEqual([]);

    const first = await cli.ok(['migrate']);
    if (cli.dbPath !== undefined) expect(existsSync(cli.dbPath)).toBe(true);
    expect(await cli.tables()).toEqual(expect.arrayContaining(TABLES));
    expect(first.stdout).toBe('');
    for (const migration of migrations) expect(first.stderr).toContain(`Applied ${migration.name}.`);
    expect(first.stderr).toContain(`The database is up to date (${migrations.length} applied).`);

    const second = await cli.ok(['migrate']);
    expect(second.stdout).toBe('');
    expect(second.stderr).not.toContain('Applied');
    expect(second.stderr.trim()).toBe('The database was already up to date.');
  });

  it('is done by every command first, so an admin command works on a fresh database', async () => {
    const fresh = await cliOnTempDb('data');
    try {
      const list = await fresh.ok(['user', 'list', '--json']);
      expect(list.stdout).toBe('');
      if (fresh.dbPath !== undefined) expect(existsSync(fresh.dbPath)).toBe(true);
      expect(await fresh.tables()).toEqual(expect.arrayContaining(TABLES));
      const migrate = await fresh.ok(['migrate']);
      expect(migrate.stderr.trim()).toBe('The database was already up to date.');
    } finally {
      await fresh.remove();
    }
  });
});

describe('--help on every command', () => {
  let cli: Cli;
  beforeAll(async () => {
    cli = await cliOnTempDb();
  });
  afterAll(() => cli.remove());

  // [command, what its help must mention]
  const commands: [string[], string[]][] = [
    [[], ['serve', 'migrate', 'user', 'token', 'DATABASE_URL']],
    [['serve'], ['HTTP server']],
    [['migrate'], ['up to date']],
    [['user'], ['create', 'set-password', 'deactivate', 'activate', 'list']],
    [['user', 'create'], ['<username>', '--email <email>', '--full-name <name>', '--password-stdin']],
    [['user', 'set-password'], ['<username>', '--password-stdin']],
    [['user', 'deactivate'], ['<username>']],
    [['user', 'activate'], ['<username>']],
    [['user', 'list'], ['--json']],
    [['token'], ['create', 'list', 'revoke']],
    [['token', 'create'], ['<username>', '--scopes <list>', 'profile_read', 'email_write', '--name <name>', '--expires-in <duration>']],
    [['token', 'list'], ['<username>', '--json']],
    [['token', 'revoke'], ['<id-or-token>']],
  ];

  const cases = commands.map(([command, mentions]) => ({ name: ['accounts', ...command].join(' '), command, mentions }));

  it.concurrent.for(cases)('$name --help', async ({ command, mentions }, { expect }) => {
    const result = await cli.run([...command, '--help']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(lines(result.stdout)[0]).toMatch(new RegExp(`^Usage: ${['accounts', ...command].join(' ')} \\[options\\]`));
    expect(result.stdout).toContain('-h, --help');
    for (const text of mentions) expect(result.stdout).toContain(text);
    // Help is only help: it neither starts a server nor touches the database (no file on SQLite, no tables on PostgreSQL).
    if (cli.dbPath !== undefined) expect(existsSync(cli.dbPath)).toBe(false);
    expect(await cli.tables()).toEqual([]);
  });
});

describe('configuration', () => {
  it('a bad DATABASE_URL is one line on stderr and a non-zero exit, for the admin commands too', async () => {
    const results = await Promise.all([
      runCli(['migrate'], { env: { DATABASE_URL: 'postgres://admin:secret@[bad/accounts' } }),
      runCli(['user', 'list'], { env: { DATABASE_URL: 'mysql://admin:secret@db.example.test/accounts' } }),
      runCli(['user', 'list'], { env: { DATABASE_URL: 'postgres://admin:secret@127.0.0.1:1/accounts' } }),
    ]);
    expectOneLineFailure(results[0]!, /^accounts: error: DATABASE_URL: not a valid postgres/);
    expectOneLineFailure(results[1]!, /^accounts: error: DATABASE_URL: unsupported scheme "mysql:"/);
    expectOneLineFailure(results[2]!, /^accounts: error: cannot connect to the database: .*ECONNREFUSED/);
    for (const result of results) expect(result.stderr).not.toContain('secret');
  });

  // The server used to loop for ever in mkdir on a path under /proc. (Other bad paths, and the
  // other commands, are in src/kernel/db/sqlite.test.ts and src/cli/main.test.ts, in process.)
  it.skipIf(TEST_DIALECT !== 'sqlite')('a SQLite path that cannot work stops the server at once: one line naming DATABASE_URL, exit 1', async () => {
    const started = performance.now();
    const result = await runCli(['serve'], { env: { DATABASE_URL: 'sqlite:/proc/forbidden/accounts.db', LOG_LEVEL: 'info' } });
    const seconds = (performance.now() - started) / 1000;
    expectOneLineFailure(result, /^accounts: error: DATABASE_URL: cannot create the directory \/proc\/forbidden for the SQLite database .*; set DATABASE_URL to sqlite:PATH/);
    expect(result.code).toBe(1);
    // Well under a second on an idle machine; the bound leaves room for a busy one.
    expect(seconds).toBeLessThan(10);
  });
});
