// Row types of every table, as Kysely sees them. Timestamps are RFC 3339 UTC strings with six
// fractional digits (see src/kernel/clock.ts), so they sort and compare as text on every dialect.
import type { ColumnType, Generated, Kysely } from 'kysely';

export type UserRow = {
  id: Generated<number>;
  username: string;
  /** argon2id PHC string; null when the account has no password (tokens only). */
  password_hash: string | null;
  full_name: ColumnType<string, string | undefined, string>;
  location: ColumnType<string, string | undefined, string>;
  company: ColumnType<string, string | undefined, string>;
  profile_url: ColumnType<string, string | undefined, string>;
  gravatar_email: ColumnType<string, string | undefined, string>;
  is_active: ColumnType<number, number | undefined, number>;
  /** Kept by triggers; a CHECK holds it at 20 or fewer. Never written by the application. */
  email_count: ColumnType<number, never, never>;
  date_joined: string;
  updated_at: string;
};

export type EmailRow = {
  id: Generated<number>;
  user_id: number;
  /** As the user typed it (domain in its ASCII form), for display. */
  email: string;
  /** The comparison key: unique across all accounts. See kernel/email-address.ts. */
  email_key: string;
  verified: ColumnType<number, number | undefined, number>;
  is_primary: ColumnType<number, number | undefined, number>;
  created_at: string;
};

export type AccessTokenRow = {
  id: Generated<number>;
  user_id: number;
  name: string;
  /** Hex SHA-256 of the whole token; the token itself is never stored. */
  token_digest: string;
  /** The token's first characters, so people can tell their tokens apart. */
  token_hint: string;
  /** Space-separated scope names. */
  scopes: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
};

/** One security-relevant event (src/audit/). Append-only. */
export type AuditEventRow = {
  id: Generated<number>;
  occurred_at: string;
  /** The account, when there was one; no foreign key, so the trail outlives it. */
  user_id: number | null;
  /** Lower-cased, at most 64 characters; kept even when no account has that name. */
  username: string;
  /** One of AUDIT_EVENTS (src/audit/audit-events.ts). */
  event: string;
  /** 'self' | 'admin' | 'system'. */
  actor: string;
  client_ip: string | null;
  /** 'success' | 'failure' | 'denied'. */
  outcome: string;
  /** A small JSON object (token id and name, an address…); never a password, token or hash. */
  detail: string | null;
};

/** A verification link sent for an address (src/emails/verification.*). */
export type EmailVerificationRow = {
  id: Generated<number>;
  email_id: number;
  /** Hex SHA-256 of the link's token; the token itself is never stored. */
  token_digest: string;
  created_at: string;
  expires_at: string;
  /** Set once, when the link verified the address. */
  used_at: string | null;
};

/** A browser session of the account settings page (src/account/). */
export type SessionRow = {
  id: Generated<number>;
  user_id: number;
  /** Hex SHA-256 of the session id in the cookie; the id itself is never stored. */
  session_digest: string;
  created_at: string;
  /** Moved forward as the session is used; the idle timeout counts from it. */
  last_seen_at: string;
  /** The absolute timeout: the session ends then, however active. */
  expires_at: string;
  /** The browser's User-Agent at login, cut short; for display only. Null before it was kept. */
  user_agent: string | null;
  /** The client's address at login. Null before it was kept. */
  ip: string | null;
  /** The second factor given at login ('totp', 'passkey', 'recovery_code'); null: the password alone. */
  second_factor: ColumnType<string | null, string | null | undefined, string | null>;
};

/** A client registered with `accounts client create` (src/oauth/). */
export type OAuthClientRow = {
  client_id: string;
  name: string;
  /** Hex SHA-256 of the secret; null for a public client (PKCE only). */
  secret_digest: string | null;
  /** JSON array of the registered redirect URIs, in the order given; the first is the default. */
  redirect_uris: string;
  created_at: string;
};

/** Whatever oidc-provider stores: one row per code, token, grant, session, interaction… */
export type OAuthArtifactRow = {
  /** The provider's model name: AccessToken, AuthorizationCode, RefreshToken, Grant, Session, Interaction… */
  model: string;
  /** Hex SHA-256 of the artifact's id (for codes and tokens, the credential itself). */
  id: string;
  /** The provider's payload, as JSON, without its id. */
  payload: string;
  grant_id: string | null;
  uid: string | null;
  user_code: string | null;
  /** The user's id, as a string (the OpenID `sub`). */
  account_id: string | null;
  client_id: string | null;
  expires_at: string | null;
  consumed_at: string | null;
};

/**
 * What the settings page shows about an authorization server's login session (src/oauth/): kept
 * beside the provider's Session artifact, named by its uid, and deleted with it.
 */
export type OAuthLoginSessionDetailsRow = {
  session_uid: string;
  /** The user's id, as a string, as in oauth_artifacts. */
  account_id: string;
  /** The browser's User-Agent at sign-in, cut short; for display only. */
  user_agent: string | null;
  ip: string | null;
  created_at: string;
  /** When the browser last came back to the authorization endpoint with this session. */
  last_seen_at: string;
};

