// One measurement: autocannon against 127.0.0.1, N keep-alive connections, each with its own
// fixed list of requests sent in a loop (built once per connection, so the load generator spends
// nothing on building requests). Latencies are recorded here from every response, at
// microsecond resolution (autocannon's own histogram rounds to whole milliseconds).
import { request as httpRequest } from 'node:http';
import autocannon from 'autocannon';
import { cpuSeconds } from './processes.ts';

export type Request = autocannon.Request;

export type Measurement = {
  /** Mean of autocannon's per-second samples of completed requests. */
  requestsPerSecond: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  mean: number;
  responses: number;
  /** Responses with a status outside 2xx, by status. */
  non2xx: number;
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  durationS: number;
  /** Server CPU time per response, µs (from /proc; undefined when the processes were not known). */
  cpuMicrosPerRequest?: number | undefined;
};

export type LoadOptions = {
  port: number;
  connections: number;
  durationS: number;
  /** The requests connection `index` sends, in a loop. */
  requestsFor(index: number): Request[];
};

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export async function measure(options: LoadOptions): Promise<Measurement> {
  return (await measureRecorded(options)).measured;
}

/** A measurement with every latency it saw (sorted), for combining with others. */
type Recorded = { measured: Measurement; latencies: Float64Array };

async function measureRecorded(options: LoadOptions): Promise<Recorded> {
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  const statuses: Record<string, number> = {};
  let next = 0;
  const instance = autocannon({
    url: `http://127.0.0.1:${options.port}`,
    connections: options.connections,
    duration: options.durationS,
    timeout: 10,
    setupClient: (client) => client.setRequests(options.requestsFor(next++)),
  });
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = responseTimeMs;
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
  });
  const result = await instance;
  const sorted = latencies.subarray(0, count).sort();
  return {
    measured: summarise(sorted, statuses, { requestsPerSecond: result.requests.average, errors: result.errors, timeouts: result.timeouts, durationS: result.duration }),
    latencies: sorted,
  };
}

function summarise(sorted: Float64Array, statuses: Record<string, number>, totals: Pick<Measurement, 'requestsPerSecond' | 'errors' | 'timeouts' | 'durationS'>): Measurement {
  let sum = 0;
  for (const value of sorted) sum += value;
  const non2xx = Object.entries(statuses).reduce((n, [status, c]) => (status.startsWith('2') ? n : n + c), 0);
  return { ...totals, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), mean: sorted.length > 0 ? sum / sorted.length : Number.NaN, responses: sorted.length, non2xx, statuses };
}

/**
 * A warm-up run (discarded, returned to be checked), then the measured run, with the server
 * processes' CPU time per response when their ids are known.
 */
export async function measureServer(options: LoadOptions & { warmupS: number; serverPids: () => number[] }): Promise<{ warm?: Measurement; measured: Measurement }> {
  const warm = options.warmupS > 0 ? await measure({ ...options, durationS: options.warmupS }) : undefined;
  const pids = options.serverPids();
  const cpuBefore = cpuSeconds(pids);
  const measured = await measure(options);
  const cpuAfter = cpuSeconds(pids);
  if (cpuBefore !== undefined && cpuAfter !== undefined && pids.length > 0 && measured.responses > 0) {
    measured.cpuMicrosPerRequest = ((cpuAfter - cpuBefore) * 1e6) / measured.responses;
  }
  return warm ? { warm, measured } : { measured };
}

/**
 * Several cases measured in turns: each case's warm-up (discarded) first, then `rounds` rounds in
 * which every case runs for durationS / rounds seconds. A case's figures are those of all its
 * slices together (latency percentiles over every response of every slice, CPU time over all of
 * them). On a shared machine whose speed drifts over a minute, cases measured one after the other
 * differ by the drift as much as by their own cost; in turns, each case sees the same drift.
 */
export async function measureInTurns<C>(
  cases: readonly C[],
  options: Omit<LoadOptions, 'requestsFor'> & { warmupS: number; rounds: number; serverPids: () => number[]; requestsFor(benchCase: C, index: number): Request[] },
): Promise<{ warm: (Measurement | undefined)[]; measured: Measurement[] }> {
  const load = (benchCase: C, durationS: number): LoadOptions => ({ ...options, durationS, requestsFor: (index) => options.requestsFor(benchCase, index) });
  const warm: (Measurement | undefined)[] = [];
  for (const benchCase of cases) warm.push(options.warmupS > 0 ? await measure(load(benchCase, options.warmupS)) : undefined);
  const rounds = Math.max(1, Math.min(Math.floor(options.rounds), Math.floor(options.durationS)));
  const slices: { recorded: Recorded; cpuSeconds?: number }[][] = cases.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [index, benchCase] of cases.entries()) {
      const pids = options.serverPids();
      const before = cpuSeconds(pids);
      const recorded = await measureRecorded(load(benchCase, options.durationS / rounds));
      const after = cpuSeconds(pids);
      slices[index]!.push(before !== undefined && after !== undefined && pids.length > 0 ? { recorded, cpuSeconds: after - before } : { recorded });
    }
  }
  return { warm, measured: slices.map(combine) };
}

function combine(slices: { recorded: Recorded; cpuSeconds?: number }[]): Measurement {
  const all = new Float64Array(slices.reduce((n, slice) => n + slice.recorded.latencies.length, 0));
  let offset = 0;
  const statuses: Record<string, number> = {};
  for (const { recorded } of slices) {
    all.set(recorded.latencies, offset);
    offset += recorded.latencies.length;
    for (const [status, n] of Object.entries(recorded.measured.statuses)) statuses[status] = (statuses[status] ?? 0) + n;
  }
  all.sort();
  const durationS = slices.reduce((s, { recorded }) => s + recorded.measured.durationS, 0);
  const measured = summarise(all, statuses, {
    // autocannon's mean of per-second samples, weighted by each slice's length
    requestsPerSecond: slices.reduce((s, { recorded }) => s + recorded.measured.requestsPerSecond * recorded.measured.durationS, 0) / durationS,
    errors: slices.reduce((n, { recorded }) => n + recorded.measured.errors, 0),
    timeouts: slices.reduce((n, { recorded }) => n + recorded.measured.timeouts, 0),
    durationS,
  });
  if (slices.every((slice) => slice.cpuSeconds !== undefined) && measured.responses > 0) {
    measured.cpuMicrosPerRequest = (slices.reduce((s, slice) => s + slice.cpuSeconds!, 0) * 1e6) / measured.responses;
  }
  return measured;
}

/** One line for the log. */
export function describeMeasurement(m: Measurement): string {
  const cpu = m.cpuMicrosPerRequest === undefined ? '' : `, ${Math.round(m.cpuMicrosPerRequest)} µs CPU/request`;
  return `${Math.round(m.requestsPerSecond)} req/s, p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms${cpu}`;
}

/** One real response, as raw as node:http gives it, for a floor server to replay. */
export function recordResponse(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; headers: [string, string][]; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'GET', path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const kept: [string, string][] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const name = res.rawHeaders[i]!;
          // Node's server sets these itself, per response and per connection.
          if (!['date', 'connection', 'keep-alive', 'transfer-encoding'].includes(name.toLowerCase())) kept.push([name, res.rawHeaders[i + 1]!]);
        }
        resolve({ status: res.statusCode ?? 0, headers: kept, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
