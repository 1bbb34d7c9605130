// What every command shares with the server: the same configuration, store and services.
import { systemClock } from '../clock.ts';
import { loadConfig } from '../config.ts';
import { openStore } from '../db/connect.ts';
import { migrateToLatest } from '../db/migrate.ts';
import type { Deps } from '../deps.ts';
import { credentialEvents } from '../auth/credential-events.ts';
import { connectRedis } from '../ops/redis.ts';

/** Opens the database (bringing it up to date first, like the server), runs `fn`, closes it. */
export async function withDeps<T>(fn: (deps: Deps) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const store = openStore(config.database);
  // With Redis, running servers hear of credential changes at once; without it, or if it cannot
  // be reached, they notice within their cache's lifetime (3 s).
  const redis = config.redisUrl ? await connectRedis(config.redisUrl, () => undefined).catch(() => undefined) : undefined;
  try {
    await migrateToLatest(store);
    const events = credentialEvents({ redis, prefix: config.redisPrefix });
    return await fn({ config, store, clock: systemClock, credentialEvents: events });
  } finally {
    await store.close();
    await redis?.quit();
  }
}

/** Reads the first line of standard input (without its line ending). */
export async function readFirstLine(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  let data = '';
  for await (const chunk of stdin) {
    data += chunk.toString();
    const newline = data.indexOf('\n');
    if (newline >= 0) return data.slice(0, newline).replace(/\r$/, '');
  }
  return data.replace(/\r$/, '');
}

/** Output for people and progress: standard error, so standard output stays for scripts. */
export function say(message: string): void {
  process.stderr.write(`${message}\n`);
}

export function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** A fixed-width table for `list` commands. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}
