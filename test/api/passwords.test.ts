// Password rules and hash upgrades.
import { hash } from '@node-rs/argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCommonPassword } from '../../src/auth/common-passwords.ts';
import { needsRehash, passwordProblem } from '../../src/auth/passwords.ts';
import { setPassword } from '../../src/users/users.service.ts';
import { basic, buildTestApp, makeUser, type TestApp } from '../support/app.ts';

describe('the password policy', () => {
  it('refuses the common passwords, case-insensitively, from a list of about 10,000', () => {
    for (const common of ['password', 'PASSWORD', 'baseball', 'iloveyou', 'qwertyuiop', 'football']) expect(isCommonPassword(common), common).toBe(true);
    expect(isCommonPassword('correct horse battery staple')).toBe(false);
    expect(passwordProblem('baseball')).toBe('This password is too common; choose another.');
  });

  it('asks for 8 characters by default (configurable), allows 1024 bytes, and has no composition rules', () => {
    expect(passwordProblem('short')).toMatch(/at least 8/);
    expect(passwordProblem('only lowercase words')).toBeUndefined();
    expect(passwordProblem('twelve chars', 13)).toMatch(/at least 13/);
    expect(passwordProblem('é'.repeat(512))).toBeUndefined(); // 1024 bytes
    expect(passwordProblem('é'.repeat(513))).toMatch(/at most 1024 bytes/);
    expect(passwordProblem('\ud800 lone surrogate')).toMatch(/not valid text/);
  });

  it('knows which hashes are weaker than today’s parameters', () => {
    expect(needsRehash('$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA')).toBe(false);
    expect(needsRehash('$argon2id$v=19$m=4096,t=2,p=1$c2FsdHNhbHQ$aGFzaA')).toBe(true);
    expect(needsRehash('$argon2id$v=19$m=19456,t=1,p=1$c2FsdHNhbHQ$aGFzaA')).toBe(true);
    expect(needsRehash('$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA')).toBe(true);
  });
});

it('applies PASSWORD_MIN_LENGTH wherever a password is set', async () => {
  const t = await buildTestApp({ env: { PASSWORD_MIN_LENGTH: '14' } });
  try {
    await expect(makeUser(t.deps, { username: 'shortpw', password: 'thirteen char' })).rejects.toMatchObject({ status: 400, fieldErrors: { password: ['The password must be at least 14 characters.'] } });
    await makeUser(t.deps, { username: 'longpw', password: 'fourteen chars' });
    await expect(setPassword(t.deps, 'longpw', 'thirteen char')).rejects.toMatchObject({ status: 400 });
  } finally {
    await t.close();
  }
});

describe('hash upgrades', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  it('rehashes with today’s parameters at the next successful login', async () => {
    const user = await makeUser(t.deps, { username: 'legacyhash' });
    const weak = await hash(user.password, { algorithm: 2, memoryCost: 4096, timeCost: 1, parallelism: 1 });
    await t.store.write((trx) => trx.updateTable('users').set({ password_hash: weak }).where('id', '=', user.id).execute());
    const storedHash = async () => (await t.store.db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow()).password_hash;

    // A failed login changes nothing.
    const url = '/api/v1.1/users/legacyhash/';
    expect((await t.app.inject({ method: 'GET', url, headers: { authorization: basic('legacyhash', 'not the password') } })).statusCode).toBe(401);
    expect(await storedHash()).toBe(weak);

    expect((await t.app.inject({ method: 'GET', url, headers: { authorization: basic('legacyhash', user.password) } })).statusCode).toBe(200);
    const upgraded = await storedHash();
    expect(upgraded).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect((await t.app.inject({ method: 'GET', url, headers: { authorization: basic('legacyhash', user.password) } })).statusCode).toBe(200);
    expect(await storedHash()).toBe(upgraded);
  });
});
