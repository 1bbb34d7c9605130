import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.ts';
import { parseScopeList } from '../auth/scopes.ts';

describe('parseDuration', () => {
  it('reads m, h, d, w and y', () => {
    expect(parseDuration('30m')).toBe(30 * 60_000);
    expect(parseDuration('12h')).toBe(12 * 3_600_000);
    expect(parseDuration('90d')).toBe(90 * 86_400_000);
    expect(parseDuration('2w')).toBe(14 * 86_400_000);
    expect(parseDuration('1y')).toBe(365 * 86_400_000);
  });
  it.each(['', '0d', '90', 'd', '-1d', '1.5d', '90 days', '9999999d'])('refuses %j', (input) => {
    expect(() => parseDuration(input)).toThrow(/invalid duration/);
  });
});

describe('parseScopeList', () => {
  it('accepts commas or spaces and returns the canonical order without duplicates', () => {
    expect(parseScopeList('email_write,profile_read, email_write')).toEqual(['profile_read', 'email_write']);
    expect(parseScopeList('profile_write email_read')).toEqual(['profile_write', 'email_read']);
  });
  it('refuses unknown scopes and an empty list', () => {
    expect(() => parseScopeList('profile_read,admin')).toThrow(/unknown scope "admin"/);
    expect(() => parseScopeList(' , ')).toThrow(/no scopes/);
  });
});
