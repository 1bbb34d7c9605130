// The registry's refresh tokens: what `docker login` keeps as its "identity token" (asked for with
// offline_token=true on GET, access_type=offline on POST) and later trades for access tokens with
// grant_type=refresh_token, instead of keeping the password. They are a kind of token of the
// account (docs/how-to/registry.md#registry-logins):
// - made with the password, one carries every right the user has in a registry, and is refused
//   while two-factor is on (as the password is); made with a personal access token, one carries
//   that token's registry scopes and ends with it (revoked or expired);
// - bound to the registry (`service`) it was made for;
// - shown on the settings page and by `accounts registry logins`, revocable there and by
//   `accounts registry revoke`; all end when the password changes (a reset included); refused
//   while the account is deactivated; deleted with the account;
// - valid until then or REGISTRY_REFRESH_DAYS after the login; at most MAX_PER_ACCOUNT per account
//   (a CI job that logs in on every run must not grow the table without end: the oldest go).
// Stored as a SHA-256 digest; shown once, to the client that logged in.
import { formatDate } from '../kernel/clock.ts';
import { sha256Hex } from '../kernel/crypto.ts';
import { ApiError } from '../kernel/errors.ts';
import type { Deps } from '../kernel/deps.ts';
import type { CredentialChangeHandler } from '../kernel/events.ts';
import { ADMIN_CONTEXT, type AuditContext } from '../audit/audit-events.ts';
import { recordAuditEvent } from '../audit/audit.service.ts';
import type { Principal, TokenVerifier } from '../auth/principal.ts';
import { SCOPES, isTokenScope } from '../auth/scopes.ts';
import { generateToken, isWellFormedToken, REGISTRY_REFRESH_PREFIX, tokenHint } from '../auth/token-format.ts';
import { requireUser } from '../users/users.service.ts';
import {
  deleteExpiredRefreshTokens,
  deleteRefreshToken,
  deleteRefreshTokensOf,
  findRefreshTokenByDigest,
  findRefreshTokenById,
  insertRefreshToken,
  listRefreshTokens as listRefreshTokenRows,
  touchRefreshToken,
} from './refresh-tokens.repository.ts';

export const MAX_PER_ACCOUNT = 100;
/** last_used_at is written at most once a minute per token, so reads do not become writes. */
const LAST_USED_RESOLUTION_MS = 60_000;
/** client_id is the client's own word (docker, containers/image): kept short, printable. */
const MAX_CLIENT_ID_LENGTH = 100;

export type RefreshTokenSummary = {
  id: number;
  username: string;
  hint: string;
  service: string;
  client_id: string;
  /** The personal access token it was made with, by name; null: the password. */
  access_token: string | null;
  created_at: string;
  expires_at: string;
  last_used_at: string | null;
};

/** Whether this credential may have a refresh token: the password or a personal access token (not an OAuth access token). */
export function mayHaveRefreshToken(principal: Principal): boolean {
  return principal.method === 'password' || principal.tokenId !== undefined;
}

/** Makes one for a caller who just signed in; the token is returned once and only its digest kept. */
export async function issueRefreshToken(deps: Deps, principal: Principal, input: { service: string; clientId: string }, context: AuditContext): Promise<string> {
  const token = generateToken(REGISTRY_REFRESH_PREFIX);
  const now = deps.clock.nowIso();
  const expiresAt = formatDate(new Date(deps.clock.nowMs() + deps.config.registryRefreshDays * 86_400_000));
  // eslint-disable-next-line no-control-regex -- what a stored client name must not hold
  const clientId = input.clientId.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, MAX_CLIENT_ID_LENGTH);
  await deps.store.write(async (trx) => {
    await deleteExpiredRefreshTokens(trx, principal.userId, now);
    const id = await insertRefreshToken(trx, {
      user_id: principal.userId,
      access_token_id: principal.method === 'token' ? principal.tokenId! : null,
      token_digest: sha256Hex(token),
      token_hint: tokenHint(token),
      service: input.service,
      client_id: clientId,
      created_at: now,
      expires_at: expiresAt,
      last_used_at: null,
    });
    // The oldest beyond the cap end (they are listed newest first).
    const kept = await listRefreshTokenRows(trx, principal.userId);
    for (const old of kept.slice(MAX_PER_ACCOUNT)) await deleteRefreshToken(trx, old.id);
    const detail = { refresh_token_id: id, service: input.service, client_id: clientId, with: principal.method === 'token' ? `token ${principal.tokenId}` : 'password', expires_at: expiresAt };
    await recordAuditEvent(deps, { ...context, event: 'registry_refresh_token_issued', userId: principal.userId, username: principal.username, detail }, trx);
  });
  return token;
}

