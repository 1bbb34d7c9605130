// Group commit for SQLite's one connection. With synchronous=FULL every COMMIT waits for an fsync
// (2–5 ms here), on the event loop: one per write made writes cost several times a read. Writes
// that arrive together share one transaction and one fsync instead:
//   - the first write to arrive waits one turn of the event loop (setImmediate), so that the
//     requests that arrived with it get to start theirs; a lone write is not delayed beyond that
//     turn. Then the batch takes the connection (Kysely's mutex) and the write lock (BEGIN
//     IMMEDIATE). The lock is not held across that turn: another connection in this process
//     waiting for it synchronously (busy_timeout) would otherwise stall the loop that must commit;
//   - each write of the batch runs alone, in its own SAVEPOINT: one that fails is rolled back to
//     it and rejected at once, and the others are untouched; writes that arrive meanwhile join.
//     A batch holds at most MAX_BATCH writes and takes new ones for MAX_BATCH_MS at most;
//   - when another process (a worker, the CLI) holds the write lock, the batch waits for it
//     without the connection and without blocking the event loop, retrying every millisecond for
//     BUSY_TIMEOUT at most, then its writes fail with SQLITE_BUSY;
//   - no write is acknowledged (its promise resolved) before the COMMIT of its batch returned, so
//     every acknowledged write is as durable as before. If the COMMIT fails, or SQLite undid the
//     whole transaction, every write of the batch is rejected: none of them is there.
// Writes see the earlier writes of their batch, as they would have once those had committed.
import { sql } from 'kysely';
import type { Db } from './database.ts';

export const MAX_BATCH = 64;
export const MAX_BATCH_MS = 2;

type Job = { fn: (trx: Db) => Promise<unknown>; resolve: (value: unknown) => void; reject: (error: unknown) => void };

export type GroupCommit = {
  write<T>(fn: (trx: Db) => Promise<T>): Promise<T>;
};

/**
 * `withConnection` runs its callback holding the connection; `inTransaction` says whether a
 * transaction is still open on it (SQLite ends one on some errors by itself).
 */
export function createGroupCommit(options: {
  withConnection: <T>(fn: (conn: Db) => Promise<T>) => Promise<T>;
  inTransaction: () => boolean;
  /**
   * Opens the write transaction without waiting for another process's lock: false when it is
   * held. BEGIN IMMEDIATE (SQLite's busy_timeout then decides) if not given.
   */
  tryBegin?: (conn: Db) => Promise<boolean>;
  /** How long a batch waits for another process's write lock before its writes fail. */
  busyTimeoutMs?: number;
  onBatch?: (size: number) => void;
}): GroupCommit {
  const begin = options.tryBegin ?? ((conn: Db) => sql`BEGIN IMMEDIATE`.execute(conn).then(() => true));
  const busyTimeoutMs = options.busyTimeoutMs ?? 5_000;
  const queue: Job[] = [];
  let draining = false;

  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

  /** Undoes a failed write to its savepoint; what undid the whole batch instead, if anything did. */
  async function undoOne(conn: Db, error: unknown): Promise<unknown> {
    // SQLite rolled the whole transaction back by itself (disk full, I/O error): the batch is gone.
    if (!options.inTransaction()) return error;
    try {
      await sql`ROLLBACK TO one_write`.execute(conn);
      await sql`RELEASE one_write`.execute(conn);
      return undefined;
    } catch (undoError) {
      return undoError;
    }
  }

  /** 'busy' when another process holds the write lock; the batch is tried again. */
  async function runBatch(conn: Db): Promise<'done' | 'busy'> {
    try {
      if (!(await begin(conn))) return 'busy';
    } catch (error) {
      for (const job of queue.splice(0)) job.reject(error);
      return 'done';
    }
    const started = performance.now();
    const written: Job[] = [];
    const results: unknown[] = [];
    let lost: unknown;
    for (;;) {
      const job = queue.shift();
      if (!job) break;
      try {
        await sql`SAVEPOINT one_write`.execute(conn);
        const result = await job.fn(conn);
        await sql`RELEASE one_write`.execute(conn);
        written.push(job);
        results.push(result);
      } catch (error) {
        job.reject(error);
        lost = await undoOne(conn, error);
        if (lost !== undefined) break;
      }
      if (written.length >= MAX_BATCH || performance.now() - started >= MAX_BATCH_MS) break;
    }
    if (lost === undefined) {
      try {
        await sql`COMMIT`.execute(conn);
      } catch (error) {
        lost = error;
      }
    }
    if (lost !== undefined && options.inTransaction()) await sql`ROLLBACK`.execute(conn).catch(() => undefined);
    options.onBatch?.(written.length);
    if (lost !== undefined) for (const job of written) job.reject(lost);
    else written.forEach((job, i) => job.resolve(results[i]));
    return 'done';
  }

  async function drain(): Promise<void> {
    draining = true;
    try {
      // Each batch takes the connection anew, so reads waiting for it go between batches.
      let busySince: number | undefined;
      while (queue.length > 0) {
        await nextTurn();
        if ((await options.withConnection(runBatch)) === 'done') {
          busySince = undefined;
          continue;
        }
        // Another process (a worker, the CLI) holds the write lock. Wait for it here, without
        // the connection and without blocking the event loop (SQLite's own busy wait sleeps in
        // this thread, up to 100 ms at a time): reads go on, and writes arriving meanwhile join.
        busySince ??= performance.now();
        if (performance.now() - busySince >= busyTimeoutMs) {
          const error = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
          for (const job of queue.splice(0)) job.reject(error);
          busySince = undefined;
          continue;
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    } finally {
      draining = false;
    }
  }

  return {
    write<T>(fn: (trx: Db) => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
        if (!draining) {
          drain().catch((error: unknown) => {
            for (const job of queue.splice(0)) job.reject(error);
          });
        }
      });
    },
  };
}
