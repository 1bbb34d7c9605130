// Frozen once shipped (see the initial migration). Idempotency keys of the API's POSTs
// (src/http/idempotency.ts): per user, the request's fingerprint, and once answered the answer
// to replay (status, the headers that matter, body) until expires_at (24 hours).
import { sql, type Kysely } from 'kysely';

export const name = '2026-12-03-01-idempotency-keys';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema of its day, not today's types
export async function up(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const ref = dialect === 'sqlite' ? sql.raw('INTEGER') : sql.raw('BIGINT');
  await sql`
    CREATE TABLE idempotency_keys (
      user_id ${ref} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      idempotency_key TEXT NOT NULL,
      fingerprint TEXT NOT NULL,
      status INTEGER,
      headers TEXT,
      body TEXT,
      created_at TEXT NOT NULL,
      expires_at TEXT NOT NULL,
      PRIMARY KEY (user_id, idempotency_key)
    )`.execute(db);
  await sql`CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at)`.execute(db);
}
