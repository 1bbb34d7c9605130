// Personal access tokens: create (the token is shown once), list, revoke.
import { sha256Hex } from '../kernel/crypto.ts';
import { ApiError } from '../kernel/errors.ts';
import type { Deps } from '../kernel/deps.ts';
import { ADMIN_CONTEXT, type AuditContext } from '../audit/audit-events.ts';
import { recordAuditEvent } from '../audit/audit.service.ts';
import { formatDate } from '../kernel/clock.ts';
import { requireUser } from '../users/users.service.ts';
import { CONTROL_CHARACTERS } from '../kernel/text.ts';
import type { TokenScope } from '../auth/scopes.ts';
import { generateToken, isWellFormedToken, tokenHint } from '../auth/token-format.ts';
import { findTokenByDigest, findTokenById, insertToken, listTokens as listTokenRows, markTokenRevoked, type AccessToken, type TokenWithOwner } from './tokens.repository.ts';

export type TokenStatus = 'active' | 'expired' | 'revoked';

export type TokenSummary = {
  id: number;
  username: string;
  name: string;
  hint: string;
  scopes: string[];
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  status: TokenStatus;
};

export const MAX_TOKEN_NAME_LENGTH = 100;

export function tokenStatus(row: AccessToken, nowIso: string): TokenStatus {
  if (row.revoked_at !== null) return 'revoked';
  if (row.expires_at !== null && row.expires_at <= nowIso) return 'expired';
  return 'active';
}

function summarise(row: AccessToken, username: string, nowIso: string): TokenSummary {
  return {
    id: row.id,
    username,
    name: row.name,
    hint: `${row.token_hint}…`,
    scopes: row.scopes.split(' ').filter(Boolean),
    created_at: row.created_at,
    expires_at: row.expires_at,
    last_used_at: row.last_used_at,
    status: tokenStatus(row, nowIso),
  };
}

export type NewToken = { username: string; scopes: readonly TokenScope[]; name?: string; expiresInMs?: number };

export async function createToken(deps: Deps, input: NewToken, context: AuditContext = ADMIN_CONTEXT): Promise<{ token: string; summary: TokenSummary }> {
  const user = await requireUser(deps, input.username);
  if (input.scopes.length === 0) throw new ApiError('invalid', { fieldErrors: { scopes: ['Choose at least one scope.'] } });
  const name = (input.name ?? '').trim() || 'token';
  if ([...name].length > MAX_TOKEN_NAME_LENGTH) {
    throw new ApiError('invalid', { fieldErrors: { name: [`Ensure this field has no more than ${MAX_TOKEN_NAME_LENGTH} characters.`] } });
  }
  if (!name.isWellFormed() || CONTROL_CHARACTERS.test(name)) {
    throw new ApiError('invalid', { fieldErrors: { name: ['Must not contain control characters.'] } });
  }
  const token = generateToken();
  const now = deps.clock.nowIso();
  const expiresAt = input.expiresInMs === undefined ? null : formatDate(new Date(deps.clock.nowMs() + input.expiresInMs));
  const row = await deps.store.write(async (trx) => {
    const inserted = await insertToken(trx, {
      user_id: user.id,
      name,
      token_digest: sha256Hex(token),
      token_hint: tokenHint(token),
      scopes: input.scopes.join(' '),
      created_at: now,
      expires_at: expiresAt,
    });
    const detail = { token_id: inserted.id, name, scopes: inserted.scopes, expires_at: expiresAt };
    await recordAuditEvent(deps, { ...context, event: 'token_created', userId: user.id, username: user.username, detail }, trx);
    return inserted;
  });
  return { token, summary: summarise(row, user.username, now) };
}

export async function listTokens(deps: Deps, username: string): Promise<TokenSummary[]> {
  const user = await requireUser(deps, username);
  const now = deps.clock.nowIso();
  return (await listTokenRows(deps.store.db, user.id)).map((row) => summarise(row, user.username, now));
}

/** Revokes by numeric id or by the token itself. Returns whether it was already revoked. */
export async function revokeToken(deps: Deps, idOrToken: string, context: AuditContext = ADMIN_CONTEXT): Promise<{ id: number; alreadyRevoked: boolean }> {
  let row: TokenWithOwner | undefined;
  if (/^\d+$/.test(idOrToken)) row = await findTokenById(deps.store.db, Number(idOrToken));
  else if (isWellFormedToken(idOrToken)) row = await findTokenByDigest(deps.store.db, sha256Hex(idOrToken));
  else throw new ApiError('invalid', { detail: 'Not a token id or a well-formed token.' });
  if (!row) throw new ApiError('not_found', { detail: 'No such token.' });
  const { id, name, user_id: userId, username } = row;
  const revoked = await deps.store.write(async (trx) => {
    // Conditional: revoking a revoked token changes nothing and records nothing.
    if (!(await markTokenRevoked(trx, id, deps.clock.nowIso()))) return false;
    await recordAuditEvent(deps, { ...context, event: 'token_revoked', userId, username, detail: { token_id: id, name } }, trx);
    await deps.credentialEvents.changing(trx, { userId, tokenId: id, kind: 'token' });
    return true;
  });
  if (revoked) deps.credentialEvents.changed({ userId, tokenId: id, kind: 'token' });
  return { id, alreadyRevoked: !revoked };
}
