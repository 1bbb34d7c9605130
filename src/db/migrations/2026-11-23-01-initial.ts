// Frozen: never edit a migration that has shipped; add a new dated one. Imports nothing from
// the application, so it means the same thing forever.
import { sql, type Kysely } from 'kysely';

export const name = '2026-11-23-01-initial';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema of its day, not today's types
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE users (
      id INTEGER PRIMARY KEY AUTOINCREMENT, -- AUTOINCREMENT: an id is never reused
      username TEXT NOT NULL UNIQUE,
      password_hash TEXT,
      full_name TEXT NOT NULL DEFAULT '',
      location TEXT NOT NULL DEFAULT '',
      company TEXT NOT NULL DEFAULT '',
      profile_url TEXT NOT NULL DEFAULT '',
      gravatar_email TEXT NOT NULL DEFAULT '',
      is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
      email_count INTEGER NOT NULL DEFAULT 0 CHECK (email_count BETWEEN 0 AND 20),
      date_joined TEXT NOT NULL,
      updated_at TEXT NOT NULL
    )`.execute(db);

  await sql`
    CREATE TABLE emails (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      email TEXT NOT NULL,
      email_key TEXT NOT NULL UNIQUE, -- one account per address, compared case-insensitively
      verified INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
      is_primary INTEGER NOT NULL DEFAULT 0 CHECK (is_primary IN (0, 1)),
      created_at TEXT NOT NULL
    )`.execute(db);
  // At most one primary per user...
  await sql`CREATE UNIQUE INDEX emails_one_primary_per_user ON emails (user_id) WHERE is_primary = 1`.execute(db);
  await sql`CREATE INDEX emails_by_user ON emails (user_id, id)`.execute(db);
  // ...and never none: the primary cannot be deleted while its user exists.
  await sql`
    CREATE TRIGGER emails_keep_primary BEFORE DELETE ON emails
    WHEN OLD.is_primary = 1 AND EXISTS (SELECT 1 FROM users WHERE id = OLD.user_id)
    BEGIN SELECT RAISE(ABORT, 'primary_email_required'); END`.execute(db);
  // users.email_count follows the rows; its CHECK refuses the 21st address. Updating the user's
  // row also serialises concurrent inserts for one user on databases with row locks.
  await sql`
    CREATE TRIGGER emails_count_insert AFTER INSERT ON emails
    BEGIN UPDATE users SET email_count = email_count + 1 WHERE id = NEW.user_id; END`.execute(db);
  await sql`
    CREATE TRIGGER emails_count_delete AFTER DELETE ON emails
    BEGIN UPDATE users SET email_count = email_count - 1 WHERE id = OLD.user_id; END`.execute(db);

  await sql`
    CREATE TABLE access_tokens (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      name TEXT NOT NULL,
      token_digest TEXT NOT NULL UNIQUE,
      token_hint TEXT NOT NULL,
      scopes TEXT NOT NULL,
      created_at TEXT NOT NULL,
      expires_at TEXT,
      last_used_at TEXT,
      revoked_at TEXT
    )`.execute(db);
  await sql`CREATE INDEX access_tokens_by_user ON access_tokens (user_id, id)`.execute(db);
}
