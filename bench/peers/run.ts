// `npm run bench:peers`: this service beside what people would pick instead, in one run, on the
// same machine, the same database engines and the same load (autocannon, BENCH_CONNECTIONS
// keep-alive connections, each a user of its own), each server's CPU time per request read from
// /proc as in `npm run bench`:
//   - the floors: bare node:http (bench/ceiling.ts) and bare Fastify (bench/floor-fastify.ts)
//     answering the very bytes of a GET user response;
//   - this service, GET user with a personal access token, on SQLite and on PostgreSQL, and PATCH
//     user on PostgreSQL (its writes on SQLite are in `npm run bench`);
//   - Parse Server (PostgreSQL; it has no SQLite), GET /parse/users/me with a session token;
//   - better-auth, GET /api/auth/get-session with its session cookie, on SQLite and PostgreSQL.
// The peers are not dependencies of the project: `npm --prefix bench/peers ci` installs them
// (bench/peers/package.json). Writes docs/BENCHMARKS-PEERS.md unless --no-docs.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describeMeasurement, measureServer, recordResponse, type Measurement, type Request } from '../load.ts';
import { descendants, REPO, residentBytes, startCeiling, startService, stopAll, type Running } from '../processes.ts';
import { BENCH_PUBLIC_URL, copyDatabase, seededDatabase } from '../seed.ts';
import { loadConfig } from '../../src/kernel/config.ts';
import { openStore } from '../../src/kernel/db/connect.ts';
import { migrateToLatest } from '../../src/kernel/db/migrate.ts';
import { createAuthCache } from '../../src/auth/auth-cache.ts';
import { createDeps } from '../../src/wiring.ts';
import { createUser } from '../../src/users/users.service.ts';
import { createToken } from '../../src/tokens/tokens.service.ts';

