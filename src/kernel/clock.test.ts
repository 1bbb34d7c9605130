import { describe, expect, it } from 'vitest';
import { formatMicros, systemClock } from './clock.ts';

describe('clock', () => {
  it('formats with six fractional digits', () => {
    expect(formatMicros(Date.UTC(2014, 1, 12, 17, 58, 1, 431) * 1000 + 312)).toBe('2014-02-12T17:58:01.431312Z');
    expect(formatMicros(0)).toBe('1970-01-01T00:00:00.000000Z');
  });
  it('tells the time in that shape, close to Date.now()', () => {
    const iso = systemClock.nowIso();
    expect(iso).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(Math.abs(Date.parse(iso) - Date.now())).toBeLessThan(5_000);
  });
});
