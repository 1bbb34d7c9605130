// Password rules and hash upgrades.
import { hash } from '@node-rs/argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commonPasswordCount, isCommonPassword } from '../../src/auth/common-passwords.ts';
import { needsRehash, passwordProblem } from '../../src/auth/passwords.ts';
import { setPassword } from '../../src/users/users.service.ts';
import { basic, buildTestApp, makeUser, type TestApp } from '../support/app.ts';

describe('the password policy', () => {
  it('refuses the common passwords, case-insensitively, from a list of 100,000 breached ones', () => {
    expect(commonPasswordCount()).toBe(100_000);
    for (const common of ['password', 'PASSWORD', 'baseball', 'iloveyou', 'qwertyuiop', 'football']) expect(isCommonPassword(common), common).toBe(true);
    expect(isCommonPassword('correct horse battery staple')).toBe(false);
    expect(passwordProblem('baseball')).toBe('This password is one of the most common in data breaches, so attackers try it first; choose another.');
  });

  // The old list (10,000 entries) lacked it, so it was accepted as a new password.
  it('refuses password123, in any case, and others the old list lacked', () => {
    for (const common of ['password123', 'Password123', 'PASSWORD123', 'pAsSwOrD123', 'qwerty123', 'iloveyou1']) {
      expect(passwordProblem(common), common).toMatch(/most common in data breaches/);
    }
  });

  it('refuses a password that contains the username, case-insensitively', () => {
    const reason = 'The password must not contain the username; choose another.';
    expect(passwordProblem('janedoe is my name', { username: 'janedoe' })).toBe(reason);
    expect(passwordProblem('my name is JaneDoe!', { username: 'janedoe' })).toBe(reason);
    expect(passwordProblem('my name is JaneDoe!', { username: 'JANEDOE' })).toBe(reason);
    expect(passwordProblem('correct horse battery staple', { username: 'janedoe' })).toBeUndefined();
    // Names shorter than 3 characters would rule out good passwords by chance.
    expect(passwordProblem('correct horse battery staple', { username: 'or' })).toBeUndefined();
    expect(passwordProblem('correct horse battery staple', { username: 'hor' })).toBe(reason);
  });

  it('refuses a password that contains the service’s name, docker-accounts, case-insensitively', () => {
    expect(passwordProblem('my docker password')).toBe('The password must not contain this service’s name (“docker”); choose another.');
    expect(passwordProblem('DockerHub2024!')).toMatch(/“docker”/);
    expect(passwordProblem('all my ACCOUNTS here')).toBe('The password must not contain this service’s name (“accounts”); choose another.');
    expect(passwordProblem('docker-accounts')).toMatch(/service’s name/);
  });

  it('accepts a strong password that breaks none of the rules', () => {
    expect(passwordProblem('correct horse battery staple', { username: 'janedoe' })).toBeUndefined();
    expect(passwordProblem('Tr0ub4dor&3 gallops', { username: 'janedoe', minLength: 14 })).toBeUndefined();
  });

  it('asks for 8 characters by default (configurable), allows 1024 bytes, and has no composition rules', () => {
    expect(passwordProblem('short')).toMatch(/at least 8/);
    expect(passwordProblem('only lowercase words')).toBeUndefined();
    expect(passwordProblem('twelve chars', { minLength: 13 })).toMatch(/at least 13/);
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

it('applies the username, service-name and breached-password rules wherever a password is set, as field errors', async () => {
  const t = await buildTestApp();
  try {
    await expect(makeUser(t.deps, { username: 'rulesuser', password: 'RulesUser is me' })).rejects.toMatchObject({
      status: 400,
      fieldErrors: { password: ['The password must not contain the username; choose another.'] },
    });
    await expect(makeUser(t.deps, { username: 'rulesuser', password: 'Password123' })).rejects.toMatchObject({ status: 400, fieldErrors: { password: [expect.stringMatching(/data breaches/)] } });
    await makeUser(t.deps, { username: 'rulesuser' });
    await expect(setPassword(t.deps, 'rulesuser', 'password123')).rejects.toMatchObject({ status: 400, fieldErrors: { password: [expect.stringMatching(/data breaches/)] } });
    await expect(setPassword(t.deps, 'rulesuser', 'a rulesuser passphrase')).rejects.toMatchObject({ status: 400, fieldErrors: { password: [expect.stringMatching(/username/)] } });
    await expect(setPassword(t.deps, 'rulesuser', 'my docker passphrase')).rejects.toMatchObject({ status: 400, fieldErrors: { password: [expect.stringMatching(/“docker”/)] } });
    await setPassword(t.deps, 'rulesuser', 'a brand new passphrase');
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
