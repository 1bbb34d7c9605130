// The `accounts` command line, run in this process through main(): what it prints, on which
// stream, and the exit status it sets. test/cli/ runs the binary as a real process.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import ts from 'typescript';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };
import { ConfigError } from '../kernel/config.ts';
import { main, serveConfig } from './main.ts';

type Result = { code: number; stdout: string; stderr: string };

async function run(...args: string[]): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const capture = (append: (text: string) => void) => (chunk: string | Uint8Array) => {
    append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture((t) => (stdout += t)) as typeof process.stdout.write);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture((t) => (stderr += t)) as typeof process.stderr.write);
  try {
    await main(['node', 'accounts', ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { code, stdout, stderr };
}

function expectOneLineFailure(result: Result, pattern: RegExp): void {
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr.endsWith('\n')).toBe(true);
  expect(result.stderr.slice(0, -1)).not.toContain('\n');
  expect(result.stderr).toMatch(/^accounts: error: /);
  expect(result.stderr).toMatch(pattern);
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('accounts --version', () => {
  it('prints the package version on standard output and exits 0', async () => {
    for (const flag of ['--version', '-V']) {
      expect(await run(flag)).toEqual({ code: 0, stdout: `${packageJson.version}\n`, stderr: '' });
    }
  });
});

describe('accounts --help', () => {
  it('says that the settings are environment variables and where each is documented', async () => {
    const { code, stdout } = await run('--help');
    expect(code).toBe(0);
    expect(stdout).toMatch(/Settings are environment variables/);
    expect(stdout).toContain('docs/reference/configuration.md');
    // The names it gives are settings the configuration reads.
    const config = readFileSync(new URL('../kernel/config.ts', import.meta.url), 'utf8');
    const named = stdout.slice(stdout.indexOf('Settings are'), stdout.indexOf('Every setting')).match(/\b[A-Z][A-Z_]{2,}\b/g) ?? [];
    expect(named.length).toBeGreaterThan(3);
    for (const name of named) expect(config, name).toContain(`value('${name}')`);
  });

  it('lists --host and --port for serve', async () => {
    const { stdout } = await run('serve', '--help');
    expect(stdout).toContain('--host <address>');
    expect(stdout).toContain('--port <port>');
  });
});

describe('every error line starts "accounts: error: ", the parser\'s too', () => {
  it.each([
    [['user', 'create', 'newuser', '--email', 'new@example.com', '--bogus'], /^accounts: error: unknown option '--bogus'/],
    [['user', 'create', 'newuser'], /^accounts: error: required option '--email <email>' not specified/],
    [['token', 'revoke'], /^accounts: error: missing required argument 'id-or-token'/],
    [['nonsense'], /^accounts: error: unknown command 'nonsense'/],
  ])('accounts %j', async (args, pattern) => {
    const { code, stdout, stderr } = await run(...args);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(pattern);
  });
});

describe('serve --host and --port', () => {
  it('win over HOST and PORT, and PUBLIC_URL follows them', () => {
    const config = serveConfig({ host: '192.0.2.7', port: '9000' }, { HOST: '127.0.0.1', PORT: '8080' });
    expect(config).toMatchObject({ host: '192.0.2.7', port: 9000, publicUrl: 'http://192.0.2.7:9000' });
    expect(serveConfig({}, { HOST: '127.0.0.1', PORT: '8080' })).toMatchObject({ host: '127.0.0.1', port: 8080 });
  });

  it.each([
    [{ port: '9x' }, '--port: must be an integer from 0 to 65535 (got "9x")'],
    [{ port: '65536' }, '--port: must be an integer from 0 to 65535 (got "65536")'],
    [{ port: ' ' }, '--port: must not be empty'],
    [{ host: 'a b' }, '--host: not a host name or address: "a b"'],
  ])('are checked as the settings are: %j', (options, problem) => {
    expect(() => serveConfig(options, {})).toThrow(ConfigError);
    try {
      serveConfig(options, {});
    } catch (error) {
      expect((error as ConfigError).problems).toContain(problem);
    }
  });

  it('a bad value is one error line before anything starts', async () => {
    expectOneLineFailure(await run('serve', '--port', '70000'), /--port: must be an integer from 0 to 65535 \(got "70000"\)/);
  });
});

describe('Ctrl-C at the password prompt', () => {
  const dir = mkdtempSync(join(tmpdir(), 'accounts-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stops with the status of an interrupt, no error line, and the database untouched', async () => {
    const database = join(dir, 'accounts.db');
    vi.stubEnv('DATABASE_URL', `sqlite:${database}`);
    const terminal = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => terminal });
    terminal.write('half-typ\u0003');
    vi.spyOn(process, 'stdin', 'get').mockReturnValue(terminal as unknown as typeof process.stdin);
    try {
      const result = await run('user', 'set-password', 'janedoe', '--password-stdin');
      expect(result).toEqual({ code: 130, stdout: '', stderr: 'New password for janedoe: \n' });
    } finally {
      vi.restoreAllMocks();
    }
    expect(existsSync(database)).toBe(false);
  });
});

describe('a SQLite DATABASE_URL that cannot work', () => {
  const dir = mkdtempSync(join(tmpdir(), 'accounts-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // The first used to loop for ever in mkdir; the others gave SQLite's or Node's bare message.
  it.each([
    ['migrate', '/proc/forbidden/a.db', '/proc/forbidden/a.db', /cannot create the directory \/proc\/forbidden /],
    ['migrate', '/etc/passwd/a.db', '/etc/passwd/a.db', /\/etc\/passwd is a file, not a directory/],
    ['migrate', 'a directory', dir, /is a directory, not a database file/],
    ['user list', '/proc/forbidden/a.db', '/proc/forbidden/a.db', /cannot create the directory \/proc\/forbidden /],
    ['serve', '/proc/forbidden/a.db', '/proc/forbidden/a.db', /cannot create the directory \/proc\/forbidden /],
  ])('accounts %s on %s: one line naming DATABASE_URL, the path and what to do', async (command, _label, path, says) => {
    vi.stubEnv('DATABASE_URL', `sqlite:${path}`);
    vi.stubEnv('LOG_LEVEL', 'silent');
    const result = await run(...command.split(' '));
    expectOneLineFailure(result, /^accounts: error: DATABASE_URL: /);
    expect(result.stderr).toMatch(says);
    expect(result.stderr).toMatch(/set DATABASE_URL to sqlite:PATH/);
  });
});

describe('what the command loads before it knows what to do', () => {
  // `accounts --help`, a typo or `--version` used to load the server, both database drivers, the
  // OAuth provider and argon2 first: seconds of start-up for a line of text. A static import is
  // always loaded; an `import type` never is; a dynamic import() only when its action runs.
  function staticImports(file: string): string[] {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
    const specifiers: string[] = [];
    for (const statement of source.statements) {
      if (ts.isImportDeclaration(statement) && !statement.importClause?.isTypeOnly) specifiers.push((statement.moduleSpecifier as ts.StringLiteral).text);
      if (ts.isExportDeclaration(statement) && statement.moduleSpecifier && !statement.isTypeOnly) specifiers.push((statement.moduleSpecifier as ts.StringLiteral).text);
    }
    return specifiers;
  }

  it('is commander and the command definitions, none of the heavy packages', () => {
    const packages = new Set<string>();
    const seen = new Set<string>();
    const pending = [resolve(import.meta.dirname, '..', '..', 'bin', 'accounts.js'), resolve(import.meta.dirname, 'main.ts')];
    while (pending.length > 0) {
      const file = pending.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const specifier of staticImports(file)) {
        if (specifier.startsWith('node:')) continue;
        if (!specifier.startsWith('.')) packages.add(specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/'));
        else if (specifier.endsWith('.ts')) pending.push(resolve(dirname(file), specifier));
      }
    }
    expect([...packages]).toEqual(['commander']);
    expect(seen.size).toBeLessThan(20); // the command definitions and the small modules they share
  });
});
