// What services need from the outside world, passed in explicitly (no container).
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { Store } from './db/store.ts';
import type { AuthCache } from '../auth/auth-cache.ts';
import type { CredentialEvents } from '../auth/credential-events.ts';

export type Deps = {
  config: Config;
  store: Store;
  clock: Clock;
  /** The server's caches of credentials and path users; the CLI has none. */
  authCache?: AuthCache | undefined;
  /** Told when credentials change, so every process's caches drop them. */
  credentialEvents?: CredentialEvents | undefined;
};
