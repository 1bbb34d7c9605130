// The applications a user has authorised: what `accounts grant list|revoke`
// and the settings page show and revoke. A grant is oidc-provider's record of a user's consent
// to one client; revoking it deletes it and every code and token issued under it, so the next
// API call with one of those tokens is refused (the API reads tokens from the database).
import type { Deps } from '../kernel/deps.ts';
import { formatMicros } from '../kernel/clock.ts';
import { ApiError } from '../kernel/errors.ts';
import { ADMIN_CONTEXT, type AuditContext } from '../audit/audit-events.ts';
import { recordAuditEvent } from '../audit/audit.service.ts';
import { requireUser } from '../users/users.service.ts';
import { deleteArtifactsOfGrant, grantIdsOf, listGrantRows } from './artifacts.repository.ts';
import { announceOAuthEnded } from './access-tokens.ts';

export type GrantSummary = {
  client_id: string;
  /** The client's name; null if it was deleted since (its grants go with it, so rarely). */
  client_name: string | null;
  /** Every scope granted, API and OpenID ones, sorted. */
  scopes: string[];
  /** When the user first allowed it, RFC 3339. */
  granted_at: string;
};

type GrantPayload = { iat?: number; openid?: { scope?: string }; resources?: Record<string, string> };

function scopesOf(payload: GrantPayload): string[] {
  const scopes = new Set<string>();
  for (const s of (payload.openid?.scope ?? '').split(' ')) if (s) scopes.add(s);
  for (const value of Object.values(payload.resources ?? {})) for (const s of value.split(' ')) if (s) scopes.add(s);
  return [...scopes].sort();
}

/** One entry per client (a user may have granted a client more than once: the scopes are merged). */
export async function listGrants(deps: Deps, userId: number): Promise<GrantSummary[]> {
  const rows = await listGrantRows(deps.store.db, String(userId), deps.clock.nowIso());
  const byClient = new Map<string, GrantSummary>();
  for (const row of rows) {
    if (row.client_id === null) continue;
    const payload = JSON.parse(row.payload) as GrantPayload;
    const grantedAt = formatMicros((payload.iat ?? 0) * 1_000_000);
    const entry = byClient.get(row.client_id);
    if (!entry) {
      byClient.set(row.client_id, { client_id: row.client_id, client_name: row.client_name, scopes: scopesOf(payload), granted_at: grantedAt });
    } else {
      entry.scopes = [...new Set([...entry.scopes, ...scopesOf(payload)])].sort();
      if (grantedAt < entry.granted_at) entry.granted_at = grantedAt;
    }
  }
  return [...byClient.values()];
}

export async function listGrantsOfUsername(deps: Deps, username: string): Promise<GrantSummary[]> {
  const user = await requireUser(deps, username);
  return listGrants(deps, user.id);
}

/**
 * Revokes every grant the user gave the client, with their codes and tokens, in one transaction;
 * a 404 (ApiError not_found) when there is none.
 */
export async function revokeGrant(deps: Deps, userId: number, username: string, clientId: string, context: AuditContext = ADMIN_CONTEXT): Promise<void> {
  await deps.store.write(async (trx) => {
    const grantIds = await grantIdsOf(trx, String(userId), clientId, deps.clock.nowIso());
    if (grantIds.length === 0) throw new ApiError('not_found', { detail: `${username} has not authorised a client with the id "${clientId}".` });
    for (const grantId of grantIds) await deleteArtifactsOfGrant(trx, grantId);
    await recordAuditEvent(deps, { ...context, event: 'oauth_revoked', userId, username, detail: { client_id: clientId } }, trx);
  });
  announceOAuthEnded(deps, userId);
}

export async function revokeGrantOfUsername(deps: Deps, username: string, clientId: string, context: AuditContext = ADMIN_CONTEXT): Promise<void> {
  const user = await requireUser(deps, username);
  await revokeGrant(deps, user.id, user.username, clientId, context);
}
