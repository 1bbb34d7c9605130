// SQL for email addresses. The invariants live in the schema (see the initial migration):
// a unique email_key, one primary per user, a primary that cannot be deleted, at most 20.
import type { Insertable, Selectable } from 'kysely';
import type { Db, EmailRow } from '../kernel/db/database.ts';
import { PRIMARY } from '../kernel/db/literals.ts';
import { preparedQuery } from '../kernel/db/prepared.ts';

export type Email = Selectable<EmailRow>;

/** Primary first, then in the order they were added. */
const EMAILS_OF_USER = preparedQuery('emails_of_user', (db: Db, userId: number) =>
  db.selectFrom('emails').selectAll().where('user_id', '=', userId).orderBy('is_primary', 'desc').orderBy('id'),
);

export function listEmails(db: Db, userId: number): Promise<Email[]> {
  return EMAILS_OF_USER.all(db, userId);
}

export function findEmailByKey(db: Db, emailKey: string): Promise<Email | undefined> {
  return db.selectFrom('emails').selectAll().where('email_key', '=', emailKey).executeTakeFirst();
}

export function insertEmail(db: Db, values: Insertable<EmailRow>): Promise<Email> {
  return db.insertInto('emails').values(values).returningAll().executeTakeFirstOrThrow();
}

/** Deletes a secondary address of the user; returns the row that went, if one did. */
export function deleteSecondaryEmail(db: Db, userId: number, emailKey: string): Promise<Email | undefined> {
  return db
    .deleteFrom('emails')
    .where('user_id', '=', userId)
    .where('email_key', '=', emailKey)
    .where('is_primary', '=', 0)
    .returningAll()
    .executeTakeFirst();
}

/** The account's primary address and username, for a mail to it; none once it is deleted. */
export function findPrimaryAddress(db: Db, userId: number): Promise<{ email: string; username: string } | undefined> {
  return db
    .selectFrom('users')
    .innerJoin('emails', 'emails.user_id', 'users.id')
    .select(['emails.email', 'users.username'])
    .where('users.id', '=', userId)
    .where('emails.is_primary', '=', PRIMARY)
    .executeTakeFirst();
}
