// Child processes of the benchmark: the service (`node bin/accounts.js serve`, with the flags
// `npm start` gives it: src/ops/node-flags.ts) and the ceiling.
// Every process started here is remembered and stopped by its id, also when the run fails or is
// interrupted.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { withServerFlags } from '../src/ops/node-flags.ts';

export const REPO = join(import.meta.dirname, '..');

const started = new Set<ChildProcess>();

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The ids of a process's descendants (Linux /proc; empty elsewhere). */
export function descendants(pid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const entry of entries) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/** Resident set size in bytes (VmRSS), or undefined when it cannot be read. */
export function residentBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export type Running = {
  child: ChildProcess;
  port: number;
  /** The last lines the process wrote (stdout and stderr), for diagnostics. */
  output: string[];
  stop(): Promise<void>;
};

function track(child: ChildProcess, output: string[]): void {
  started.add(child);
  child.once('exit', () => started.delete(child));
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      output.push(line);
      if (output.length > 200) output.shift();
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
}

function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; also for descendants (cluster workers) left behind. */
async function stopProcess(child: ChildProcess, graceMs = 15_000): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const family = descendants(pid).map((member) => ({ member, cmdline: commandLine(member) }));
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
  const deadline = Date.now() + graceMs;
  for (const { member, cmdline } of family) {
    while (alive(member) && Date.now() < deadline) await sleep(50);
    // Only the very process seen before (not another that reused its id).
    if (alive(member) && commandLine(member) === cmdline) process.kill(member, 'SIGKILL');
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export type ServiceOptions = {
  databasePath: string;
  /** Instead of databasePath: a PostgreSQL URL. */
  databaseUrl?: string;
  workers: number;
  publicUrl: string;
  /** Options for the service's Node, e.g. --cpu-prof. */
  nodeOptions?: string[];
};

/** The registry `service` the bench's server accepts. */
export const BENCH_REGISTRY_SERVICE = 'registry.bench';

// Settings the service reads; none may leak in from the caller's environment.
const SERVICE_VARIABLES = [
  'HOST', 'PORT', 'PUBLIC_URL', 'DATABASE_URL', 'DATABASE_POOL_SIZE', 'DATABASE_STATEMENT_TIMEOUT', 'LOG_LEVEL', 'BODY_LIMIT',
  'SHUTDOWN_DELAY_MS', 'REDIS_URL', 'REDIS_PREFIX', 'TRUST_PROXY', 'LOGIN_MAX_FAILURES', 'LOGIN_IP_MAX_FAILURES', 'PASSWORD_MIN_LENGTH',
  'WORKERS', 'NODE_ENV', 'NODE_OPTIONS', 'REGISTRY_SERVICES', 'REGISTRY_ISSUER', 'REGISTRY_TOKEN_SECONDS', 'REGISTRY_PULL', 'REGISTRY_REFRESH_DAYS',
];

/**
 * Starts the service in its production configuration and resolves once /readyz answers 200,
 * with the time that took (spawn to first 200).
 */
export async function startService(options: ServiceOptions): Promise<Running & { startupMs: number }> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of SERVICE_VARIABLES) delete env[name];
  Object.assign(env, {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    WORKERS: String(options.workers),
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: options.databaseUrl ?? `sqlite:${options.databasePath}`,
    PUBLIC_URL: options.publicUrl,
    // The registry token endpoint on, for its case (bench/run.ts); the other cases never call it.
    REGISTRY_SERVICES: BENCH_REGISTRY_SERVICE,
  });
  const output: string[] = [];
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [...withServerFlags(options.nodeOptions ?? []), join(REPO, 'bin/accounts.js'), 'serve'], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child, output);
  const running: Running = { child, port, output, stop: () => stopProcess(child) };
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the service exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output.slice(-20).join('\n')}`);
    }
    try {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.status === 200) return { ...running, startupMs: performance.now() - spawnedAt };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await running.stop();
      throw new Error(`the service was not ready within 180 s:\n${output.slice(-20).join('\n')}`);
    }
    await sleep(10);
  }
}

/** Starts bench/ceiling.ts (or another floor, e.g. floor-fastify.ts) replaying the recorded response in `responseFile`. */
export async function startCeiling(responseFile: string, script = 'ceiling.ts'): Promise<Running> {
  const output: string[] = [];
  const child = spawn(process.execPath, [join(import.meta.dirname, script), responseFile], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child, output);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the ceiling server did not start:\n${output.join('\n')}`)), 30_000);
    child.stdout?.on('data', () => {
      const line = output.find((l) => l.startsWith('{"port":'));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the ceiling server exited (${code}):\n${output.join('\n')}`));
    });
  });
  return { child, port, output, stop: () => stopProcess(child, 5_000) };
}

/** The share of CPU time spent idle over `ms`, all cores (Linux /proc/stat; undefined elsewhere). */
export async function idleShare(ms: number): Promise<number | undefined> {
  const sample = () => {
    try {
      const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
      return { idle: fields[3]! + (fields[4] ?? 0), total: fields.reduce((a, b) => a + b, 0) };
    } catch {
      return undefined;
    }
  };
  const before = sample();
  await sleep(ms);
  const after = sample();
  if (!before || !after || after.total === before.total) return undefined;
  return (after.idle - before.idle) / (after.total - before.total);
}

/** Stops whatever is still running (on failure or Ctrl-C). */
export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((child) => stopProcess(child, 5_000)));
}

let clockTicks: number | undefined;
/**
 * CPU time (user + system) the processes have used, in seconds, from /proc/PID/stat (fields 14
 * and 15, in clock ticks): what a request costs the server, whatever else the machine does.
 */
export function cpuSeconds(pids: readonly number[]): number | undefined {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  let total = 0;
  for (const pid of pids) {
    try {
      // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    } catch {
      return undefined;
    }
  }
  return total / clockTicks;
}
