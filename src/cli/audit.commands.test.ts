import { describe, expect, it } from 'vitest';
import { parseSince } from './audit.commands.ts';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0, 0);

describe('parseSince', () => {
  it('reads a duration back from now', () => {
    expect(parseSince('24h', NOW)).toBe('2026-11-22T12:00:00.000000Z');
    expect(parseSince('7d', NOW)).toBe('2026-11-16T12:00:00.000000Z');
    expect(parseSince('30m', NOW)).toBe('2026-11-23T11:30:00.000000Z');
  });
  it('reads an RFC 3339 time in UTC, keeping microseconds, converting offsets', () => {
    expect(parseSince('2026-11-23T08:00:00Z', NOW)).toBe('2026-11-23T08:00:00.000000Z');
    expect(parseSince('2026-11-23t08:00:00.123456z', NOW)).toBe('2026-11-23T08:00:00.123456Z');
    expect(parseSince('2026-11-23T08:00:00.5+01:00', NOW)).toBe('2026-11-23T07:00:00.500000Z');
    expect(parseSince('2026-11-23 08:00:00-05:30', NOW)).toBe('2026-11-23T13:30:00.000000Z');
  });
  it('reads a date alone as midnight UTC', () => {
    expect(parseSince('2026-11-23', NOW)).toBe('2026-11-23T00:00:00.000000Z');
  });
  it.each(['', 'yesterday', '2026-11-23T08:00:00', '2026-02-30', '2026-02-30T00:00:00Z', '2026-11-23T25:00:00Z', '23/11/2026', '0d', '1.5h'])('refuses %j', (input) => {
    expect(() => parseSince(input, NOW)).toThrow(/invalid/);
  });
});