/** Secrets the provider needs and every instance must share: the signing key, cookie keys. */
export type OAuthSecretRow = { name: string; value: string; created_at: string };

/** What is left of a deleted account: its id and username, never given to anyone again. */
export type DeletedAccountRow = { user_id: number; username: string; deleted_at: string };

/** A password reset link (src/account/password-reset.service.ts). */
export type PasswordResetRow = {
  id: Generated<number>;
  user_id: number;
  /** Hex SHA-256 of the link's token; the token itself is never stored. */
  token_digest: string;
  created_at: string;
  expires_at: string;
  /** Set once: when the link set a password, or when another link of the account did. */
  used_at: string | null;
};

export type SchemaMigrationRow = { name: string; applied_at: string };

export type Tables = {
  users: UserRow;
  emails: EmailRow;
  access_tokens: AccessTokenRow;
  audit_events: AuditEventRow;
  email_verifications: EmailVerificationRow;
  sessions: SessionRow;
  password_resets: PasswordResetRow;
  oauth_clients: OAuthClientRow;
  oauth_artifacts: OAuthArtifactRow;
  oauth_login_session_details: OAuthLoginSessionDetailsRow;
  oauth_secrets: OAuthSecretRow;
  deleted_accounts: DeletedAccountRow;
  schema_migrations: SchemaMigrationRow;
  invitations: InvitationRow;
  totp_authenticators: TotpAuthenticatorRow;
  recovery_codes: RecoveryCodeRow;
  passkeys: PasskeyRow;
  sign_in_steps: SignInStepRow;
  service_keys: ServiceKeyRow;
  registry_keys: RegistryKeyRow;
  registry_admins: { user_id: number; granted_at: string };
  registry_refresh_tokens: RegistryRefreshTokenRow;
  idempotency_keys: IdempotencyKeyRow;
};

/** A signing key of the registry token server (src/registry/keys.ts). */
export type RegistryKeyRow = { id: Generated<number>; private_key: string; certificate: string; created_at: string; active_from: string; retired_at: string | null };

/** An Idempotency-Key of the API (src/http/idempotency.ts); status NULL while its request runs. */
export type IdempotencyKeyRow = {
  user_id: number;
  idempotency_key: string;
  fingerprint: string;
  status: number | null;
  headers: string | null;
  body: string | null;
  created_at: string;
  expires_at: string;
};

/** What `docker login` keeps (src/registry/refresh-tokens.ts): a refresh token of the registry token server. */
export type RegistryRefreshTokenRow = {
  id: Generated<number>;
  user_id: number;
  access_token_id: number | null;
  token_digest: string;
  token_hint: string;
  service: string;
  client_id: string;
  created_at: string;
  expires_at: string;
  last_used_at: string | null;
};

/** An authenticator app (src/two-factor/totp.ts): one per account. */
export type TotpAuthenticatorRow = {
  user_id: number;
  /** Sealed with src/kernel/secret-box.ts; never the secret in the clear. */
  secret: string;
  created_at: string;
  /** Null while being set up: turned on once a code from it was typed. */
  confirmed_at: string | null;
  /** The RFC 6238 time step of the last code accepted: a code is accepted once. */
  last_step: ColumnType<number | null, number | null | undefined, number | null>;
};

/** A single-use recovery code (src/two-factor/recovery-codes.ts): its digest only. */
export type RecoveryCodeRow = { id: Generated<number>; user_id: number; code_digest: string; created_at: string; used_at: string | null };

/** A WebAuthn credential (src/two-factor/passkeys.service.ts). */
export type PasskeyRow = {
  id: Generated<number>;
  user_id: number;
  /** base64url, as the authenticator names it. */
  credential_id: string;
  /** base64url of the COSE public key. */
  public_key: string;
  counter: ColumnType<number, number | undefined, number>;
  /** JSON array of the transports the authenticator said it has. */
  transports: string;
  backed_up: ColumnType<number, number | undefined, number>;
  name: string;
  created_at: string;
  last_used_at: string | null;
};

/** A step of a sign-in in progress (src/two-factor/sign-in-steps.ts): used once, short-lived. */
export type SignInStepRow = { id_digest: string; kind: string; user_id: number | null; challenge: string | null; created_at: string; expires_at: string };

/** A key the service made for itself (src/kernel/secret-box.ts). */
export type ServiceKeyRow = { name: string; value: string; created_at: string };

/** An invitation to sign up (SIGNUP=invite), for one address; works once. */
export type InvitationRow = {
  id: Generated<number>;
  /** The address as the operator gave it, and its comparison key (src/kernel/email-address.ts). */
  email: string;
  email_key: string;
  /** Hex SHA-256 of the link's secret; the secret itself is never stored. */
  token_digest: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
};

export type Db = Kysely<Tables>;
