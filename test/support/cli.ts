// Shared by the tests of the CLI's commands (test/cli/, and the user, token, client and grant
// commands in test/users/, test/tokens/ and test/oauth/): the `accounts` binary bound to one
// database of the project's dialect (a SQLite file, or a fresh PostgreSQL database), and small
// HTTP helpers for checking, on a running server, what the CLI changed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { loadConfig } from '../../src/kernel/config.ts';
import { openStore } from '../../src/kernel/db/connect.ts';
import { PUBLIC_URL, makeTempDir } from './app.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { BIN, NODE, ROOT, type CliResult } from './processes.ts';
import { scaled } from './time.ts';
import { runCliInProcess } from './cli-in-process.ts';

export { PUBLIC_URL };

export type Cli = {
  dir: string;
  database: TestDatabase;
  /** SQLite only: the database file (which the first command creates). */
  dbPath: string | undefined;
  env: Record<string, string>;
  run(args: string[], stdin?: string): Promise<CliResult>;
  /** Runs a command that must succeed; returns its result. */
  ok(args: string[], stdin?: string): Promise<CliResult>;
  /** The names of the tables the database holds, sorted; [] when it was never written (on SQLite, without creating the file). */
  tables(): Promise<string[]>;
  /** Drops the database and deletes the directory. */
  remove(): Promise<void>;
};

/**
 * A fresh temporary directory with its own empty database, and `accounts` pointed at it. On
 * SQLite the file is `subdir/accounts.db` inside the directory (neither exists yet).
 */
export async function cliOnTempDb(subdir?: string): Promise<Cli> {
  const dir = makeTempDir('accounts-cli-');
  const database = await createTestDatabase(subdir === undefined ? dir : join(dir, subdir));
  const dbPath = database.dialect === 'sqlite' ? database.url.slice('sqlite:'.length) : undefined;
  const env = { DATABASE_URL: database.url, PUBLIC_URL };
  // In the test process (the same main() as the binary): a spawn per command made these tests
  // the slowest of the suite. Tests about the process itself call runCli().
  const run = (args: string[], stdin?: string) => runCliInProcess(args, { env, ...(stdin !== undefined ? { stdin } : {}) });
  return {
    dir,
    database,
    dbPath,
    env,
    run,
    async ok(args, stdin) {
      const result = await run(args, stdin);
      expect(result.code, `accounts ${args.join(' ')} failed:\n${result.stderr}`).toBe(0);
      return result;
    },
    async tables() {
      if (dbPath !== undefined && !existsSync(dbPath)) return []; // opening it would create it
      const store = openStore(loadConfig({ DATABASE_URL: database.url }).database);
      try {
        return (await store.db.introspection.getTables()).map((t) => t.name).sort();
      } finally {
        await store.close();
      }
    },
    async remove() {
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** util-linux `script`, which runs a command on a pseudo-terminal; without it the terminal tests are skipped. */
export const HAS_SCRIPT = spawnSync('script', ['--version']).status === 0;

/**
 * Runs `accounts ARGS…` on a pseudo-terminal, as a person at a keyboard would: waits for each
 * prompt, then types its keys. Returns everything the terminal showed (both output streams and
 * whatever the terminal echoed), with CRLF turned into LF.
 */
export function runOnTerminal(args: string[], env: Record<string, string>, answers: [prompt: string, keys: string][]): Promise<{ code: number | null; screen: string }> {
  const quote = (word: string) => `'${word.replaceAll("'", "'\\''")}'`;
  const command = [NODE, BIN, ...args].map(quote).join(' ');
  const child = spawn('script', ['--quiet', '--flush', '--return', '--command', command, '/dev/null'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'silent', ...env },
  });
  let screen = '';
  const pending = [...answers];
  const onOutput = (data: Buffer) => {
    screen += data.toString();
    const next = pending[0];
    if (next && screen.includes(next[0])) {
      pending.shift();
      child.stdin.write(next[1]);
    }
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, screen: screen.replaceAll('\r\n', '\n') }));
  });
}

/** The last non-empty line of an output. */
export function lastLine(output: string): string {
  const lines = output.split('\n').filter((l) => l !== '');
  return lines[lines.length - 1] ?? '';
}

/** Lines of an output, without the empty one after the final newline. */
export function lines(output: string): string[] {
  return output.split('\n').filter((l) => l !== '');
}

/** A failure as the contract says: non-zero exit, nothing for scripts, exactly one line on stderr. */
export function expectOneLineFailure(result: CliResult, pattern: RegExp): void {
  expect(result.code, `expected a failure, got stdout:\n${result.stdout}`).not.toBe(0);
  expect(result.code).not.toBeNull();
  expect(result.stdout).toBe('');
  expect(result.stderr.endsWith('\n')).toBe(true);
  expect(result.stderr.slice(0, -1)).not.toContain('\n');
  expect(result.stderr).toMatch(pattern);
}

/** GET a path with an Authorization header; the status and parsed JSON body. */
export async function get(baseUrl: string, path: string, authorization: string): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await fetch(`${baseUrl}${path}`, { headers: { authorization } });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown), headers: response.headers };
}

export async function send(
  baseUrl: string,
  method: string,
  path: string,
  authorization: string,
  body: unknown,
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown), headers: response.headers };
}

/**
 * The contract gives a running server up to 5 seconds to see a change another process made;
 * this polls until `check` stops throwing (at once when the change is already visible).
 */
export async function eventually(check: () => Promise<void>, withinMs = 5_000): Promise<void> {
  const deadline = Date.now() + scaled(withinMs);
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
