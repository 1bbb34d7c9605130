// Every migration, in the order they apply. Names start with their date so they sort.
import type { Kysely } from 'kysely';
import * as initial from './2026-11-23-01-initial.ts';
import * as auditEvents from './2026-11-23-02-audit-events.ts';
import * as emailVerifications from './2026-11-23-03-email-verifications.ts';
import * as sessions from './2026-11-23-04-sessions.ts';
import * as oauth from './2026-11-23-05-oauth.ts';
import * as signup from './2026-12-02-01-signup.ts';
import * as passwordResets from './2026-12-02-02-password-resets.ts';
import * as deletedAccounts from './2026-12-02-03-deleted-accounts.ts';
import * as sessionDetails from './2026-12-02-04-session-details.ts';
import * as twoFactor from './2026-12-02-05-two-factor.ts';
import * as registry from './2026-12-02-06-registry.ts';
import * as idempotencyKeys from './2026-12-03-01-idempotency-keys.ts';

export type Migration = {
  name: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see the migrations themselves
  up(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void>;
};

export const migrations: readonly Migration[] = [initial, auditEvents, emailVerifications, sessions, oauth, signup, passwordResets, deletedAccounts, sessionDetails, twoFactor, registry, idempotencyKeys];
