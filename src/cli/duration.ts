// "90d", "12h", "30m", "2w", "1y" → milliseconds.
const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000, y: 365 * 86_400_000 };

export function parseDuration(input: string): number {
  const match = /^(\d{1,6})([mhdwy])$/.exec(input.trim());
  if (!match || Number(match[1]) === 0) throw new Error(`invalid duration "${input}"; use a positive number and a unit: m, h, d, w or y (e.g. 90d)`);
  return Number(match[1]) * UNITS[match[2]!]!;
}
