// Bad input to the `accounts` binary: one line on standard error, nothing on standard output, a
// non-zero exit, and nothing written to the database. All on one database holding one user.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../src/auth/token-format.ts';
import { cliOnTempDb, expectOneLineFailure, lines, type Cli } from '../support/cli.ts';

let cli: Cli;

beforeAll(async () => {
  cli = await cliOnTempDb();
  await cli.ok(['user', 'create', 'janedoe', '--email', 'Jane@Example.com', '--password-stdin'], 'jane-password\n');
  await cli.ok(['token', 'create', 'janedoe', '--scopes', 'profile_read']);
});

afterAll(() => cli?.remove());

type Case = { name: string; args: string[]; stdin?: string; error: RegExp };

// A token with the right shape and checksum that was never issued.
const unknownToken = generateToken();
// The right shape, a wrong checksum.
const mistypedToken = `${unknownToken.slice(0, -1)}${unknownToken.endsWith('A') ? 'B' : 'A'}`;

const accountsErrors: Case[] = [
  // Unknown users.
  { name: 'user set-password of an unknown user', args: ['user', 'set-password', 'nobody', '--password-stdin'], stdin: 'long-enough-password\n', error: /No user named "nobody"/ },
  { name: 'user deactivate of an unknown user', args: ['user', 'deactivate', 'nobody'], error: /No user named "nobody"/ },
  { name: 'token create for an unknown user', args: ['token', 'create', 'nobody', '--scopes', 'profile_read'], error: /No user named "nobody"/ },
  { name: 'token list of an unknown user', args: ['token', 'list', 'nobody'], error: /No user named "nobody"/ },
  // Usernames.
  { name: 'an invalid username (capitals and underscore)', args: ['user', 'create', 'Jane_Doe', '--email', 'new@example.com'], error: /username: Usernames are 4 to 30 characters/ },
  { name: 'a username too short', args: ['user', 'create', 'abc', '--email', 'new@example.com'], error: /username: Usernames are 4 to 30 characters/ },
  { name: 'a duplicate username', args: ['user', 'create', 'janedoe', '--email', 'new@example.com'], error: /username: A user with that username already exists/ },
  // Email addresses.
  { name: 'an invalid email', args: ['user', 'create', 'newuser', '--email', 'not-an-email'], error: /email: Enter a valid email address/ },
  { name: 'a duplicate email, differing only in case', args: ['user', 'create', 'newuser', '--email', 'jane@example.com'], error: /email: This email address is already in use/ },
  { name: 'several problems at once, on one line', args: ['user', 'create', 'X', '--email', 'nope'], error: /username: .*; email: Enter a valid email address/ },
  // Passwords.
  { name: 'a too-short password for user create', args: ['user', 'create', 'newuser', '--email', 'new@example.com', '--password-stdin'], stdin: 'short\nthe second line does not count\n', error: /password: The password must be at least 8 characters/ },
  { name: 'a too-short password for user set-password', args: ['user', 'set-password', 'janedoe', '--password-stdin'], stdin: 'short\n', error: /password: The password must be at least 8 characters/ },
  // Scopes.
  { name: 'an unknown scope', args: ['token', 'create', 'janedoe', '--scopes', 'profile_read,admin'], error: /unknown scope "admin"; choose from profile_read, profile_write, email_read, email_write/ },
  { name: 'no scopes', args: ['token', 'create', 'janedoe', '--scopes', ','], error: /no scopes given/ },
  // Expiry.
  { name: '--expires-in without a unit', args: ['token', 'create', 'janedoe', '--scopes', 'profile_read', '--expires-in', '90'], error: /invalid duration "90"/ },
  { name: '--expires-in with an unknown unit', args: ['token', 'create', 'janedoe', '--scopes', 'profile_read', '--expires-in', '5x'], error: /invalid duration "5x"/ },
  { name: '--expires-in of zero', args: ['token', 'create', 'janedoe', '--scopes', 'profile_read', '--expires-in', '0d'], error: /invalid duration "0d"/ },
  // Revoking what is not there.
  { name: 'token revoke of an unknown id', args: ['token', 'revoke', '999'], error: /No such token/ },
  // Beyond BIGINT: still "no such token", not the database's out-of-range error (PostgreSQL).
  { name: 'token revoke of an id too large for any column', args: ['token', 'revoke', '99999999999999999999'], error: /No such token/ },
  { name: 'token revoke of an unknown token', args: ['token', 'revoke', unknownToken], error: /No such token/ },
  { name: 'token revoke of garbage', args: ['token', 'revoke', 'garbage'], error: /Not a token id or a well-formed token/ },
  { name: 'token revoke of a mistyped token', args: ['token', 'revoke', mistypedToken], error: /Not a token id or a well-formed token/ },
];

// Commander's own messages, for the command line itself, in the same form as the others.
const usageErrors: Case[] = [
  { name: 'an unknown option', args: ['user', 'create', 'newuser', '--email', 'new@example.com', '--bogus'], error: /^accounts: error: unknown option '--bogus'/ },
  { name: 'user create without --email', args: ['user', 'create', 'newuser'], error: /^accounts: error: required option '--email <email>' not specified/ },
  { name: 'user set-password without --password-stdin', args: ['user', 'set-password', 'janedoe'], error: /^accounts: error: required option '--password-stdin' not specified/ },
  { name: 'token create without --scopes', args: ['token', 'create', 'janedoe'], error: /^accounts: error: required option '--scopes <list>' not specified/ },
  { name: 'user deactivate without a username', args: ['user', 'deactivate'], error: /^accounts: error: missing required argument 'username'/ },
  { name: 'token revoke without an argument', args: ['token', 'revoke'], error: /^accounts: error: missing required argument 'id-or-token'/ },
  { name: 'an extra argument', args: ['user', 'activate', 'janedoe', 'johndoe'], error: /^accounts: error: too many arguments/ },
];

describe('bad input: one line starting "accounts: error:" on stderr, a non-zero exit', () => {
  it.concurrent.for(accountsErrors)('$name', async ({ args, stdin, error }) => {
    const result = await cli.run(args, stdin);
    expectOneLineFailure(result, /^accounts: error: /);
    expectOneLineFailure(result, error);
  });
});

describe("bad command lines: commander's one error line, starting \"accounts: error:\" too, a non-zero exit", () => {
  it.concurrent.for(usageErrors)('$name', async ({ args, stdin, error }) => {
    const result = await cli.run(args, stdin);
    expectOneLineFailure(result, error);
  });
});

describe('after all of that', () => {
  it('the database holds what it held before: one user, one token', async () => {
    const users = lines((await cli.ok(['user', 'list', '--json'])).stdout).map((l) => JSON.parse(l) as { username: string; email: string; is_active: boolean });
    expect(users).toHaveLength(1);
    expect(users[0]).toMatchObject({ username: 'janedoe', email: 'Jane@example.com', is_active: true });
    const tokens = lines((await cli.ok(['token', 'list', 'janedoe', '--json'])).stdout).map((l) => JSON.parse(l) as { status: string });
    expect(tokens).toEqual([expect.objectContaining({ status: 'active' })]);
  });
});
