// The optional Redis connection (REDIS_URL). What instances must share lives there; when Redis
// is unreachable each instance carries on with its own in-memory state (see login-throttle.ts).
import { Redis } from 'ioredis';

export async function connectRedis(url: string, onError: (error: Error) => void): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    // Fail commands at once while disconnected (the in-memory fallback answers instead)
    // rather than queueing them and making requests wait.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectionName: 'accounts',
  });
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => {
    lastError = error;
    onError(error);
  });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect(); // stop reconnecting, or the process would never exit
    throw lastError ?? error;
  }
  return redis;
}
