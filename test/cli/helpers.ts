// Shared by the CLI tests: the `accounts` binary bound to one database, and small HTTP helpers
// for checking, on a running server, what the CLI changed.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { PUBLIC_URL, makeTempDir } from '../support/app.ts';
import { runCli, type CliResult } from '../support/processes.ts';

export { PUBLIC_URL };

export type Cli = {
  dir: string;
  dbPath: string;
  env: Record<string, string>;
  run(args: string[], stdin?: string): Promise<CliResult>;
  /** Runs a command that must succeed; returns its result. */
  ok(args: string[], stdin?: string): Promise<CliResult>;
  remove(): void;
};

/** A fresh temporary directory with its own database, and `accounts` pointed at it. */
export function cliOnTempDb(dbFile = 'accounts.db'): Cli {
  const dir = makeTempDir('accounts-cli-');
  const dbPath = join(dir, dbFile);
  const env = { DATABASE_URL: `sqlite:${dbPath}`, PUBLIC_URL };
  const run = (args: string[], stdin?: string) => runCli(args, { env, ...(stdin !== undefined ? { stdin } : {}) });
  return {
    dir,
    dbPath,
    env,
    run,
    async ok(args, stdin) {
      const result = await run(args, stdin);
      expect(result.code, `accounts ${args.join(' ')} failed:\n${result.stderr}`).toBe(0);
      return result;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
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
  const deadline = Date.now() + withinMs;
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
