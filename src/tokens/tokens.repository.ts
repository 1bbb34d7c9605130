// SQL for personal access tokens.
import type { Insertable, Selectable } from 'kysely';
import type { AccessTokenRow, Db } from '../kernel/db/database.ts';

export type AccessToken = Selectable<AccessTokenRow>;
export type TokenWithOwner = AccessToken & { username: string; is_active: number };

export async function insertToken(db: Db, values: Insertable<AccessTokenRow>): Promise<AccessToken> {
  return db.insertInto('access_tokens').values(values).returningAll().executeTakeFirstOrThrow();
}

function selectTokenWithOwner(db: Db) {
  return db.selectFrom('access_tokens').innerJoin('users', 'users.id', 'access_tokens.user_id').selectAll('access_tokens').select(['users.username', 'users.is_active']);
}

/** The token and its owner in one indexed lookup: what every Bearer request needs. */
export function findTokenByDigest(db: Db, digest: string): Promise<TokenWithOwner | undefined> {
  return selectTokenWithOwner(db).where('access_tokens.token_digest', '=', digest).executeTakeFirst();
}

export async function findTokenById(db: Db, id: number): Promise<TokenWithOwner | undefined> {
  // No id is that large; PostgreSQL would refuse it as out of range for BIGINT (an error, not "not found").
  if (!Number.isSafeInteger(id)) return undefined;
  return selectTokenWithOwner(db).where('access_tokens.id', '=', id).executeTakeFirst();
}

export function listTokens(db: Db, userId: number): Promise<AccessToken[]> {
  return db.selectFrom('access_tokens').selectAll().where('user_id', '=', userId).orderBy('id').execute();
}

export async function markTokenRevoked(db: Db, id: number, at: string): Promise<boolean> {
  const result = await db.updateTable('access_tokens').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function touchTokenLastUsed(db: Db, id: number, at: string): Promise<void> {
  await db.updateTable('access_tokens').set({ last_used_at: at }).where('id', '=', id).execute();
}
