// Hot reads, compiled once. Kysely builds and compiles a query anew on every call (≈ 15 µs of a
// ≈ 200 µs request, docs/explanation/performance.md): for the few queries every API request runs,
// a repository defines a prepared query instead. It is built with Kysely once per dialect, with
// placeholders where the arguments go; a call binds the arguments and runs the SQL text:
//   - outside a transaction, straight on the driver: SQLite's kept statement (when no transaction
//     is open on the connection) or a PostgreSQL named statement (parsed and planned once per
//     connection); one round trip either way;
//   - inside a transaction (a `trx` handle), or on SQLite while a write holds the connection,
//     through Kysely as any other query, so it sees (and waits for) what that transaction sees.
import { CompiledQuery, type Compilable, type DialectAdapter } from 'kysely';
import type { Db } from './database.ts';

/** Runs SQL text with its parameters on the driver; undefined when it cannot right now. */
export type DirectReader = (name: string, sqlText: string, parameters: readonly unknown[]) => Promise<unknown[]> | unknown[] | undefined;

const directReaders = new WeakMap<Db, DirectReader>();

/** Called by a store on its root handle (never a transaction's), see sqlite.ts and postgres.ts. */
export function registerDirectReader(db: Db, reader: DirectReader): void {
  directReaders.set(db, reader);
}

/** Where an argument goes in the compiled parameters; never reaches a driver. */
class Slot {
  readonly index: number;
  constructor(index: number) {
    this.index = index;
  }
}

type Compiled = { sql: string; parameters: readonly unknown[]; slots: readonly (number | undefined)[] };

export type PreparedQuery<P extends unknown[], R> = {
  /** Every row. */
  all(db: Db, ...args: P): Promise<R[]>;
  /** The first row, if any. */
  first(db: Db, ...args: P): Promise<R | undefined>;
};

const names = new Set<string>();

/**
 * A query built once by `build` (its arguments are placeholders there: use them only as values,
 * never in JavaScript logic) and run many times. `name` names the PostgreSQL statement: unique.
 */
export function preparedQuery<P extends unknown[], R>(name: string, build: (db: Db, ...args: P) => Compilable<R>): PreparedQuery<P, R> {
  if (names.has(name)) throw new Error(`prepared query "${name}" is defined twice`);
  names.add(name);
  // One compilation per dialect: a transaction's handle shares its root's adapter.
  const byAdapter = new WeakMap<DialectAdapter, Compiled>();
  const compiledFor = (db: Db): Compiled => {
    const adapter = db.getExecutor().adapter;
    let compiled = byAdapter.get(adapter);
    if (!compiled) {
      const placeholders = Array.from({ length: build.length - 1 }, (_, i) => new Slot(i)) as unknown as P;
      const query = build(db, ...placeholders).compile();
      const slots = query.parameters.map((p) => (p instanceof Slot ? p.index : undefined));
      if (placeholders.some((_, i) => !slots.includes(i))) throw new Error(`prepared query "${name}": an argument is not used as a value`);
      compiled = { sql: query.sql, parameters: query.parameters, slots };
      byAdapter.set(adapter, compiled);
    }
    return compiled;
  };
  const all = async (db: Db, ...args: P): Promise<R[]> => {
    const compiled = compiledFor(db);
    const parameters = compiled.slots.map((slot, i) => (slot === undefined ? compiled.parameters[i] : args[slot]));
    const direct = directReaders.get(db)?.(name, compiled.sql, parameters);
    if (direct) return (await direct) as R[];
    const result = await db.executeQuery<R>(CompiledQuery.raw(compiled.sql, parameters));
    return result.rows;
  };
  return {
    all,
    first: async (db, ...args) => (await all(db, ...args))[0],
  };
}
