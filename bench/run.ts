// `npm run bench`: the performance benchmark. Seeds (or reuses) a database of
// realistic size, starts the service in its production configuration with WORKERS=1 and then 2,
// measures the hot paths with autocannon against a bare node:http ceiling answering the same
// bytes, prints the table and writes docs/BENCHMARKS.md. `--scale` adds the scale case
// (GET user at 1,000 / 100,000 / 1,000,000 users, start-up on the largest).
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describeMeasurement, measureInTurns, measureServer, recordResponse, type Measurement, type Request } from './load.ts';
import { entityTag } from '../src/kernel/entity-tags.ts';
import { BENCH_REGISTRY_SERVICE, descendants, idleShare, REPO, residentBytes, sleep, startCeiling, startService, stopAll } from './processes.ts';
import { markdown, goalsTable, processTable, readPrevious, resultsTable, scaleSection, type CaseResult, type Report, type ScaleRow, type WorkersRun } from './report.ts';
import { BENCH_PUBLIC_URL, copyDatabase, seededDatabase, type BenchUser, type SeededDatabase } from './seed.ts';

const PUBLIC_URL = BENCH_PUBLIC_URL;
const DOCS = join(REPO, 'docs/BENCHMARKS.md');

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function numberSetting(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name}: must be a number ≥ ${min} (got "${raw}")`);
  return value;
}

function listSetting(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const values = raw.split(',').map((s) => Number(s.trim()));
  if (values.some((v) => !Number.isSafeInteger(v) || v < 1)) throw new Error(`${name}: must be a comma-separated list of positive integers (got "${raw}")`);
  return values;
}

const args = process.argv.slice(2);
const settings = {
  users: Math.floor(numberSetting('BENCH_USERS', 100_000, 1)),
  durationS: numberSetting('BENCH_DURATION', 8, 1),
  warmupS: numberSetting('BENCH_WARMUP', 2, 0),
  /** The cases of one WORKERS run are measured in turns, in this many rounds (load.ts, measureInTurns). */
  rounds: Math.floor(numberSetting('BENCH_ROUNDS', 4, 1)),
  connections: Math.floor(numberSetting('BENCH_CONNECTIONS', 50, 1)),
  workers: listSetting('BENCH_WORKERS', [1, 2]),
  scale: args.includes('--scale') || process.env.BENCH_SCALE === '1',
  scaleSizes: listSetting('BENCH_SCALE_SIZES', [1_000, 100_000, 1_000_000]),
  writeDocs: !args.includes('--no-docs'),
  /** A directory: run the service with --cpu-prof and leave the profiles there. */
  cpuProfileDir: process.env.BENCH_CPU_PROF?.trim() || undefined,
  /** Only these cases (ids), e.g. to profile one; all by default. */
  cases: process.env.BENCH_CASES?.split(',').map((s) => s.trim()).filter(Boolean),
};
const unknownArgs = args.filter((a) => !['--scale', '--no-docs'].includes(a));
if (unknownArgs.length > 0) throw new Error(`bench: unknown argument ${unknownArgs.join(' ')} (known: --scale, --no-docs)`);

// ---------------------------------------------------------------------------------------------
// The cases. Connection i acts as bench user i (modulo their number), so writes of different
// connections never contend for one user's rows (nor hit the 20-address limit).

type Context = { users: BenchUser[]; password: string; run: number };
type Case = { id: string; label: string; requests(user: BenchUser, connection: number, context: Context): Request[] };

const userPath = (user: BenchUser) => `/api/v1.1/users/${user.username}/`;
const bearer = (user: BenchUser) => ({ authorization: `Bearer ${user.token}` });
const json = { 'content-type': 'application/json' };

const BEARER_GET: Case = {
  id: 'bearer',
  label: 'GET user, Bearer',
  requests: (user) => [{ method: 'GET', path: userPath(user), headers: bearer(user) }],
};

const CASES: Case[] = [
  BEARER_GET,
  {
    id: 'oauth',
    label: 'GET user, OAuth access token',
    requests: (user) => [{ method: 'GET', path: userPath(user), headers: { authorization: `Bearer ${user.oauthToken}` } }],
  },
  {
    id: 'basic',
    label: 'GET user, Basic (warm)',
    requests: (user, _connection, context) => [
      { method: 'GET', path: userPath(user), headers: { authorization: `Basic ${Buffer.from(`${user.username}:${context.password}`).toString('base64')}` } },
    ],
  },
  {
    id: 'emails',
    label: 'GET emails, Bearer',
    requests: (user) => [{ method: 'GET', path: `${userPath(user)}emails/`, headers: bearer(user) }],
  },
  {
    // What every docker push and pull costs first: a registry token, signed ES256, for a
    // personal access token with the registry's scopes (docs/how-to/registry.md).
    id: 'registry',
    label: 'registry token, access token (Basic)',
    requests: (user) => [
      {
        method: 'GET',
        path: `/registry/token?service=${BENCH_REGISTRY_SERVICE}&scope=repository:${user.username}/app:pull,push&account=${user.username}`,
        headers: { authorization: `Basic ${Buffer.from(`${user.username}:${user.token}`).toString('base64')}` },
      },
    ],
  },
  {
    id: 'patch',
    label: 'PATCH user (location)',
    requests: (user) =>
      ['Lisbon, Portugal', 'Porto, Portugal'].map((location) => ({
        method: 'PATCH',
        path: userPath(user),
        headers: { ...bearer(user), ...json },
        body: JSON.stringify({ location }),
      })),
  },
  {
    id: 'address',
    label: 'POST+DELETE address',
    requests: (user, connection, context) => {
      // Unique to this connection and this autocannon run: a pair cut off at the end of a run
      // leaves an address behind that no later run sends again.
      const body = JSON.stringify({ email: `bench.r${context.run}.c${connection}@example.net` });
      return ['POST', 'DELETE'].map((method) => ({ method, path: `${userPath(user)}emails/`, headers: { ...bearer(user), ...json }, body }));
    },
  },
];

const unknownCases = (settings.cases ?? []).filter((id) => !CASES.some((c) => c.id === id));
if (unknownCases.length > 0) throw new Error(`BENCH_CASES: unknown case ${unknownCases.join(', ')} (known: ${CASES.map((c) => c.id).join(', ')})`);
const selectedCases = CASES.filter((c) => !settings.cases || settings.cases.length === 0 || settings.cases.includes(c.id));

let runCounter = 0;

/** µs per entityTag() of a GET user representation: the median of 5 rounds of 20,000. */
function etagCost(representation: unknown): number {
  const rounds: number[] = [];
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    for (let i = 0; i < 20_000; i++) entityTag(representation);
    rounds.push(((performance.now() - started) * 1000) / 20_000);
  }
  return rounds.sort((a, b) => a - b)[2]!;
}

const warnings: string[] = [];
function warn(message: string): void {
  warnings.push(message);
  log(`WARNING: ${message}`);
}

function checkValid(what: string, m: Measurement): void {
  const bad = m.non2xx + m.errors + m.timeouts;
  if (bad > 0) {
    const statuses = Object.entries(m.statuses).map(([s, n]) => `${s}×${n}`).join(', ');
    warn(`${what}: ${m.non2xx} non-2xx responses, ${m.errors} errors, ${m.timeouts} timeouts (statuses: ${statuses}); its numbers are not valid`);
  }
}

/** Warm-up (discarded), then the measured run. */
async function warmAndMeasure(port: number, benchCase: Case, seeded: SeededDatabase, what: string, serverPids?: () => number[]): Promise<Measurement> {
  const context: Context = { users: seeded.benchUsers, password: seeded.password, run: 0 };
  const { warm, measured: m } = await measureServer({
    port,
    connections: settings.connections,
    warmupS: settings.warmupS,
    durationS: settings.durationS,
    requestsFor: (connection) => {
      if (connection === 0) context.run = ++runCounter; // a new run of connections
      return benchCase.requests(seeded.benchUsers[connection % seeded.benchUsers.length]!, connection, context);
    },
    serverPids: serverPids ?? (() => []),
  });
  if (warm) checkValid(`${what} (warm-up)`, warm);
  checkValid(what, m);
  log(`  ${what}: ${describeMeasurement(m)}`);
  return m;
}

/** Every case against one running service, in turns (see measureInTurns). */
async function measureCasesInTurns(port: number, cases: readonly Case[], seeded: SeededDatabase, workers: number, serverPids: () => number[]): Promise<CaseResult[]> {
  const contexts = new Map(cases.map((c) => [c, { users: seeded.benchUsers, password: seeded.password, run: 0 } satisfies Context]));
  const { warm, measured } = await measureInTurns(cases, {
    port,
    connections: settings.connections,
    warmupS: settings.warmupS,
    durationS: settings.durationS,
    rounds: settings.rounds,
    serverPids,
    requestsFor: (benchCase, connection) => {
      const context = contexts.get(benchCase)!;
      if (connection === 0) context.run = ++runCounter; // a new run of connections
      return benchCase.requests(seeded.benchUsers[connection % seeded.benchUsers.length]!, connection, context);
    },
  });
  return cases.map((benchCase, index) => {
    const what = `WORKERS=${workers} ${benchCase.label}`;
    const warmed = warm[index];
    if (warmed) checkValid(`${what} (warm-up)`, warmed);
    const measurement = measured[index]!;
    checkValid(what, measurement);
    log(`  ${what}: ${describeMeasurement(measurement)}`);
    return { id: benchCase.id, label: benchCase.label, workers, measurement };
  });
}

/** The service's processes (the spawned one and its descendants), once their number is steady. */
async function serviceProcesses(pid: number): Promise<number[]> {
  let last = [pid, ...descendants(pid)];
  let steadySince = Date.now();
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline && Date.now() - steadySince < 750) {
    await sleep(100);
    const now = [pid, ...descendants(pid)];
    if (now.length !== last.length) steadySince = Date.now();
    last = now;
  }
  return last;
}

const workDir = mkdtempSync(join(tmpdir(), 'accounts-bench-'));

async function main(): Promise<void> {
  const date = new Date();
  try {
    // Another busy process on the machine skews every number: say so.
    const idle = await idleShare(1_000);
    if (idle !== undefined && idle < 0.85) warn(`the machine was busy before the run (${Math.round((1 - idle) * 100)}% of the CPU in use): the numbers may be low`);
    const seeded = await seededDatabase(settings.users, log);
    if (settings.connections > seeded.benchUsers.length) {
      warn(`${settings.connections} connections but ${seeded.benchUsers.length} bench users: some connections share a user`);
    }

    let ceiling: Measurement | undefined;
    let ceilingBytes = 0;
    const runs: WorkersRun[] = [];
    for (const workers of settings.workers) {
      const databasePath = copyDatabase(seeded, workDir, `workers-${workers}`);
      log(`service: WORKERS=${workers}, ${databasePath}`);
      const nodeOptions = settings.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${resolve(settings.cpuProfileDir, `workers-${workers}`)}`] : [];
      const service = await startService({ databasePath, workers, publicUrl: PUBLIC_URL, nodeOptions });
      try {
        log(`  ready in ${Math.round(service.startupMs)} ms on port ${service.port}`);
        const pid = service.child.pid!;
        await serviceProcesses(pid);

        if (ceiling === undefined) {
          const recorded = await recordResponse(service.port, userPath(seeded.benchUsers[0]!), bearer(seeded.benchUsers[0]!));
          if (recorded.status !== 200) throw new Error(`GET user answered ${recorded.status}: ${recorded.body.toString('utf8').slice(0, 500)}`);
          const responseFile = join(workDir, 'ceiling-response.json');
          writeFileSync(responseFile, JSON.stringify({ status: recorded.status, headers: recorded.headers, bodyBase64: recorded.body.toString('base64') }));
          ceilingBytes = recorded.body.length;
          const server = await startCeiling(responseFile);
          try {
            log(`ceiling: node:http replaying ${recorded.body.length} bytes (${recorded.headers.map(([k]) => k).join(', ')})`);
            ceiling = await warmAndMeasure(server.port, BEARER_GET, seeded, 'ceiling', () => (server.child.pid === undefined ? [] : [server.child.pid]));
          } finally {
            await server.stop();
          }
        }

        // A real GET user answer, for the ETag's cost (the same representation the service hashes).
        const sampleUser = await (await fetch(`http://127.0.0.1:${service.port}${userPath(seeded.benchUsers[0]!)}`, { headers: bearer(seeded.benchUsers[0]!) })).json();
        const cases = await measureCasesInTurns(service.port, selectedCases, seeded, workers, () => [pid, ...descendants(pid)]);

        const processes = await serviceProcesses(pid);
        const rssBytes = processes.map(residentBytes).filter((b) => b !== undefined);
        if (workers > 1 && processes.length < 2) {
          warn(`WORKERS=${workers} was not honoured: the service ran as one process (the cluster is not implemented yet?)`);
        }
        log(`  processes: ${processes.length}, RSS ${rssBytes.map((b) => `${(b / 1e6).toFixed(0)} MB`).join(' + ')}`);
        // LOG_LEVEL=warn: anything written is a warning or an error.
        const logged = service.output;
        if (logged.length > 0) warn(`WORKERS=${workers}: the service wrote ${logged.length} line(s) (LOG_LEVEL=warn), e.g. ${logged[0]!.slice(0, 300)}`);
        runs.push({ workers, processes: processes.length, rssBytes, startupMs: service.startupMs, cases, etagMicros: etagCost(sampleUser) });
      } finally {
        await service.stop();
        rmSync(databasePath, { force: true });
        rmSync(`${databasePath}-wal`, { force: true });
        rmSync(`${databasePath}-shm`, { force: true });
      }
    }

    let scale: ScaleRow[] | undefined;
    if (settings.scale) {
      scale = [];
      for (const users of settings.scaleSizes) {
        const sized = await seededDatabase(users, log);
        const databasePath = copyDatabase(sized, workDir, `scale-${users}`);
        const databaseBytes = statSync(databasePath).size;
        log(`scale: ${users} users (${(databaseBytes / 1e6).toFixed(0)} MB)`);
        const service = await startService({ databasePath, workers: 1, publicUrl: PUBLIC_URL });
        try {
          log(`  ready in ${Math.round(service.startupMs)} ms`);
          const measurement = await warmAndMeasure(service.port, BEARER_GET, sized, `scale ${users} users: GET user, Bearer`);
          scale.push({ users, databaseBytes, startupMs: service.startupMs, measurement });
        } finally {
          await service.stop();
          for (const suffix of ['', '-wal', '-shm']) rmSync(`${databasePath}${suffix}`, { force: true });
        }
      }
    }

    const report: Report = {
      date,
      settings: { users: settings.users, connections: settings.connections, durationS: settings.durationS, warmupS: settings.warmupS, rounds: settings.rounds },
      dataset: { users: seeded.users, addresses: seeded.addresses, tokens: seeded.tokens, bytes: seeded.bytes, seededInMs: seeded.seededInMs, cached: seeded.fromCache },
      ceiling: ceiling!,
      ceilingBytes,
      runs,
      scale,
      warnings,
    };
    const out = [resultsTable(report), '', processTable(report), '', goalsTable(report)];
    if (scale && scale.length > 0) out.push('', scaleSection(report, scale));
    process.stdout.write(`\n${out.join('\n')}\n\n`);
    if (warnings.length > 0) process.stdout.write(`${warnings.length} warning(s):\n${warnings.map((w) => `- ${w}`).join('\n')}\n\n`);
    if (settings.writeDocs) {
      mkdirSync(join(REPO, 'docs'), { recursive: true });
      writeFileSync(DOCS, markdown(report, readPrevious(DOCS)));
      log(`wrote ${DOCS}`);
    }
  } finally {
    await stopAll();
    rmSync(workDir, { recursive: true, force: true });
  }
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (interrupted) return;
    interrupted = true;
    log(`bench: ${signal}: stopping the processes it started`);
    void stopAll().finally(() => {
      rmSync(workDir, { recursive: true, force: true });
      process.exit(130);
    });
  });
}

await main().catch(async (error: unknown) => {
  await stopAll();
  log(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
