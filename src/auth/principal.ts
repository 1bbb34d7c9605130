// Who is calling, once the sign-in core has checked the credentials.
import type { TokenScope } from './scopes.ts';

/** An account's immutable identity: what routes and services are given for the path user. */
export type AccountRef = { id: number; username: string };

export type Principal = {
  userId: number;
  username: string;
  /** The API's scopes it carries (a password: all four); a personal access token's registry scopes too. */
  scopes: ReadonlySet<TokenScope>;
  method: 'password' | 'token';
  /** The personal access token it came from (the registry ties its refresh tokens to it). */
  tokenId?: number;
  /** Answered from the cache of verified credentials, without checking the password again. */
  cached?: boolean;
};

/** Why an authentication failed: for logs and metrics, never for the client. */
export type AuthFailureReason =
  | 'missing'
  | 'malformed'
  | 'unknown_user'
  | 'bad_password'
  | 'no_password'
  | 'inactive'
  /** The password was right, but the account's primary address is not verified yet (sign-up). */
  | 'unverified'
  | 'invalid_token'
  | 'expired_token'
  | 'revoked_token'
  | 'token_user_mismatch'
  /** The password was right, but this entry point needs a second factor it cannot ask for. */
  | 'second_factor_required'
  /** The password was right, but the second factor given after it was not. */
  | 'bad_second_factor';

/**
 * A token as the sign-in core checks it, whichever feature issued it: personal access tokens
 * (src/tokens) and the authorization server's access tokens (src/oauth) each provide a
 * TokenVerifier that finds theirs.
 */
export type TokenCheck = Principal | { reason: AuthFailureReason };

/** Answers undefined when the token is not of its kind (so the next verifier is asked). */
export type TokenVerifier = (token: string) => Promise<TokenCheck | undefined>;
