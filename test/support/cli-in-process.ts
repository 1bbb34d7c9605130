// The `accounts` command run inside the test process: the same main() a real process runs, with
// its environment, standard input and output swapped in for the call. A real process costs a
// second or more of start-up on a busy machine; tests where the process itself is not the point
// (what a command prints, changes and exits with) use this, and runCli() stays for those where it
// is (signals, a terminal, several processes at once). Runs one at a time: the environment and
// the standard streams are the process's own.
import { Readable } from 'node:stream';
import { main } from '../../src/cli/main.ts';
import type { CliResult } from './processes.ts';

let queue: Promise<unknown> = Promise.resolve();

export function runCliInProcess(args: string[], options: { env?: Record<string, string>; stdin?: string } = {}): Promise<CliResult> {
  const run = queue.then(() => runNow(args, options));
  queue = run.catch(() => undefined);
  return run;
}

async function runNow(args: string[], options: { env?: Record<string, string>; stdin?: string }): Promise<CliResult> {
  const env: Record<string, string> = { LOG_LEVEL: 'silent', ...options.env };
  const savedEnv = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  const stdinDescriptor = Object.getOwnPropertyDescriptor(process, 'stdin')!;
  const writeOut = process.stdout.write;
  const writeErr = process.stderr.write;
  const savedExitCode = process.exitCode;
  let stdout = '';
  let stderr = '';
  const capture = (append: (text: string) => void) =>
    function write(chunk: string | Uint8Array, ...rest: unknown[]): boolean {
      append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      done?.();
      return true;
    };
  Object.assign(process.env, env);
  Object.defineProperty(process, 'stdin', { value: Readable.from([Buffer.from(options.stdin ?? '', 'utf8')]), configurable: true, writable: true });
  process.stdout.write = capture((text) => (stdout += text)) as typeof process.stdout.write;
  process.stderr.write = capture((text) => (stderr += text)) as typeof process.stderr.write;
  process.exitCode = undefined;
  try {
    await main(['node', 'accounts', ...args]);
    return { code: Number(process.exitCode ?? 0), stdout, stderr };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
    Object.defineProperty(process, 'stdin', stdinDescriptor);
    for (const [name, value] of Object.entries(savedEnv)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    process.exitCode = savedExitCode;
  }
}
