import { sha256Hex } from '../kernel/crypto.ts';
import { describe, expect, it } from 'vitest';
import { TOKEN_PREFIX, generateToken, isWellFormedToken, tokenHint } from './token-format.ts';

describe('personal access token format', () => {
  it('has the prefix, 38 base62 characters and a valid checksum', () => {
    const token = generateToken();
    expect(token).toMatch(/^dapat_[0-9A-Za-z]{38}$/);
    expect(token.startsWith(TOKEN_PREFIX)).toBe(true);
    expect(isWellFormedToken(token)).toBe(true);
  });

  it('is different every time', () => {
    const tokens = new Set(Array.from({ length: 1000 }, generateToken));
    expect(tokens.size).toBe(1000);
  });

  it('refuses any single-character change (the checksum catches typos)', () => {
    const token = generateToken();
    let caught = 0;
    let tried = 0;
    for (let i = TOKEN_PREFIX.length; i < token.length; i++) {
      for (const c of ['0', 'Z', 'z']) {
        if (token[i] === c) continue;
        tried++;
        if (!isWellFormedToken(token.slice(0, i) + c + token.slice(i + 1))) caught++;
      }
    }
    expect(caught).toBe(tried);
  });

  it('refuses wrong shapes', () => {
    const token = generateToken();
    for (const bad of ['', token.slice(1), `${token}a`, token.replace('dapat_', 'ghp_'), token.toUpperCase(), `${token.slice(0, -1)}-`]) {
      expect(isWellFormedToken(bad), bad).toBe(false);
    }
  });

  it('digests with SHA-256 hex and hints with the first characters only', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const token = generateToken();
    expect(tokenHint(token)).toBe(token.slice(0, 10));
  });
});
