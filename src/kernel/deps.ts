// What services are given, passed in explicitly (no container): the configuration, the store,
// the clock, and small interfaces whose implementations live in the layers above (password
// hashing in src/auth, the events' subscribers in the features). src/wiring.ts makes them, the
// same way for the server and the CLI.
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { Store } from './db/store.ts';
import type { CredentialEvents } from './events.ts';
import type { SecretBox } from './secret-box.ts';

/**
 * Password hashing, bounded per process (HASH_CONCURRENCY checks at once, HASH_QUEUE waiting);
 * past that it throws the 503 `service_unavailable` at once.
 */
export type PasswordHasher = {
  hash(password: string): Promise<string>;
  /** With no hash (unknown user, no password set) it spends the same time, then answers false. */
  verify(passwordHash: string | null | undefined, password: string): Promise<boolean>;
};

export type Deps = {
  config: Config;
  store: Store;
  clock: Clock;
  passwords: PasswordHasher;
  credentialEvents: CredentialEvents;
  /** Seals the secrets the service must read back (TOTP secrets): ./secret-box.ts. */
  secrets: SecretBox;
};
