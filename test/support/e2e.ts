// Shared by the end-to-end tests: a database per file (of the project's dialect), users and
// tokens made by the real CLI, and polling with a deadline.
import { expect } from 'vitest';
import { loadConfig } from '../../src/kernel/config.ts';
import { openStore } from '../../src/kernel/db/connect.ts';
import type { Store } from '../../src/kernel/db/store.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { runCli } from './processes.ts';

/**
 * A fresh, empty database of the project's dialect (a file in `dir` on SQLite), and the
 * environment every process of one test file shares to use it. Drop it in afterAll, after the
 * servers on it have stopped.
 */
export async function databaseEnv(dir: string): Promise<{ env: Record<string, string>; database: TestDatabase }> {
  const database = await createTestDatabase(dir);
  return { env: { DATABASE_URL: database.url }, database };
}

/** The store on a test database, as the server opens it (either dialect); close it after use. */
export function openTestStore(database: TestDatabase): Store {
  return openStore(loadConfig({ DATABASE_URL: database.url }).database);
}

/** Runs `fn` on a store opened on `database`, then closes it. */
export async function withTestStore<T>(database: TestDatabase, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = openTestStore(database);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
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
