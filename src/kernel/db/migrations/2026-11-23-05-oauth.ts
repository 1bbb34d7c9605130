// Frozen once shipped (see the initial migration). The OAuth 2.0 authorization server:
// registered clients, what oidc-provider stores (codes, tokens, grants, sessions, interactions),
// and the server's own secrets (signing key, cookie keys) so every instance shares them.
//
// - oauth_clients: a client's secret is kept only as its SHA-256 digest (it is 256 random bits,
//   so a fast digest is enough; the argon2 cost of passwords would buy nothing).
// - oauth_artifacts: one table for every oidc-provider model. `id` is the SHA-256 digest of the
//   artifact's id, which for codes and tokens is the credential itself, so a copy of the database
//   cannot be used to call the API. The columns beside `payload` (JSON) are the fields the
//   provider and the CLI look things up by.
import { sql, type Kysely } from 'kysely';

export const name = '2026-11-23-05-oauth';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema of its day, not today's types
export async function up(db: Kysely<any>, _dialect: 'sqlite' | 'postgres'): Promise<void> {
  await sql`
    CREATE TABLE oauth_clients (
      client_id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      secret_digest TEXT,
      redirect_uris TEXT NOT NULL,
      created_at TEXT NOT NULL
    )`.execute(db);

  await sql`
    CREATE TABLE oauth_artifacts (
      model TEXT NOT NULL,
      id TEXT NOT NULL,
      payload TEXT NOT NULL,
      grant_id TEXT,
      uid TEXT,
      user_code TEXT,
      account_id TEXT,
      client_id TEXT,
      expires_at TEXT,
      consumed_at TEXT,
      PRIMARY KEY (model, id)
    )`.execute(db);
  await sql`CREATE INDEX oauth_artifacts_by_grant ON oauth_artifacts (grant_id)`.execute(db);
  await sql`CREATE INDEX oauth_artifacts_by_uid ON oauth_artifacts (model, uid)`.execute(db);
  await sql`CREATE INDEX oauth_artifacts_by_account ON oauth_artifacts (model, account_id)`.execute(db);
  await sql`CREATE INDEX oauth_artifacts_by_client ON oauth_artifacts (client_id)`.execute(db);
  await sql`CREATE INDEX oauth_artifacts_by_expiry ON oauth_artifacts (expires_at)`.execute(db);

  await sql`
    CREATE TABLE oauth_secrets (
      name TEXT PRIMARY KEY,
      value TEXT NOT NULL,
      created_at TEXT NOT NULL
    )`.execute(db);
}
