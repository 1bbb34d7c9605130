// SQL for the registry's refresh tokens (what `docker login` keeps as its identity token).
import type { Insertable, Selectable } from 'kysely';
import type { Db, RegistryRefreshTokenRow } from '../kernel/db/database.ts';

export type RefreshToken = Selectable<RegistryRefreshTokenRow>;

/** A refresh token with what its use depends on: the account, and the personal access token it was made with. */
export type RefreshTokenInUse = RefreshToken & {
  username: string;
  is_active: number;
  pat_scopes: string | null;
  pat_revoked_at: string | null;
  pat_expires_at: string | null;
};

/** For the settings page and the CLI: which personal access token, by name. */
export type RefreshTokenListed = RefreshToken & { access_token_name: string | null };

export async function insertRefreshToken(db: Db, values: Insertable<RegistryRefreshTokenRow>): Promise<number> {
  const row = await db.insertInto('registry_refresh_tokens').values(values).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

/** One indexed lookup for the token, its owner and its personal access token. */
export function findRefreshTokenByDigest(db: Db, digest: string): Promise<RefreshTokenInUse | undefined> {
  return db
    .selectFrom('registry_refresh_tokens')
    .innerJoin('users', 'users.id', 'registry_refresh_tokens.user_id')
    .leftJoin('access_tokens', 'access_tokens.id', 'registry_refresh_tokens.access_token_id')
    .selectAll('registry_refresh_tokens')
    .select(['users.username', 'users.is_active', 'access_tokens.scopes as pat_scopes', 'access_tokens.revoked_at as pat_revoked_at', 'access_tokens.expires_at as pat_expires_at'])
    .where('registry_refresh_tokens.token_digest', '=', digest)
    .executeTakeFirst();
}

export function listRefreshTokens(db: Db, userId: number): Promise<RefreshTokenListed[]> {
  return db
    .selectFrom('registry_refresh_tokens')
    .leftJoin('access_tokens', 'access_tokens.id', 'registry_refresh_tokens.access_token_id')
    .selectAll('registry_refresh_tokens')
    .select('access_tokens.name as access_token_name')
    .where('registry_refresh_tokens.user_id', '=', userId)
    .orderBy('registry_refresh_tokens.id', 'desc')
    .execute();
}

export async function findRefreshTokenById(db: Db, id: number): Promise<(RefreshToken & { username: string }) | undefined> {
  // No id is that large; PostgreSQL would refuse it as out of range for BIGINT.
  if (!Number.isSafeInteger(id)) return undefined;
  return db.selectFrom('registry_refresh_tokens').innerJoin('users', 'users.id', 'registry_refresh_tokens.user_id').selectAll('registry_refresh_tokens').select('users.username').where('registry_refresh_tokens.id', '=', id).executeTakeFirst();
}

/** Whether it was there to delete. */
export async function deleteRefreshToken(db: Db, id: number): Promise<boolean> {
  const result = await db.deleteFrom('registry_refresh_tokens').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** How many ended. */
export async function deleteRefreshTokensOf(db: Db, owner: { userId: number } | { accessTokenId: number }): Promise<number> {
  const query = db.deleteFrom('registry_refresh_tokens');
  const result = await ('userId' in owner ? query.where('user_id', '=', owner.userId) : query.where('access_token_id', '=', owner.accessTokenId)).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Expired ones, which nothing can use any more. */
export async function deleteExpiredRefreshTokens(db: Db, userId: number, now: string): Promise<void> {
  await db.deleteFrom('registry_refresh_tokens').where('user_id', '=', userId).where('expires_at', '<=', now).execute();
}

export async function touchRefreshToken(db: Db, id: number, at: string): Promise<void> {
  await db.updateTable('registry_refresh_tokens').set({ last_used_at: at }).where('id', '=', id).execute();
}
