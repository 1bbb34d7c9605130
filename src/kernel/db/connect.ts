// Opens the store the configuration names: SQLite (embedded, the default) or PostgreSQL.
import type { DatabaseConfig } from '../config.ts';
import type { Store } from './store.ts';
import { openPostgres } from './postgres.ts';
import { openSqlite } from './sqlite.ts';

export function openStore(config: DatabaseConfig): Store {
  return config.dialect === 'postgres' ? openPostgres(config) : openSqlite(config.path);
}
