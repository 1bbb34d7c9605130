// Time, with microseconds: `date_joined` has six fractional digits (docs/reference/api.md).
// Passed to buildApp so tests can control it.

export type Clock = {
  /** Now, as an RFC 3339 UTC string with six fractional digits, e.g. 2014-02-12T17:58:01.431312Z. */
  nowIso(): string;
  nowMs(): number;
};

/** Formats epoch microseconds as 2014-02-12T17:58:01.431312Z. */
export function formatMicros(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const extra = String(Math.floor(micros) % 1000).padStart(3, '0');
  return new Date(ms).toISOString().replace(/(\.\d{3})Z$/, `$1${extra}Z`);
}

/** Formats a Date (millisecond precision) in the same shape. */
export function formatDate(date: Date): string {
  return formatMicros(date.getTime() * 1000);
}

export const systemClock: Clock = {
  nowIso: () => formatMicros((performance.timeOrigin + performance.now()) * 1000),
  nowMs: () => Date.now(),
};
