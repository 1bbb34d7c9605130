// SQL for the API's idempotency keys (src/http/idempotency.ts).
import type { Selectable } from 'kysely';
import type { Db, IdempotencyKeyRow } from '../kernel/db/database.ts';

export type IdempotencyKey = Selectable<IdempotencyKeyRow>;
export type KeyRef = { user_id: number; idempotency_key: string };

/**
 * Claims the key for a request: a new key, or one whose answer has expired, or one whose request
 * was abandoned (still running after `staleBefore`: its process died). Otherwise the row as it is.
 */
export async function claimKey(
  db: Db,
  ref: KeyRef,
  values: { fingerprint: string; now: string; expiresAt: string; staleBefore: string },
): Promise<{ claimed: true } | { claimed: false; row: IdempotencyKey }> {
  const fresh = { fingerprint: values.fingerprint, status: null, headers: null, body: null, created_at: values.now, expires_at: values.expiresAt };
  const inserted = await db
    .insertInto('idempotency_keys')
    .values({ ...ref, ...fresh })
    .onConflict((oc) => oc.columns(['user_id', 'idempotency_key']).doNothing())
    .executeTakeFirst();
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1) return { claimed: true };
  const retaken = await db
    .updateTable('idempotency_keys')
    .set(fresh)
    .where('user_id', '=', ref.user_id)
    .where('idempotency_key', '=', ref.idempotency_key)
    .where((eb) => eb.or([eb('expires_at', '<=', values.now), eb.and([eb('status', 'is', null), eb('created_at', '<', values.staleBefore)])]))
    .executeTakeFirst();
  if (Number(retaken.numUpdatedRows) === 1) return { claimed: true };
  const row = await db.selectFrom('idempotency_keys').selectAll().where('user_id', '=', ref.user_id).where('idempotency_key', '=', ref.idempotency_key).executeTakeFirstOrThrow();
  return { claimed: false, row };
}

export async function recordAnswer(db: Db, ref: KeyRef, answer: { status: number; headers: string; body: string }): Promise<void> {
  await db.updateTable('idempotency_keys').set(answer).where('user_id', '=', ref.user_id).where('idempotency_key', '=', ref.idempotency_key).execute();
}

export async function releaseKey(db: Db, ref: KeyRef): Promise<void> {
  await db.deleteFrom('idempotency_keys').where('user_id', '=', ref.user_id).where('idempotency_key', '=', ref.idempotency_key).where('status', 'is', null).execute();
}

export async function deleteExpiredKeys(db: Db, now: string): Promise<void> {
  await db.deleteFrom('idempotency_keys').where('expires_at', '<=', now).execute();
}
