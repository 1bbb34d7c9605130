import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { onceASecond } from './once-a-second.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

it('reports the first occurrence at once, then at most once a second while a flood goes on, losing none', () => {
  const reports: Array<{ at: number; count: number }> = [];
  const occurred = onceASecond((count) => reports.push({ at: Date.now(), count }));
  const start = Date.now();
  // 10 occurrences every 100 ms for 5 seconds.
  for (let step = 0; step < 50; step++) {
    for (let i = 0; i < 10; i++) occurred();
    vi.advanceTimersByTime(100);
  }
  vi.advanceTimersByTime(2_000);
  expect(reports[0]).toEqual({ at: start, count: 1 });
  for (let i = 1; i < reports.length; i++) expect(reports[i]!.at - reports[i - 1]!.at).toBeGreaterThanOrEqual(1_000);
  expect(reports.reduce((sum, r) => sum + r.count, 0)).toBe(500);
  expect(reports.length).toBeLessThanOrEqual(6);
});

it('after a quiet second the next occurrence is reported at once again; flush() reports what is pending', () => {
  const counts: number[] = [];
  const occurred = onceASecond((count) => counts.push(count));
  occurred();
  vi.advanceTimersByTime(2_500);
  occurred();
  expect(counts).toEqual([1, 1]);
  occurred();
  occurred();
  occurred.flush();
  expect(counts).toEqual([1, 1, 2]);
});