const PEERS = import.meta.dirname;
const DOCS = join(REPO, 'docs/BENCHMARKS-PEERS.md');
const POSTGRES_ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}: must be a positive number (got "${raw}")`);
  return value;
}

const args = process.argv.slice(2);
const unknownArgs = args.filter((a) => a !== '--no-docs');
if (unknownArgs.length > 0) throw new Error(`bench:peers: unknown argument ${unknownArgs.join(' ')} (known: --no-docs)`);
const settings = {
  durationS: positive('BENCH_DURATION', 8),
  warmupS: positive('BENCH_WARMUP', 2),
  connections: Math.floor(positive('BENCH_CONNECTIONS', 50)),
  users: Math.floor(positive('BENCH_USERS', 100_000)),
  writeDocs: !args.includes('--no-docs'),
};

type Row = { system: string; engine: string; request: string; m: Measurement; rssMb?: number | undefined };
const rows: Row[] = [];
const workDir = mkdtempSync(join(tmpdir(), 'accounts-bench-peers-'));
const databases: string[] = [];

async function createDatabase(name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  databases.push(name);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropDatabases(): Promise<void> {
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    for (const name of databases) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** Measures `requests` (one list per connection) against a server whose processes are `root` and its descendants. */
async function measureRow(row: Omit<Row, 'm' | 'rssMb'>, port: number, root: number, requests: Request[][]): Promise<void> {
  const pids = () => [root, ...descendants(root)];
  const { measured } = await measureServer({
    port,
    connections: settings.connections,
    warmupS: settings.warmupS,
    durationS: settings.durationS,
    requestsFor: (connection) => requests[connection % requests.length]!,
    serverPids: pids,
  });
  const rss = pids().reduce((sum, pid) => sum + (residentBytes(pid) ?? 0), 0);
  const bad = measured.non2xx + measured.errors + measured.timeouts;
  if (bad > 0) throw new Error(`${row.system} (${row.engine}): ${bad} failed requests (${JSON.stringify(measured.statuses)}): not a valid measurement`);
  log(`  ${row.system}, ${row.engine}: ${describeMeasurement(measured)}`);
  rows.push({ ...row, m: measured, rssMb: rss > 0 ? rss / 1e6 : undefined });
}

/** A peer server (bench/peers/*.mjs): it seeds its users and prints its port and their requests. */
async function startPeer(script: string, databaseUrl: string): Promise<Running & { requests: Request[][] }> {
  const output: string[] = [];
  const child = spawn(process.execPath, [join(PEERS, script)], {
    cwd: workDir, // where Parse Server writes its log files
    env: { ...process.env, NODE_ENV: 'production', PEER_DATABASE_URL: databaseUrl, PEER_USERS: String(settings.connections) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let buffered = '';
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const ready = await new Promise<{ port: number; requests: Request[][] }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within 180 s:\n${output.join('').slice(-2000)}`)), 180_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split('\n').find((l) => l.startsWith('{"port":'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as { port: number; requests: Request[][] });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code}):\n${output.join('').slice(-2000)}`));
    });
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  return { child, port: ready.port, output, stop, requests: ready.requests };
}

/** This service on a fresh PostgreSQL database: its users and their tokens made by its own services; GET user and PATCH user requests. */
async function seedPostgres(url: string): Promise<{ reads: Request[][]; writes: Request[][] }> {
  const config = loadConfig({ DATABASE_URL: url, PUBLIC_URL: BENCH_PUBLIC_URL, LOG_LEVEL: 'silent' });
  const store = openStore(config.database);
  try {
    await migrateToLatest(store);
    const deps = createDeps({ config, store, cache: createAuthCache() });
    const reads: Request[][] = [];
    const writes: Request[][] = [];
    for (let i = 0; i < settings.connections; i++) {
      const username = `peer${i}`;
      await createUser(deps, { username, email: `${username}@example.com`, password: 'a bench password 1' });
      const { token } = await createToken(deps, { username, scopes: ['profile_read', 'profile_write'] });
      const path = `/api/v1.1/users/${username}/`;
      const headers = { authorization: `Bearer ${token}` };
      reads.push([{ method: 'GET', path, headers }]);
      // As `npm run bench`'s PATCH case: the location alternating between two values.
      writes.push(['Berlin', 'Lagos'].map((location) => ({ method: 'PATCH', path, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ location }) })));
    }
    return { reads, writes };
  } finally {
    await store.close();
  }
}

async function withRunning<T extends Running>(start: Promise<T>, fn: (running: T) => Promise<void>): Promise<void> {
  const running = await start;
  try {
    await fn(running);
  } finally {
    await running.stop();
  }
}

function table(): string {
  const floor = rows.find((r) => r.system.startsWith('bare node:http'))?.m.cpuMicrosPerRequest;
  const lines = [
    '| System | Database | Request | req/s | p50 ms | p99 ms | CPU µs/request | × the node:http floor | RSS after (MB) |',
    '|--------|----------|---------|------:|-------:|-------:|---------------:|----------------------:|---------------:|',
  ];
  for (const r of rows) {
    const cpu = r.m.cpuMicrosPerRequest;
    const times = cpu !== undefined && floor ? `${(cpu / floor).toFixed(1)}×` : '';
    lines.push(
      `| ${r.system} | ${r.engine} | ${r.request} | ${Math.round(r.m.requestsPerSecond).toLocaleString('en-US')} | ${r.m.p50.toFixed(2)} | ${r.m.p99.toFixed(2)} | ${cpu === undefined ? '' : Math.round(cpu)} | ${times} | ${r.rssMb === undefined ? '' : Math.round(r.rssMb)} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  if (!existsSync(join(PEERS, 'node_modules', 'parse-server')) || !existsSync(join(PEERS, 'node_modules', 'better-auth'))) {
    throw new Error('the peers are not installed: run `npm --prefix bench/peers ci` first (bench/peers/package.json)');
  }
  const date = new Date();
  const seeded = await seededDatabase(settings.users, log);

  // This service on SQLite, and the floors replaying its GET user answer.
  log('this service, SQLite');
  let recordedFile = '';
  await withRunning(startService({ databasePath: copyDatabase(seeded, workDir, 'peers'), workers: 1, publicUrl: BENCH_PUBLIC_URL }), async (service) => {
    const requests = seeded.benchUsers.map((user) => [{ method: 'GET', path: `/api/v1.1/users/${user.username}/`, headers: { authorization: `Bearer ${user.token}` } }]);
    const recorded = await recordResponse(service.port, requests[0]![0]!.path!, requests[0]![0]!.headers as Record<string, string>);
    if (recorded.status !== 200) throw new Error(`GET user answered ${recorded.status}`);
    recordedFile = join(workDir, 'response.json');
    writeFileSync(recordedFile, JSON.stringify({ status: recorded.status, headers: recorded.headers, bodyBase64: recorded.body.toString('base64') }));
    await measureRow({ system: 'this service', engine: 'SQLite', request: 'GET user, personal access token' }, service.port, service.child.pid!, requests);
  });
  for (const [system, script] of [
    ['bare node:http (floor)', 'ceiling.ts'],
    ['bare Fastify (floor)', 'floor-fastify.ts'],
  ] as const) {
    log(system);
    await withRunning(startCeiling(recordedFile, script), (floor) =>
      measureRow({ system, engine: '—', request: 'the same bytes' }, floor.port, floor.child.pid!, [[{ method: 'GET', path: '/' }]]),
    );
  }

  log('better-auth, SQLite');
  await withRunning(startPeer('better-auth.mjs', `sqlite:${join(workDir, 'better-auth.db')}`), (peer) =>
    measureRow({ system: 'better-auth 1.7', engine: 'SQLite', request: 'GET get-session, session cookie' }, peer.port, peer.child.pid!, peer.requests),
  );

  log('this service, PostgreSQL');
  const ourUrl = await createDatabase(`accounts_bench_peers_${process.pid}`);
  const ours = await seedPostgres(ourUrl);
  await withRunning(startService({ databasePath: '', databaseUrl: ourUrl, workers: 1, publicUrl: BENCH_PUBLIC_URL }), async (service) => {
    await measureRow({ system: 'this service', engine: 'PostgreSQL', request: 'GET user, personal access token' }, service.port, service.child.pid!, ours.reads);
    // Writes on PostgreSQL: one transaction per request (the server groups the commits itself).
    await measureRow({ system: 'this service', engine: 'PostgreSQL', request: 'PATCH user, personal access token' }, service.port, service.child.pid!, ours.writes);
  });

  log('Parse Server, PostgreSQL');
  await withRunning(startPeer('parse-server.mjs', await createDatabase(`parse_bench_peers_${process.pid}`)), (peer) =>
    measureRow({ system: 'Parse Server 9.10', engine: 'PostgreSQL', request: 'GET users/me, session token' }, peer.port, peer.child.pid!, peer.requests),
  );

  log('better-auth, PostgreSQL');
  await withRunning(startPeer('better-auth.mjs', await createDatabase(`better_auth_bench_peers_${process.pid}`)), (peer) =>
    measureRow({ system: 'better-auth 1.7', engine: 'PostgreSQL', request: 'GET get-session, session cookie' }, peer.port, peer.child.pid!, peer.requests),
  );

  const result = table();
  process.stdout.write(`${result}\n`);
  if (settings.writeDocs) {
    const conditions = `${date.toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.versions.node}; ${settings.connections} connections, ${settings.warmupS} s warm-up then ${settings.durationS} s measured per row; one process per system (WORKERS=1 for this service); PostgreSQL and the load generator on the same machine`;
    writeFileSync(
      DOCS,
      `# Benchmarks: this service beside its peers\n\nWritten by \`npm run bench:peers\` (bench/peers/run.ts; install the peers first with \`npm --prefix bench/peers ci\`). Each system answers an authenticated "who am I" request; every connection is a user of its own. CPU µs per request is the server processes' CPU time (user + system, from /proc) over the responses: it holds on a busy machine where req/s does not. On PostgreSQL it counts the system's own processes, not the database server's, for every system alike. The floors answer a recorded GET user response without looking at the request. See [BENCHMARKS.md](BENCHMARKS.md) for this service alone and [explanation/performance.md](explanation/performance.md) for what the figures mean.\n\nConditions: ${conditions}.\n\n${result}\n`,
    );
    log(`wrote ${DOCS}`);
  }
}

try {
  await main();
} finally {
  await stopAll();
  await dropDatabases().catch((error: unknown) => log(`could not drop the bench databases: ${String(error)}`));
  rmSync(workDir, { recursive: true, force: true });
}
