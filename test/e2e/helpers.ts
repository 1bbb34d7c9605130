// Shared by the end-to-end tests: a database per file, users and tokens made by the real CLI,
// and polling with a deadline.
import { join } from 'node:path';
import { expect } from 'vitest';
import { runCli } from '../support/processes.ts';

/** The environment every process of one test file shares: its own database file. */
export function databaseEnv(dir: string): Record<string, string> {
  return { DATABASE_URL: `sqlite:${join(dir, 'accounts.db')}` };
}

/** `accounts user create NAME --email EMAIL --password-stdin`; fails the test if the CLI fails. */
export async function cliCreateUser(env: Record<string, string>, username: string, email: string, password: string): Promise<void> {
  const result = await runCli(['user', 'create', username, '--email', email, '--password-stdin'], { env, stdin: `${password}\n` });
  expect(result.code, result.stderr).toBe(0);
}

/** `accounts token create NAME --scopes …`; returns the token (the last line of standard output). */
export async function cliCreateToken(env: Record<string, string>, username: string, scopes: readonly string[]): Promise<string> {
  const result = await runCli(['token', 'create', username, '--scopes', scopes.join(',')], { env });
  expect(result.code, result.stderr).toBe(0);
  const token = result.stdout.trimEnd().split('\n').at(-1) ?? '';
  expect(token).toMatch(/^dapat_[0-9A-Za-z]+$/);
  return token;
}

export const ALL_SCOPES = ['profile_read', 'profile_write', 'email_read', 'email_write'] as const;

/**
 * Calls `probe` until it returns true or `timeoutMs` has passed. Returns whether it became true
 * before the deadline (the caller asserts it), never how fast.
 */
export async function eventually(probe: () => Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A count of each status in a list of responses, e.g. {201: 1, 400: 19}. */
export function tally(statuses: readonly number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
}
