// The V8 flags a server process runs with: `npm start`, the workers WORKERS>1 forks, and the
// benchmark. Each was measured with `npm run bench` (docs/explanation/performance.md, "Memory"):
// - --max-semi-space-size=8: under load V8 grows the young generation to 3 × 32 MB here; capped,
//   it stays at 16 MB, with no measurable cost in CPU per request.
// - --no-allocation-site-pretenuring: V8 decides at start-up, when everything survives, to
//   allocate objects of some sites straight in the old generation; under load those were a
//   request's short-lived objects, and the old generation grew by MBs a second until a full
//   collection. Without it, a request's garbage dies young.
// - --expose-gc: for the one full collection after start-up (collectStartupGarbage below).
// V8 reads these only when a process starts, so they are command-line flags; an operator's own
// value of one of them is kept.
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--no-allocation-site-pretenuring', '--expose-gc'];

/** `execArgv` with every server flag it does not set already. */
export function withServerFlags(execArgv: readonly string[]): string[] {
  // --flag, --no-flag and --flag=value name one setting; V8 reads _ as -.
  const named = (flag: string) => flag.split('=')[0]!.replaceAll('_', '-').replace(/^--no-/, '--');
  const given = new Set(execArgv.map(named));
  return [...execArgv, ...SERVER_NODE_FLAGS.filter((flag) => !given.has(named(flag)))];
}

/**
 * One full collection once the app is built, before it listens: what loading the modules,
 * migrating and compiling the routes left behind (≈ 30 MB) is otherwise kept until the old
 * generation next fills, which under load takes minutes now that little reaches it. `gc` exists
 * when the process runs with --expose-gc (one of the flags above); without it, nothing happens.
 */
export function collectStartupGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc === 'function') gc();
}
