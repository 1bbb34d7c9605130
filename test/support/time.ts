// Waits in tests stretch with the machine's load: vitest.config.ts measures it once when the run
// starts (or takes TEST_TIME_SCALE) and hands the factor to every test process. A deadline is a
// guard against a hang, not a speed goal; speed is measured by `npm run bench`.
export const TIME_SCALE = Math.max(1, Number(process.env.TEST_TIME_SCALE) || 1);

/** `ms`, stretched by the run's time scale. */
export function scaled(ms: number): number {
  return Math.round(ms * TIME_SCALE);
}
