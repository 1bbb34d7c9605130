// The accounts that may list the registry's catalog (`registry:catalog:*`), marked by an operator.
import { ApiError } from '../kernel/errors.ts';
import type { Deps } from '../kernel/deps.ts';
import type { AccountRef } from '../auth/principal.ts';

export async function isRegistryAdmin(deps: Deps, userId: number): Promise<boolean> {
  return (await deps.store.db.selectFrom('registry_admins').select('user_id').where('user_id', '=', userId).executeTakeFirst()) !== undefined;
}

/** Marks or unmarks the account; whether anything changed. */
export async function setRegistryAdmin(deps: Deps, account: AccountRef | undefined, admin: boolean): Promise<boolean> {
  if (!account) throw new ApiError('not_found', { detail: 'No such user.' });
  return deps.store.write(async (trx) => {
    if (!admin) return Number((await trx.deleteFrom('registry_admins').where('user_id', '=', account.id).executeTakeFirst()).numDeletedRows) > 0;
    if (await trx.selectFrom('registry_admins').select('user_id').where('user_id', '=', account.id).executeTakeFirst()) return false;
    await trx.insertInto('registry_admins').values({ user_id: account.id, granted_at: deps.clock.nowIso() }).execute();
    return true;
  });
}
