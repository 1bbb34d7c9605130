// Password hashing: argon2id, m=19456 KiB, t=2, p=1 (OWASP Password Storage Cheat Sheet).
// Hashing runs on libuv's thread pool, off the event loop.
import { hash, verify } from '@node-rs/argon2';
import { isWellFormedToken } from '../tokens/token-format.ts';
import { isCommonPassword } from './common-passwords.ts';
import { createHashLimiter, type HashLimiter } from './hash-limiter.ts';

export const HASH_OPTIONS = { algorithm: 2 /* Algorithm.Argon2id, a const enum */, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_BYTES = 1024;

// The thread pool is per process, so the cap is too. buildApp sets it from the configuration.
let limiter: HashLimiter = createHashLimiter({ concurrency: 4, maxWaiting: 100 });

export function configureHashing(options: { concurrency: number; maxWaiting: number }): void {
  limiter = createHashLimiter(options);
}

export function hashPassword(password: string): Promise<string> {
  return limiter.run(() => hash(password, HASH_OPTIONS));
}

/** True when a stored hash was made with weaker parameters (or another algorithm) than today's. */
export function needsRehash(passwordHash: string): boolean {
  const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(passwordHash);
  if (!match) return true;
  const [m, t, p] = match.slice(1).map(Number) as [number, number, number];
  return m < HASH_OPTIONS.memoryCost || t < HASH_OPTIONS.timeCost || p < HASH_OPTIONS.parallelism;
}

// A hash of a random string with the same parameters: verifying against it when the user does
// not exist costs as much as a real check, so the answer's timing does not reveal which it was.
let dummyHash: Promise<string> | undefined;

/** Verifies a password; with no hash (unknown user, no password set) it still spends the same time, then fails. */
export async function verifyPassword(passwordHash: string | null | undefined, password: string): Promise<boolean> {
  if (!passwordHash) {
    dummyHash ??= hash(`dummy-${Math.random()}`, HASH_OPTIONS);
    const dummy = await dummyHash;
    await limiter.run(() => verify(dummy, password).catch(() => false));
    return false;
  }
  // A corrupt stored hash is a failed login, not a 500.
  return limiter.run(() => verify(passwordHash, password).catch(() => false));
}

/**
 * The password policy (NIST SP 800-63B §3.1.1.2): a length range, no composition rules, never
 * truncated, not a commonly used password.
 */
export function passwordProblem(password: string, minLength: number = PASSWORD_MIN_LENGTH): string | undefined {
  if (!password.isWellFormed()) return 'The password is not valid text.';
  if ([...password].length < minLength) return `The password must be at least ${minLength} characters.`;
  if (Buffer.byteLength(password) > PASSWORD_MAX_BYTES) return `The password must be at most ${PASSWORD_MAX_BYTES} bytes.`;
  // Basic auth reads a token-shaped password as a token, so such a password could never be used.
  if (isWellFormedToken(password)) return 'The password has the shape of an access token; choose another.';
  if (isCommonPassword(password)) return 'This password is too common; choose another.';
  return undefined;
}
