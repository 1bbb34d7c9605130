// What services need from the outside world, passed in explicitly (no container).
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { Store } from './db/connect.ts';

export type Deps = {
  config: Config;
  store: Store;
  clock: Clock;
};
