// Credential-change events: how one feature tells the others that an account's credentials
// changed, without importing them. The feature that makes the change announces it twice:
// - `changing`, inside the change's own transaction, so that what other features tie to the old
//   credentials (the authorization server's login sessions after a password change) ends in the
//   same commit or not at all;
// - `changed`, once committed, so that every process's caches forget the old credentials (at
//   once here, and in other processes over Redis when it is configured).
// Subscribers are given when the events are made (src/wiring.ts), the same for the server and the CLI.
import type { Db } from './db/database.ts';

export type CredentialChange = {
  /** The account; 0 for an 'oauth' change that concerns several (a client deleted). */
  userId: number;
  /**
   * What changed: the password, whether the account is active, one token (revoked), the account
   * is gone ('deleted': subscribers delete what they keep of it in the same transaction), or
   * authorization-server access ended ('oauth': a grant, an access token or a client was revoked
   * or deleted; caches forget every OAuth access token they hold), or a second factor was turned
   * on or off ('second_factor': whether the API takes the password changed).
   */
  kind: 'password' | 'activation' | 'token' | 'deleted' | 'oauth' | 'second_factor';
  tokenId?: number;
};

export type CredentialEvents = {
  changing(trx: Db, change: CredentialChange): Promise<void>;
  changed(change: CredentialChange): void;
};

/** A subscriber that writes with the change, in its transaction. */
export type CredentialChangeHandler = (trx: Db, change: CredentialChange) => Promise<void>;
