// What the authorization server does when an account is deleted: subscribed to the
// credential-change events (src/wiring.ts), it deletes, in the deletion's own transaction, every
// artifact of the user — grants (the applications they allowed), codes, access and refresh tokens,
// login sessions — so that nothing it issued outlives the account, even for a moment.
import type { CredentialChangeHandler } from '../kernel/events.ts';
import { deleteArtifactsOfAccount } from './artifacts.repository.ts';

export const forgetDeletedAccount: CredentialChangeHandler = async (trx, change) => {
  if (change.kind === 'deleted') await deleteArtifactsOfAccount(trx, String(change.userId));
};
