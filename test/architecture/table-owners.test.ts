// Each table is written by the feature that owns it: another feature changes it through that
// feature's service (dependency-cruiser sees imports, not SQL, so this test reads the SQL).
// Reading another feature's table in a join is allowed: an answer that needs the owner's name
// gets it in the same query. The exceptions are named here with their reason.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/processes.ts';

/** Table → the folders of src/ that may insert into, update or delete from it. */
const OWNERS: Record<string, readonly string[]> = {
  // auth: the sign-in core upgrades a password hash made with weaker parameters as it signs in.
  users: ['users', 'auth'],
  deleted_accounts: ['users'],
  emails: ['emails'],
  email_verifications: ['emails'],
  access_tokens: ['tokens'],
  audit_events: ['audit'],
  sessions: ['account'],
  password_resets: ['account'],
  oauth_artifacts: ['oauth'],
  oauth_login_session_details: ['oauth'],
  oauth_clients: ['oauth'],
  oauth_secrets: ['oauth'],
  schema_migrations: ['kernel'],
  invitations: ['signup'],
  totp_authenticators: ['two-factor'],
  recovery_codes: ['two-factor'],
  passkeys: ['two-factor'],
  sign_in_steps: ['two-factor'],
  service_keys: ['kernel'],
  registry_keys: ['registry'],
  registry_admins: ['registry'],
  registry_refresh_tokens: ['registry'],
  idempotency_keys: ['http'],
};
// `accounts import` restores every table of a dump, in one transaction, checked as a whole.
const WRITES_EVERYTHING = ['transfer'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'migrations' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('who writes which table', () => {
  it('every write names a known table and comes from a folder that owns it', () => {
    const writes: string[] = [];
    for (const file of sourceFiles(join(ROOT, 'src'))) {
      const path = relative(ROOT, file);
      const folder = path.split('/')[1]!;
      for (const match of readFileSync(file, 'utf8').matchAll(/\b(insertInto|updateTable|deleteFrom)\(\s*'([a-z_]+)'/g)) {
        const table = match[2]!;
        writes.push(`${path} ${table}`);
        if (WRITES_EVERYTHING.includes(folder)) continue;
        expect(OWNERS[table], `${path} writes ${table}, which no folder owns`).toBeDefined();
        expect(OWNERS[table], `${path} writes ${table}, owned by ${OWNERS[table]?.join(', ')}`).toContain(folder);
      }
    }
    // The scan found the writes there are (it would pass on nothing if the pattern went stale).
    expect(writes).toContain('src/users/users.repository.ts users');
    expect(writes).toContain('src/emails/emails.repository.ts emails');
    expect(writes.length).toBeGreaterThan(20);
  });
});
