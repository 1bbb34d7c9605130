// Frozen once shipped (see the initial migration). Deleted accounts leave a tombstone: the id and
// the username they had, and when they went. Nothing else of the person is kept (no address, no
// name, no hash). A table of its own rather than a wiped users row, so that everything that reads
// users (the API, sign-in, lists, exports) never has to skip the dead ones.
//
// The tombstone is what makes "an id and a username are never reused" hold for good:
// - ids: AUTOINCREMENT (SQLite) and the identity sequence (PostgreSQL) never hand an id out twice,
//   and the trigger below refuses a row that names a deleted id explicitly (`accounts import`
//   keeps ids);
// - usernames: users.username is UNIQUE only among the living, so the same trigger refuses a new
//   row whose username (stored lowercase) a deleted account had, whoever inserts it.
import { sql, type Kysely } from 'kysely';

export const name = '2026-12-02-03-deleted-accounts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema of its day, not today's types
export async function up(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const ref = dialect === 'sqlite' ? sql.raw('INTEGER') : sql.raw('BIGINT');

  // No foreign key: the users row is gone when the tombstone is all that is left.
  await sql`
    CREATE TABLE deleted_accounts (
      user_id ${ref} PRIMARY KEY,
      username TEXT NOT NULL UNIQUE,
      deleted_at TEXT NOT NULL
    )`.execute(db);

  if (dialect === 'sqlite') {
    await sql`
      CREATE TRIGGER users_not_deleted BEFORE INSERT ON users
      WHEN EXISTS (SELECT 1 FROM deleted_accounts WHERE user_id = NEW.id OR username = NEW.username)
      BEGIN SELECT RAISE(ABORT, 'account_deleted'); END`.execute(db);
  } else {
    await sql`
      CREATE FUNCTION users_not_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM deleted_accounts WHERE user_id = NEW.id OR username = NEW.username) THEN
          RAISE EXCEPTION 'account_deleted';
        END IF;
        RETURN NEW;
      END $$`.execute(db);
    await sql`CREATE TRIGGER users_not_deleted BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION users_not_deleted()`.execute(db);
  }
}
