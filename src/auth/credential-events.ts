// The credential-change events (src/kernel/events.ts) as this process delivers them: handlers
// given by the wiring run inside the change's transaction; once committed, this process's caches
// forget the credentials at once and, when Redis is there, every other process's too
// (publish/subscribe). Without Redis other processes see the change when their cache entries
// expire (AUTH_CACHE_TTL_MS), well within the 5 seconds promised.
import type { Redis } from 'ioredis';
import type { CredentialChange, CredentialChangeHandler, CredentialEvents } from '../kernel/events.ts';
import type { AuthCache } from './auth-cache.ts';

export function invalidationChannel(prefix: string): string {
  return `${prefix}credentials-changed`;
}

function apply(cache: AuthCache, change: Pick<CredentialChange, 'userId' | 'tokenId' | 'kind'>): void {
  if (change.kind === 'oauth') cache.invalidateOAuthTokens();
  else if (change.tokenId !== undefined) cache.invalidateToken(change.tokenId);
  else cache.invalidateUser(change.userId);
}

export type CredentialEventsOptions = {
  /** This process's caches (the CLI's stay empty: it never signs anyone in). */
  cache: AuthCache;
  redis?: Redis | undefined;
  prefix: string;
  onError?: (error: Error) => void;
  /** Run inside the transaction of every change, in order. */
  handlers?: readonly CredentialChangeHandler[];
};

export function credentialEvents(options: CredentialEventsOptions): CredentialEvents {
  const handlers = options.handlers ?? [];
  return {
    async changing(trx, change) {
      for (const handler of handlers) await handler(trx, change);
    },
    changed(change) {
      apply(options.cache, change);
      options.redis?.publish(invalidationChannel(options.prefix), JSON.stringify(change)).catch((error: Error) => options.onError?.(error));
    },
  };
}

/** Applies changes announced by other processes. `subscriber` must be a connection of its own. */
export async function subscribeToCredentialChanges(subscriber: Redis, cache: AuthCache, prefix: string): Promise<void> {
  const channel = invalidationChannel(prefix);
  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    try {
      const change = JSON.parse(message) as CredentialChange;
      if (Number.isSafeInteger(change.userId)) apply(cache, change);
    } catch {
      // not one of ours: ignore
    }
  });
  if (subscriber.status === 'wait') await subscriber.connect(); // a lazy connection
  await subscriber.subscribe(channel);
}
