// Frozen once shipped (see the initial migration). What the settings page shows about each
// sign-in: the browser's User-Agent (cut to a bounded length, for display only) and the client's
// address, for the account page's sessions (new columns; null for the sessions started before)
// and for the authorization server's login sessions, whose rows belong to oidc-provider and hold
// only its payload (a side table, keyed by the Session's uid, which survives the provider's
// renewal of the session id).
import { sql, type Kysely } from 'kysely';

export const name = '2026-12-02-04-session-details';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema of its day, not today's types
export async function up(db: Kysely<any>, _dialect: 'sqlite' | 'postgres'): Promise<void> {
  await sql`ALTER TABLE sessions ADD COLUMN user_agent TEXT`.execute(db);
  await sql`ALTER TABLE sessions ADD COLUMN ip TEXT`.execute(db);

  await sql`
    CREATE TABLE oauth_login_session_details (
      session_uid TEXT PRIMARY KEY,
      account_id TEXT NOT NULL,
      user_agent TEXT,
      ip TEXT,
      created_at TEXT NOT NULL,
      last_seen_at TEXT NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX oauth_login_session_details_by_account ON oauth_login_session_details (account_id)`.execute(db);
}
