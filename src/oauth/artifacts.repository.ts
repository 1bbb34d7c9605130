// SQL for what oidc-provider stores (see the adapter) and for the grants users can see and revoke.
import { sql, type Insertable, type Selectable } from 'kysely';
import type { Db, OAuthArtifactRow } from '../kernel/db/database.ts';

export type ArtifactRow = Selectable<OAuthArtifactRow>;

// Artifacts are stored under the SHA-256 of their id (kernel/crypto.ts), which for codes and
// tokens is the credential itself.

/** Inserts or replaces the artifact (the provider saves some models more than once). */
export async function upsertArtifact(db: Db, row: Insertable<OAuthArtifactRow>): Promise<void> {
  // consumed_at is never reset: saving an artifact again must not make it usable again.
  const { model: _model, id: _id, consumed_at: _consumed, ...rest } = row;
  await db
    .insertInto('oauth_artifacts')
    .values(row)
    .onConflict((oc) => oc.columns(['model', 'id']).doUpdateSet(rest))
    .execute();
}

export function findArtifact(db: Db, model: string, id: string): Promise<ArtifactRow | undefined> {
  return db.selectFrom('oauth_artifacts').selectAll().where('model', '=', model).where('id', '=', id).executeTakeFirst();
}

export function findArtifactBy(db: Db, model: string, column: 'uid' | 'user_code', value: string): Promise<ArtifactRow | undefined> {
  return db.selectFrom('oauth_artifacts').selectAll().where('model', '=', model).where(column, '=', value).executeTakeFirst();
}

export async function deleteArtifact(db: Db, model: string, id: string): Promise<void> {
  await db.deleteFrom('oauth_artifacts').where('model', '=', model).where('id', '=', id).execute();
}

/** Every artifact of the grant, of one model or (model undefined) of all. */
export async function deleteArtifactsOfGrant(db: Db, grantId: string, model?: string): Promise<void> {
  let query = db.deleteFrom('oauth_artifacts').where('grant_id', '=', grantId);
  if (model !== undefined) query = query.where('model', '=', model);
  await query.execute();
}

/** Deletes up to `limit` expired artifacts (a batch, so a backlog never holds the write lock long); how many went. */
export async function deleteExpiredArtifacts(db: Db, now: string, limit: number): Promise<number> {
  const result = await sql`
    DELETE FROM oauth_artifacts WHERE (model, id) IN (
      SELECT model, id FROM oauth_artifacts WHERE expires_at < ${now} LIMIT ${limit}
    )`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

/** The user's grants (model Grant) that have not expired, with their client's name. */
export function listGrantRows(db: Db, accountId: string, now: string): Promise<(ArtifactRow & { client_name: string | null })[]> {
  return db
    .selectFrom('oauth_artifacts')
    .leftJoin('oauth_clients', 'oauth_clients.client_id', 'oauth_artifacts.client_id')
    .selectAll('oauth_artifacts')
    .select('oauth_clients.name as client_name')
    .where('oauth_artifacts.model', '=', 'Grant')
    .where('oauth_artifacts.account_id', '=', accountId)
    .where((eb) => eb.or([eb('oauth_artifacts.expires_at', 'is', null), eb('oauth_artifacts.expires_at', '>', now)]))
    .orderBy('oauth_artifacts.client_id')
    .execute();
}

/** Grant ids (the payload's own, not the digests) of the user's unexpired grants to one client. */
export async function grantIdsOf(db: Db, accountId: string, clientId: string, now: string): Promise<string[]> {
  const rows = await db
    .selectFrom('oauth_artifacts')
    .select('grant_id')
    .where('model', '=', 'Grant')
    .where('account_id', '=', accountId)
    .where('client_id', '=', clientId)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .execute();
  return rows.flatMap((r) => (r.grant_id === null ? [] : [r.grant_id]));
}

/** The provider's login sessions of the user: ended when the password changes. */
export async function deleteLoginSessionsOf(db: Db, accountId: string): Promise<void> {
  await db.deleteFrom('oauth_artifacts').where('model', '=', 'Session').where('account_id', '=', accountId).execute();
}

/**
 * An access token's row with, in the same query, whether its grant is still there (a revoked
 * grant takes its tokens) and its user: the API's check of an OAuth token is one round trip.
 */
export function findAccessTokenRow(
  db: Db,
  digest: string,
): Promise<(ArtifactRow & { grant_alive: number; user_id: number | null; username: string | null; is_active: number | null }) | undefined> {
  return db
    .selectFrom('oauth_artifacts as t')
    // account_id is the OpenID subject, the user's id as text (provider.ts, findOAuthAccount).
    .leftJoin('users as u', (join) => join.on(sql<boolean>`u.id = CAST(t.account_id AS BIGINT)`))
    .selectAll('t')
    .select(['u.id as user_id', 'u.username', 'u.is_active'])
    .select((eb) =>
      eb
        .case()
        .when(
          eb.exists(
            eb
              .selectFrom('oauth_artifacts as g')
              .select('g.id')
              .where('g.model', '=', 'Grant')
              .whereRef('g.grant_id', '=', 't.grant_id'),
          ),
        )
        .then(1)
        .else(0)
        .end()
        .as('grant_alive'),
    )
    .where('t.model', '=', 'AccessToken')
    .where('t.id', '=', digest)
    .executeTakeFirst();
}

/**
 * Everything the provider keeps of the user (the account was deleted): what names the account
 * (grants, codes, tokens, login sessions), and whatever hangs on one of its grants without naming it.
 */
export async function deleteArtifactsOfAccount(db: Db, accountId: string): Promise<void> {
  const grants = db.selectFrom('oauth_artifacts').select('grant_id').where('model', '=', 'Grant').where('account_id', '=', accountId);
  await db.deleteFrom('oauth_artifacts').where('grant_id', 'in', grants).where('model', '!=', 'Grant').execute();
  await db.deleteFrom('oauth_artifacts').where('account_id', '=', accountId).execute();
}
