// oidc-provider's storage adapter over the project's database (both dialects), so codes, tokens,
// grants and sessions are shared by every instance and survive restarts. One class per model
// name (the provider makes one per model); see
// https://github.com/panva/node-oidc-provider/blob/main/example/my_adapter.js for the contract.
//
// Ids are stored as SHA-256 digests (for codes and tokens the id is the credential), and the
// payload is stored without its `jti`; find() puts it back from the id it was asked for.
import { sha256Hex } from '../kernel/crypto.ts';
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Deps } from '../kernel/deps.ts';
import type { Db } from '../kernel/db/database.ts';
import { recordAuditEvent } from '../audit/audit.service.ts';
import { findUser } from '../users/users.service.ts';
import { formatDate } from '../kernel/clock.ts';
import { deleteArtifact, deleteArtifactsOfGrant, deleteExpiredArtifacts, findArtifact, findArtifactBy, upsertArtifact, type ArtifactRow } from './artifacts.repository.ts';
import { clientMetadata } from './clients.service.ts';
import { sweepOrphanedLoginSessionDetails } from './login-session-details.repository.ts';
import { findClientById } from './clients.repository.ts';
import { announceOAuthEnded } from './access-tokens.ts';

// Expired rows are deleted now and then, by whichever instance writes first after the interval.
const SWEEP_INTERVAL_MS = 10 * 60_000;
const SWEEP_BATCH = 500;

// Models whose single use is enforced here, atomically: of two concurrent redemptions of one
// code or refresh token, exactly one marks it consumed; the other fails with invalid_grant.
const SINGLE_USE = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

/** Text PostgreSQL can compare: no NUL, well-formed UTF-16. Ids are digested, so only uid and user code need it. */
function storable(value: string): boolean {
  return !value.includes('\u0000') && value.isWellFormed() && value.length <= 256;
}

