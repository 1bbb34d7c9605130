// SQL for registered OAuth clients.
import type { Insertable, Selectable } from 'kysely';
import type { Db, OAuthClientRow } from '../kernel/db/database.ts';

export type ClientRow = Selectable<OAuthClientRow>;

export async function insertClient(db: Db, row: Insertable<OAuthClientRow>): Promise<void> {
  await db.insertInto('oauth_clients').values(row).execute();
}

/** Client ids are ours (base64url); anything else, e.g. a NUL PostgreSQL would refuse, is no client. */
const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

export async function findClientById(db: Db, clientId: string): Promise<ClientRow | undefined> {
  if (!CLIENT_ID.test(clientId)) return undefined;
  return db.selectFrom('oauth_clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
}

export function listClientRows(db: Db): Promise<ClientRow[]> {
  return db.selectFrom('oauth_clients').selectAll().orderBy('created_at').orderBy('client_id').execute();
}

/** Deletes the client and everything issued to it (codes, tokens, grants); false when unknown. */
export async function deleteClientById(db: Db, clientId: string): Promise<boolean> {
  await db.deleteFrom('oauth_artifacts').where('client_id', '=', clientId).execute();
  const result = await db.deleteFrom('oauth_clients').where('client_id', '=', clientId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
