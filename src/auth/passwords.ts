// Password hashing: argon2id, m=19456 KiB, t=2, p=1 (OWASP Password Storage Cheat Sheet).
// Hashing runs on libuv's thread pool, off the event loop.
import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { isWellFormedToken } from './token-format.ts';
import { isCommonPassword } from './common-passwords.ts';
import { createHashLimiter, type HashLimiterOptions } from './hash-limiter.ts';
import type { PasswordHasher } from '../kernel/deps.ts';

export const HASH_OPTIONS = { algorithm: 2 /* Algorithm.Argon2id, a const enum */, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_BYTES = 1024;

/**
 * The process's password hasher: the thread pool is per process, so the cap is too
 * (HASH_CONCURRENCY, HASH_QUEUE; see hash-limiter.ts). Made once by src/wiring.ts.
 */
export function createPasswordHasher(options: HashLimiterOptions): PasswordHasher {
  const limiter = createHashLimiter(options);
  // A hash of a random string with the same parameters: verifying against it when the user does
  // not exist costs as much as a real check, so the answer's timing does not reveal which it was.
  let dummyHash: Promise<string> | undefined;
  return {
    hash: (password) => limiter.run(() => hash(password, HASH_OPTIONS)),
    async verify(passwordHash, password) {
      if (!passwordHash) {
        dummyHash ??= hash(`dummy-${randomBytes(16).toString('hex')}`, HASH_OPTIONS);
        const dummy = await dummyHash;
        await limiter.run(() => verify(dummy, password).catch(() => false));
        return false;
      }
      // A corrupt stored hash is a failed login, not a 500.
      return limiter.run(() => verify(passwordHash, password).catch(() => false));
    },
  };
}

/** True when a stored hash was made with weaker parameters (or another algorithm) than today's. */
export function needsRehash(passwordHash: string): boolean {
  const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(passwordHash);
  if (!match) return true;
  const [m, t, p] = match.slice(1).map(Number) as [number, number, number];
  return m < HASH_OPTIONS.memoryCost || t < HASH_OPTIONS.timeCost || p < HASH_OPTIONS.parallelism;
}

/**
 * The words of this service's name, docker-accounts (package.json): a password built on
 * the name of the service is among the first an attacker tries against it (NIST SP 800-63B
 * §3.1.1.2 lists it with the username among the context-specific words to refuse).
 */
export const SERVICE_NAME_WORDS: readonly string[] = ['docker', 'accounts'];

/** Whose password it is: the username is one of the first guesses against that account. */
export type PasswordContext = { minLength?: number; username?: string };

/** The rules as the person choosing a password reads them (beside the field, in the docs). */
export function passwordRules(minLength: number = PASSWORD_MIN_LENGTH): string {
  return (
    `At least ${minLength} characters; no rules about digits or symbols. It must not contain your username or this ` +
    `service’s name (${SERVICE_NAME_WORDS.map((w) => `“${w}”`).join(', ')}), nor be one of the passwords most often found in ` +
    'data breaches. A few unrelated words make a strong password that is easy to remember.'
  );
}

/**
 * The password policy (NIST SP 800-63B §3.1.1.2): a length range, no composition rules, never
 * truncated; not the username, the service's name or a breached password, each refused with its
 * reason. No strength estimator: zxcvbn-ts, measured here, took 0.7 s of CPU and 27 MB to load
 * its dictionaries, then 30-50 ms a password and over a second for one crafted 256-character
 * one, all on the event loop.
 */
export function passwordProblem(password: string, context: PasswordContext = {}): string | undefined {
  const minLength = context.minLength ?? PASSWORD_MIN_LENGTH;
  if (!password.isWellFormed()) return 'The password is not valid text.';
  if ([...password].length < minLength) return `The password must be at least ${minLength} characters.`;
  if (Buffer.byteLength(password) > PASSWORD_MAX_BYTES) return `The password must be at most ${PASSWORD_MAX_BYTES} bytes.`;
  // Basic auth reads a token-shaped password as a token, so such a password could never be used.
  if (isWellFormedToken(password)) return 'The password has the shape of an access token; choose another.';
  const folded = password.toLowerCase();
  // Shorter names would match too many good passwords by chance (valid usernames have 4 or more).
  const username = context.username?.toLowerCase() ?? '';
  if ([...username].length >= 3 && folded.includes(username)) return 'The password must not contain the username; choose another.';
  const serviceWord = SERVICE_NAME_WORDS.find((word) => folded.includes(word));
  if (serviceWord !== undefined) return `The password must not contain this service’s name (“${serviceWord}”); choose another.`;
  if (isCommonPassword(password)) return 'This password is one of the most common in data breaches, so attackers try it first; choose another.';
  return undefined;
}