/** Checks a refresh token presented for `service`: the caller it stands for, or why not. */
export function refreshTokenVerifier(deps: Deps, service: string): TokenVerifier {
  return async (token) => {
    if (!isWellFormedToken(token, REGISTRY_REFRESH_PREFIX)) return { reason: 'invalid_token' };
    const row = await findRefreshTokenByDigest(deps.store.db, sha256Hex(token));
    const now = deps.clock.nowIso();
    if (!row || row.service !== service) return { reason: 'invalid_token' };
    if (row.expires_at <= now) return { reason: 'expired_token' };
    if (row.is_active !== 1) return { reason: 'inactive' };
    if (row.access_token_id !== null) {
      if (row.pat_revoked_at !== null) return { reason: 'revoked_token' };
      if (row.pat_expires_at !== null && row.pat_expires_at <= now) return { reason: 'expired_token' };
    }
    if (row.last_used_at === null || Date.parse(row.last_used_at) < deps.clock.nowMs() - LAST_USED_RESOLUTION_MS) {
      await deps.store.write((trx) => touchRefreshToken(trx, row.id, now));
    }
    const base = { userId: row.user_id, username: row.username };
    if (row.access_token_id === null) return { ...base, scopes: new Set(SCOPES), method: 'password' };
    return { ...base, scopes: new Set((row.pat_scopes ?? '').split(' ').filter(isTokenScope)), method: 'token', tokenId: row.access_token_id };
  };
}

export async function listRefreshTokens(deps: Deps, username: string): Promise<RefreshTokenSummary[]> {
  const user = await requireUser(deps, username);
  const now = deps.clock.nowIso();
  return (await listRefreshTokenRows(deps.store.db, user.id))
    .filter((row) => row.expires_at > now)
    .map((row) => ({
      id: row.id,
      username: user.username,
      hint: row.token_hint,
      service: row.service,
      client_id: row.client_id,
      access_token: row.access_token_id === null ? null : (row.access_token_name ?? `#${row.access_token_id}`),
      created_at: row.created_at,
      expires_at: row.expires_at,
      last_used_at: row.last_used_at,
    }));
}

/**
 * Ends one. `owner`: only if it is that account's (the settings page); the CLI may end anyone's.
 * A 404 when there is no such token (or not the owner's: the same answer).
 */
export async function revokeRefreshToken(deps: Deps, id: number, options: { ownerId?: number; context?: AuditContext } = {}): Promise<void> {
  const row = await findRefreshTokenById(deps.store.db, id);
  if (!row || (options.ownerId !== undefined && row.user_id !== options.ownerId)) throw new ApiError('not_found', { detail: 'No such registry login.' });
  await deps.store.write(async (trx) => {
    if (!(await deleteRefreshToken(trx, row.id))) return; // ended meanwhile: nothing to record
    const detail = { refresh_token_id: row.id, service: row.service, client_id: row.client_id };
    await recordAuditEvent(deps, { ...(options.context ?? ADMIN_CONTEXT), event: 'registry_refresh_token_revoked', userId: row.user_id, username: row.username, detail }, trx);
  });
}

/**
 * Subscribed to the credential-change events (src/wiring.ts): a new password ends every refresh
 * token of the account, a revoked personal access token those made with it — in the change's own
 * transaction. (A deleted account's go with it: ON DELETE CASCADE.)
 */
export const endRegistryRefreshTokens: CredentialChangeHandler = async (trx, change) => {
  if (change.kind === 'password') await deleteRefreshTokensOf(trx, { userId: change.userId });
  else if (change.kind === 'token' && change.tokenId !== undefined) await deleteRefreshTokensOf(trx, { accessTokenId: change.tokenId });
};