function optionalString(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export function createAdapterClass(deps: Deps): new (model: string) => Adapter {
  let lastSweepMs = 0;

  /** An oauth_revoked event (actor system) for a grant the provider revoked, in its transaction. */
  async function auditRevokedGrant(trx: Db, grant: ArtifactRow, reason: string): Promise<void> {
    const userId = Number(grant.account_id);
    const user = Number.isSafeInteger(userId) ? await findUser(deps, userId, trx) : undefined;
    if (!user) return;
    await recordAuditEvent(deps, { actor: 'system', event: 'oauth_revoked', userId: user.id, username: user.username, detail: { client_id: grant.client_id, reason } }, trx);
  }
  const nowIso = () => deps.clock.nowIso();

  function toPayload(row: ArtifactRow, id: string): AdapterPayload {
    const payload = JSON.parse(row.payload) as AdapterPayload;
    payload.jti = id;
    if (row.consumed_at !== null) payload.consumed = Math.floor(Date.parse(row.consumed_at) / 1000);
    return payload;
  }

  function expired(row: ArtifactRow): boolean {
    return row.expires_at !== null && row.expires_at <= nowIso();
  }

  return class KyselyAdapter implements Adapter {
    readonly model: string;

    constructor(model: string) {
      this.model = model;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      const { jti: _jti, ...rest } = payload;
      // An interaction after login carries the login session's cookie value (its id): a secret,
      // and never read back by the provider. Not stored.
      if (this.model === 'Interaction' && rest.session && typeof rest.session === 'object') {
        const { cookie: _cookie, ...session } = rest.session as Record<string, unknown>;
        rest.session = session;
      }
      const expiresAt = expiresIn ? formatDate(new Date(deps.clock.nowMs() + expiresIn * 1000)) : null;
      await deps.store.write(async (trx) => {
        await upsertArtifact(trx, {
          model: this.model,
          id: sha256Hex(id),
          payload: JSON.stringify(rest),
          // A grant is its own grant: revoking it by grant id then deletes it with its tokens.
          grant_id: this.model === 'Grant' ? id : optionalString(payload.grantId),
          uid: optionalString(payload.uid),
          user_code: optionalString(payload.userCode),
          account_id: optionalString(payload.accountId),
          client_id: optionalString(payload.clientId),
          expires_at: expiresAt,
          consumed_at: null,
        });
        if (deps.clock.nowMs() - lastSweepMs > SWEEP_INTERVAL_MS) {
          // A full batch means there is more: the next write sweeps again.
          const swept = await deleteExpiredArtifacts(trx, nowIso(), SWEEP_BATCH);
          // And what the settings page kept about login sessions that are gone, however they went.
          await sweepOrphanedLoginSessionDetails(trx, SWEEP_BATCH);
          lastSweepMs = swept < SWEEP_BATCH ? deps.clock.nowMs() : 0;
        }
      });
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Client') {
        // Clients are registered by the CLI in their own table, read on every use, so a
        // deleted client stops working at once on every instance.
        const client = await findClientById(deps.store.db, id);
        return client ? clientMetadata(client) : undefined;
      }
      const row = await findArtifact(deps.store.db, this.model, sha256Hex(id));
      if (!row || expired(row)) return undefined;
      return toPayload(row, id);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      if (!storable(uid)) return undefined;
      const row = await findArtifactBy(deps.store.db, this.model, 'uid', uid);
      if (!row || expired(row)) return undefined;
      // Without its jti: that is the session cookie's value, which is not stored. The provider
      // looks sessions up by uid only for logout, which needs the payload alone.
      return JSON.parse(row.payload) as AdapterPayload;
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      if (!storable(userCode)) return undefined;
      const row = await findArtifactBy(deps.store.db, this.model, 'user_code', userCode);
      if (!row || expired(row)) return undefined;
      return JSON.parse(row.payload) as AdapterPayload;
    }

    async consume(id: string): Promise<void> {
      const digest = sha256Hex(id);
      const model = this.model;
      const updated = await deps.store.write(async (trx) => {
        const result = await trx
          .updateTable('oauth_artifacts')
          .set({ consumed_at: nowIso() })
          .where('model', '=', model)
          .where('id', '=', digest)
          .where('consumed_at', 'is', null)
          .executeTakeFirst();
        if (result.numUpdatedRows > 0n || !SINGLE_USE.has(model)) return true;
        // Another request redeemed it first (the provider only saw it unused): a replay, so the
        // whole grant goes, as for a replay the provider sees itself (RFC 9700 §4.14.2).
        const row = await findArtifact(trx, model, digest);
        if (row?.grant_id) {
          const grant = await findArtifact(trx, 'Grant', sha256Hex(row.grant_id));
          await deleteArtifactsOfGrant(trx, row.grant_id);
          if (grant) await auditRevokedGrant(trx, grant, 'revoked by the authorization server');
        }
        return false;
      });
      if (!updated) {
        announceOAuthEnded(deps); // the grant's access tokens ended with it
        throw new errors.InvalidGrant('grant request is invalid');
      }
    }

    async destroy(id: string): Promise<void> {
      const model = this.model;
      await deps.store.write(async (trx) => {
        // The provider destroys a grant only when it revokes it: a replayed code or refresh
        // token, or a client revoking its refresh token (RFC 7009). The trail says so.
        const grant = model === 'Grant' ? await findArtifact(trx, model, sha256Hex(id)) : undefined;
        await deleteArtifact(trx, model, sha256Hex(id));
        if (grant) await auditRevokedGrant(trx, grant, 'revoked by the authorization server');
      });
      // An access token revoked, or a grant (which every access token of it needs) gone.
      if (model === 'AccessToken' || model === 'Grant') announceOAuthEnded(deps);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await deps.store.write((trx) => deleteArtifactsOfGrant(trx, grantId, this.model));
      if (this.model === 'AccessToken' || this.model === 'Grant') announceOAuthEnded(deps);
    }
  };
}
