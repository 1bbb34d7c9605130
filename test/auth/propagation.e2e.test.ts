// Changes the admin CLI makes from another process reach a running server within 5 seconds
//: a revoked token, a changed password, a deactivated account.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, bearer, makeTempDir } from '../support/app.ts';
import { runCli, startServer, type ServerProcess } from '../support/processes.ts';
import type { TestDatabase } from '../support/database.ts';
import { ALL_SCOPES, cliCreateToken, cliCreateUser, databaseEnv, eventually } from '../support/e2e.ts';

const WITHIN_MS = 5_000;
const PASSWORD = 'first password 1';
const NEW_PASSWORD = 'second password 2';

const dir = makeTempDir('accounts-e2e-propagation-');
let env: Record<string, string>;
let database: TestDatabase | undefined;
let server: ServerProcess | undefined;

function url(username: string): string {
  return `${server!.url}/api/v1.1/users/${username}/`;
}

async function status(username: string, authorization: string): Promise<number> {
  const response = await fetch(url(username), { headers: { authorization } });
  await response.arrayBuffer();
  return response.status;
}

async function cli(args: string[], stdin?: string): Promise<void> {
  const result = await runCli(args, { env, ...(stdin !== undefined ? { stdin } : {}) });
  expect(result.code, result.stderr).toBe(0);
}

beforeAll(async () => {
  ({ env, database } = await databaseEnv(dir));
  // The CLI creates (and migrates) the database before the server has ever started.
  await Promise.all([
    cliCreateUser(env, 'revoker', 'revoker@example.com', PASSWORD),
    cliCreateUser(env, 'changer', 'changer@example.com', PASSWORD),
    cliCreateUser(env, 'sleeper', 'sleeper@example.com', PASSWORD),
  ]);
  server = await startServer(env);
});

afterAll(async () => {
  await server?.stop();
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('changes made by the CLI in another process reach the running server', () => {
  it('a revoked token is refused within 5 s, as Bearer and as a Basic password; other tokens keep working', async () => {
    const [revoked, kept] = await Promise.all([cliCreateToken(env, 'revoker', ALL_SCOPES), cliCreateToken(env, 'revoker', ALL_SCOPES)]);
    expect(await status('revoker', bearer(revoked))).toBe(200);
    expect(await status('revoker', basic('revoker', revoked))).toBe(200);

    await cli(['token', 'revoke', revoked]);

    expect(await eventually(async () => (await status('revoker', bearer(revoked))) === 401, WITHIN_MS)).toBe(true);
    expect(await status('revoker', basic('revoker', revoked))).toBe(401);
    expect(await status('revoker', bearer(kept))).toBe(200);
  });

  it('after set-password the old password is refused and the new one accepted within 5 s', async () => {
    expect(await status('changer', basic('changer', PASSWORD))).toBe(200);
    expect(await status('changer', basic('changer', NEW_PASSWORD))).toBe(401);

    await cli(['user', 'set-password', 'changer', '--password-stdin'], `${NEW_PASSWORD}\n`);

    const started = Date.now();
    expect(await eventually(async () => (await status('changer', basic('changer', PASSWORD))) === 401, WITHIN_MS)).toBe(true);
    expect(await eventually(async () => (await status('changer', basic('changer', NEW_PASSWORD))) === 200, WITHIN_MS - (Date.now() - started))).toBe(
      true,
    );
  });

  it('a deactivated account is refused (password and token) within 5 s, and activate restores both', async () => {
    const token = await cliCreateToken(env, 'sleeper', ALL_SCOPES);
    const password = basic('sleeper', PASSWORD);
    expect(await status('sleeper', password)).toBe(200);
    expect(await status('sleeper', bearer(token))).toBe(200);

    await cli(['user', 'deactivate', 'sleeper']);

    const bothRefused = async () => (await status('sleeper', password)) === 401 && (await status('sleeper', bearer(token))) === 401;
    expect(await eventually(bothRefused, WITHIN_MS)).toBe(true);
    expect(await status('sleeper', basic('sleeper', token))).toBe(401);

    await cli(['user', 'activate', 'sleeper']);

    const bothAccepted = async () => (await status('sleeper', password)) === 200 && (await status('sleeper', bearer(token))) === 200;
    expect(await eventually(bothAccepted, WITHIN_MS)).toBe(true);
    expect(await status('sleeper', basic('sleeper', token))).toBe(200);
  });
});
