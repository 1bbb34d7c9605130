// Idempotent retries of the API's POSTs (IETF draft "The Idempotency-Key HTTP Header Field").
// A route marked `config: { idempotent: true }` takes an `Idempotency-Key`; per user and for 24
// hours, the same key with the same request (method, route, body) replays the first answer —
// status, body and the headers that matter, with `Idempotent-Replayed: true` — without running it
// again; the same key with another request is a 422; while the first is still running, a 409
// (Retry-After: 1). Answers that a retry should not repeat (5xx, 429, 409) are not kept: the key is
// released and a retry runs the request again. Keys live in the database, so every instance
// sees them; expired ones are swept.
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { formatDate } from '../kernel/clock.ts';
import { sha256Hex } from '../kernel/crypto.ts';
import type { Deps } from '../kernel/deps.ts';
import { ApiError } from '../kernel/errors.ts';
import { accountOf } from './access.ts';
import { addRouteHook } from './route-hooks.ts';
import { claimKey, deleteExpiredKeys, recordAnswer, releaseKey, type KeyRef } from './idempotency.repository.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route takes Idempotency-Key (and is guarded by a scope, so it has a path user). */
    idempotent?: boolean;
  }
  interface FastifyRequest {
    idempotencyKey: KeyRef | null;
  }
}

export const IDEMPOTENCY_WINDOW_MS = 24 * 3600_000;
/** A request still "running" after this is taken to be abandoned (its process died): the key is free again. */
const ABANDONED_AFTER_MS = 60_000;
const SWEEP_EVERY_MS = 60_000;
const MAX_KEY_LENGTH = 255;
/** What a replay repeats besides the status and body. */
const REPLAYED_HEADERS = ['content-type', 'etag', 'location', 'content-length'];

/** The draft makes the field a Structured Fields string ("…"); a bare token is taken too. */
export function parseIdempotencyKey(field: string): string | undefined {
  const trimmed = field.trim();
  const quoted = /^"([\x20-\x21\x23-\x5b\x5d-\x7e]*)"$/.exec(trimmed);
  const key = quoted ? quoted[1]! : trimmed;
  if (key.length === 0 || key.length > MAX_KEY_LENGTH || !/^[\x20-\x7e]+$/.test(key)) return undefined;
  return key;
}

function fingerprintOf(request: FastifyRequest): string {
  return sha256Hex(`${request.method} ${request.routeOptions.url ?? ''} ${JSON.stringify(request.body ?? null)}`);
}

export function registerIdempotency(app: FastifyInstance, deps: Deps): void {
  app.decorateRequest('idempotencyKey', null);
  let lastSweep = 0;

  const idempotent = (route: RouteOptions) => route.config?.idempotent === true;
  addRouteHook(app, 'preHandler', idempotent, async (request, reply) => {
    const field = request.headers['idempotency-key'];
    if (field === undefined) return;
    const key = typeof field === 'string' ? parseIdempotencyKey(field) : undefined;
    if (key === undefined) {
      throw new ApiError('invalid', { detail: `Idempotency-Key must be 1 to ${MAX_KEY_LENGTH} printable ASCII characters, e.g. "8e03978e-40d5-43e8-bc93-6894a57f9324".`, fieldErrors: { 'Idempotency-Key': ['Invalid key.'] } });
    }
    const ref = { user_id: accountOf(request).id, idempotency_key: key };
    const nowMs = deps.clock.nowMs();
    const now = formatDate(new Date(nowMs));
    const claim = await deps.store.write(async (trx) => {
      if (nowMs - lastSweep > SWEEP_EVERY_MS) {
        lastSweep = nowMs;
        await deleteExpiredKeys(trx, now);
      }
      return claimKey(trx, ref, {
        fingerprint: fingerprintOf(request),
        now,
        expiresAt: formatDate(new Date(nowMs + IDEMPOTENCY_WINDOW_MS)),
        staleBefore: formatDate(new Date(nowMs - ABANDONED_AFTER_MS)),
      });
    });
    if (claim.claimed) {
      request.idempotencyKey = ref;
      return;
    }
    const { row } = claim;
    if (row.fingerprint !== fingerprintOf(request)) throw new ApiError('idempotency_key_reused');
    if (row.status === null) throw new ApiError('idempotency_key_in_use', { headers: { 'retry-after': '1' } });
    const headers = JSON.parse(row.headers ?? '{}') as Record<string, string>;
    for (const [name, value] of Object.entries(headers)) reply.header(name, value);
    reply.header('idempotent-replayed', 'true');
    return reply.code(row.status).send(row.body ?? '');
  });

  addRouteHook(app, 'onSend', idempotent, async (request, reply, payload) => {
    const ref = request.idempotencyKey;
    if (!ref) return payload;
    request.idempotencyKey = null;
    const status = reply.statusCode;
    if (status >= 500 || status === 429 || status === 409 || (typeof payload !== 'string' && payload !== null && payload !== undefined && !Buffer.isBuffer(payload))) {
      await deps.store.write((trx) => releaseKey(trx, ref));
      return payload;
    }
    const headers: Record<string, string> = {};
    for (const name of REPLAYED_HEADERS) {
      const value = reply.getHeader(name);
      if (value !== undefined) headers[name] = String(value);
    }
    const body = payload === null || payload === undefined ? '' : payload.toString();
    await deps.store.write((trx) => recordAnswer(trx, ref, { status, headers: JSON.stringify(headers), body }));
    return payload;
  });
}
