// The V8 flags a server process runs with: `npm start`, the workers WORKERS>1 forks, and the
// benchmark. Measured with `npm run bench` (docs/explanation/performance.md, "Memory"): under load
// V8 grows the young generation to 3 × 32 MB here (113 MB resident); capped at 8 MB semi-spaces
// it stays at 17 MB, with no measurable cost in CPU per request, and one worker's resident memory
// after the benchmark falls by a third. V8 reads these only when a process starts, so they are
// command-line flags; an operator's own value of one of them is kept.
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--no-allocation-site-pretenuring'];

/** `execArgv` with every server flag it does not set already. */
export function withServerFlags(execArgv: readonly string[]): string[] {
  // --flag, --no-flag and --flag=value name one setting; V8 reads _ as -.
  const named = (flag: string) => flag.split('=')[0]!.replaceAll('_', '-').replace(/^--no-/, '--');
  const given = new Set(execArgv.map(named));
  return [...execArgv, ...SERVER_NODE_FLAGS.filter((flag) => !given.has(named(flag)))];
}
