// Announcing that credentials changed (password set, account (de)activated, token revoked), so
// caches drop them: locally at once, and in every other process at once when Redis is there
// (publish/subscribe). Without Redis other processes see the change when their cache entries
// expire (AUTH_CACHE_TTL_MS), well within the 5 seconds promised.
import type { Redis } from 'ioredis';
import type { AuthCache } from './auth-cache.ts';

export type CredentialChange = { userId: number; tokenId?: number };

export type CredentialEvents = { changed(change: CredentialChange): void };

export function invalidationChannel(prefix: string): string {
  return `${prefix}credentials-changed`;
}

function apply(cache: AuthCache, change: CredentialChange): void {
  if (change.tokenId !== undefined) cache.invalidateToken(change.tokenId);
  else cache.invalidateUser(change.userId);
}

/** For a process that announces only (the CLI) or that also caches (the server). */
export function credentialEvents(options: { cache?: AuthCache; redis?: Redis | undefined; prefix: string; onError?: (error: Error) => void }): CredentialEvents {
  return {
    changed(change) {
      if (options.cache) apply(options.cache, change);
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
