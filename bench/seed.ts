// The benchmark's dataset: a migrated SQLite database with N users, 3 addresses each (the first
// primary and verified) and 2 access tokens each, written straight into the tables with
// better-sqlite3 prepared statements in one transaction (no services, no HTTP).
//
// - Every user has the same password hash: ONE argon2id hash (today's parameters) computed once
//   and reused, since hashing 100,000 passwords would take a quarter of an hour for nothing.
// - Token digests are random bytes, except for the bench users (up to BENCH_USER_COUNT, spread
//   evenly over the id range), whose first token is a real one kept in the cache's JSON file.
// - users.email_count is never written: the triggers keep it, as in production.
//
// Seeded databases are cached under bench/.cache/ (gitignored), keyed by size, the seed's format
// and the migrations; each run works on a fresh copy, so every run starts from the same state.
//
// `node bench/seed.ts [USERS]` seeds (or finds) the cached database for USERS users.
import { sha256Hex } from '../src/kernel/crypto.ts';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { HASH_OPTIONS } from '../src/auth/passwords.ts';
import { hash } from '@node-rs/argon2';
import { formatMicros } from '../src/kernel/clock.ts';

import { apiResource } from '../src/oauth/paths.ts';
import { openStore } from '../src/kernel/db/connect.ts';
import { migrateToLatest } from '../src/kernel/db/migrate.ts';
import { migrations } from '../src/kernel/db/migrations/index.ts';
import { SCOPES, TOKEN_SCOPES } from '../src/auth/scopes.ts';
import { TOKEN_PREFIX, generateToken, tokenHint } from '../src/auth/token-format.ts';

/** Bump when the generated data changes, so that cached databases are rebuilt. */
const SEED_FORMAT = 4;
export const BENCH_USER_COUNT = 100;
export const CACHE_DIR = join(import.meta.dirname, '.cache');

export type BenchUser = { id: number; username: string; token: string; oauthToken: string };

/** The bench server's PUBLIC_URL: OAuth access tokens are issued for its API (their audience). */
export const BENCH_PUBLIC_URL = 'https://accounts.example.com';

export type SeededDatabase = {
  /** The cached file: never open it for writing; copy it with copyDatabase(). */
  path: string;
  users: number;
  addresses: number;
  tokens: number;
  bytes: number;
  /** Every user's password (one hash for all). */
  password: string;
  /** Active users with a password and a known token carrying every scope. */
  benchUsers: BenchUser[];
  seededInMs: number;
  /** False when this call seeded it. */
  fromCache: boolean;
};

type CacheMeta = Omit<SeededDatabase, 'path' | 'bytes' | 'fromCache'>;

function cacheKey(users: number): string {
  const schema = createHash('sha256').update(migrations.map((m) => m.name).join('\n')).digest('hex').slice(0, 10);
  return `users-${users}-f${SEED_FORMAT}-${schema}`;
}

/** The cached database for `users` users, seeding it first when there is none. */
export async function seededDatabase(users: number, log: (line: string) => void = () => undefined): Promise<SeededDatabase> {
  if (!Number.isSafeInteger(users) || users < 1) throw new Error(`bench: the user count must be a positive integer (got ${users})`);
  const key = cacheKey(users);
  const dbPath = join(CACHE_DIR, `${key}.db`);
  const metaPath = join(CACHE_DIR, `${key}.json`);
  if (existsSync(dbPath) && existsSync(metaPath)) {
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as CacheMeta;
    log(`dataset: cached ${dbPath}`);
    return { ...meta, path: dbPath, bytes: statSync(dbPath).size, fromCache: true };
  }

  log(`dataset: seeding ${users.toLocaleString('en-US')} users (cached afterwards in ${CACHE_DIR})`);
  const workDir = mkdtempSync(join(tmpdir(), 'accounts-seed-'));
  try {
    const fresh = join(workDir, 'seed.db');
    const started = performance.now();
    const meta = await seed(fresh, users);
    meta.seededInMs = Math.round(performance.now() - started);
    log(`dataset: seeded in ${(meta.seededInMs / 1000).toFixed(1)} s`);
    // Into the cache atomically: a seed interrupted half-way is never mistaken for a whole one.
    mkdirSync(CACHE_DIR, { recursive: true });
    copyFileSync(fresh, `${dbPath}.partial`);
    renameSync(`${dbPath}.partial`, dbPath);
    writeFileSync(metaPath, `${JSON.stringify(meta, null, 2)}\n`);
    return { ...meta, path: dbPath, bytes: statSync(dbPath).size, fromCache: false };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** A private copy of a seeded database for one server run. */
export function copyDatabase(seeded: SeededDatabase, dir: string, name: string): string {
  const target = join(dir, `${name}.db`);
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${target}${suffix}`, { force: true });
  copyFileSync(seeded.path, target);
  return target;
}

// ---------------------------------------------------------------------------------------------
// The generator. Deterministic apart from secrets (password, token digests): a small PRNG picks
// names and fields, so two seeds of one size hold the same people.

const FIRST = ['james', 'mary', 'wei', 'fatima', 'olivia', 'liam', 'noah', 'emma', 'ava', 'lucas', 'mia', 'aarav', 'sofia', 'yuki', 'mateo', 'chloe', 'ethan', 'amara', 'leon', 'hana', 'ivan', 'zoe', 'omar', 'nina', 'pedro', 'grace', 'kofi', 'ines', 'sven', 'priya', 'diego', 'elif', 'jonas', 'lea', 'arjun', 'maya', 'tomas', 'sara', 'hugo', 'anya'];
const LAST = ['smith', 'garcia', 'chen', 'muller', 'rossi', 'kowalski', 'nguyen', 'silva', 'johnson', 'tanaka', 'okafor', 'dubois', 'jensen', 'novak', 'ivanova', 'kim', 'patel', 'hernandez', 'schmidt', 'lopez', 'brown', 'wilson', 'moreau', 'costa', 'yilmaz', 'andersson', 'haddad', 'fischer', 'martin', 'popescu', 'oconnor', 'nakamura', 'mensah', 'lindqvist', 'romero', 'weber', 'kumar', 'horvat', 'santos', 'berg'];
const CITIES = ['Berlin, Germany', 'San Francisco, CA', 'London, UK', 'Paris, France', 'Bangalore, India', 'Tokyo, Japan', 'São Paulo, Brazil', 'Toronto, Canada', 'Amsterdam, Netherlands', 'Seattle, WA', 'Lagos, Nigeria', 'Stockholm, Sweden', 'Austin, TX', 'Warsaw, Poland', 'Zürich, Switzerland', 'Sydney, Australia', 'Madrid, Spain', 'Seoul, South Korea', 'Dublin, Ireland', 'New York, NY', 'Lisbon, Portugal', 'Prague, Czechia', 'Nairobi, Kenya', 'Singapore'];
const COMPANIES = ['Acme Corp', 'Initech', 'Globex', 'Umbrella Labs', 'Hooli', 'Stark Industries', 'Wayne Enterprises', 'Cyberdyne Systems', 'Soylent', 'Vandelay Industries', 'Aperture Science', 'Tyrell Corp', 'Massive Dynamic', 'Wonka Industries', 'Pied Piper', 'Dunder Mifflin', 'Oscorp', 'Monsters Inc', 'Gringotts', 'Black Mesa'];
const PROVIDERS = ['gmail.com', 'outlook.com', 'yahoo.com', 'proton.me', 'fastmail.com', 'icloud.com', 'hey.com', 'mailbox.org', 'gmx.de', 'web.de'];
const TOKEN_NAMES = ['laptop', 'ci', 'github actions', 'build server', 'desktop', 'deploy', 'jenkins', 'work laptop', 'gitlab runner', 'home'];

/** mulberry32: small, fast, good enough to pick names. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

async function seed(path: string, users: number): Promise<CacheMeta> {
  // The schema exactly as the service makes it.
  const store = openStore({ dialect: 'sqlite', path });
  try {
    await migrateToLatest(store);
  } finally {
    await store.close();
  }

  const password = `bench-${randomBytes(12).toString('base64url')}`;
  const passwordHash = await hash(password, HASH_OPTIONS); // once, for everyone

  const db = new Sqlite(path);
  // Bulk load: no journal, no fsync (a seed that dies is thrown away, never used).
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  db.pragma('temp_store = MEMORY');
  db.pragma('foreign_keys = ON');

  const insertUser = db.prepare(
    `INSERT INTO users (id, username, password_hash, full_name, location, company, profile_url, gravatar_email, is_active, date_joined, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
  );
  const insertEmail = db.prepare(`INSERT INTO emails (user_id, email, email_key, verified, is_primary, created_at) VALUES (?, ?, ?, ?, ?, ?)`);
  const insertToken = db.prepare(
    `INSERT INTO access_tokens (user_id, name, token_digest, token_hint, scopes, created_at, expires_at, last_used_at, revoked_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );

  // The bench users' OAuth access tokens, stored as the authorization server's adapter stores
  // them (src/oauth/adapter.ts): under the token's digest, the payload without its id.
  const insertArtifact = db.prepare(
    `INSERT INTO oauth_artifacts (model, id, payload, grant_id, uid, user_code, account_id, client_id, expires_at, consumed_at)
     VALUES (?, ?, ?, ?, NULL, NULL, ?, 'bench', ?, NULL)`,
  );
  const oauthExpiry = Math.floor(Date.now() / 1000) + 10 * 365 * 86_400;

  const benchCount = Math.min(BENCH_USER_COUNT, users);
  const benchIds = new Set<number>();
  for (let k = 0; k < benchCount; k++) benchIds.add(Math.floor(((k + 0.5) * users) / benchCount) + 1);
  const benchUsers: BenchUser[] = [];

  const random = prng(0x5eed + users);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const nowUs = Date.now() * 1000;
  const spanUs = 10 * 365 * 86_400 * 1e6; // accounts made over ten years, in id order
  const dayUs = 86_400 * 1e6;
  // Random digests for everyone else: 32 random bytes each, drawn in large blocks.
  let pool = Buffer.alloc(0);
  let poolAt = 0;
  const randomHex = (bytes: number): string => {
    if (poolAt + bytes > pool.length) {
      pool = randomBytes(1 << 20);
      poolAt = 0;
    }
    poolAt += bytes;
    return pool.toString('hex', poolAt - bytes, poolAt);
  };
  const randomHint = (): string => {
    let out = TOKEN_PREFIX;
    for (let i = 0; i < 4; i++) out += BASE62[Math.floor(random() * 62)];
    return out;
  };
  const randomScopes = (): string => SCOPES.filter((_, i) => i === 0 || random() < 0.5).join(' ');

  let addresses = 0;
  let tokens = 0;
  db.transaction(() => {
    for (let id = 1; id <= users; id++) {
      const isBench = benchIds.has(id);
      const first = pick(FIRST);
      const last = pick(LAST);
      const username = `${first}${last}${id}`; // [a-z0-9], at most 29 characters
      const joinedUs = nowUs - spanUs + Math.floor(((id - 1) / users) * spanUs) + Math.floor(random() * 3_600e6);
      const joined = formatMicros(joinedUs);
      const updated = formatMicros(Math.min(nowUs, joinedUs + Math.floor(random() * 400 * dayUs)));
      const company = random() < 0.4 ? pick(COMPANIES) : '';
      const companyDomain = `${(company || pick(COMPANIES)).toLowerCase().replace(/[^a-z]/g, '')}.example`;
      const primary = `${first}.${last}${id}@${pick(PROVIDERS)}`;
      const work = `${first[0]}${last}${id}@${companyDomain}`;
      const other = `${last}.${first}.${id}@${pick(PROVIDERS)}`;
      insertUser.run(
        id,
        username,
        passwordHash,
        random() < 0.8 ? `${first[0]!.toUpperCase()}${first.slice(1)} ${last[0]!.toUpperCase()}${last.slice(1)}` : '',
        random() < 0.6 ? pick(CITIES) : '',
        company,
        random() < 0.2 ? `https://github.com/${username}` : '',
        random() < 0.1 ? other : '',
        joined,
        updated,
      );
      // Addresses: display form = key here (ASCII, lower case), as parseEmail would make them.
      insertEmail.run(id, primary, primary, 1, 1, joined);
      insertEmail.run(id, work, work, random() < 0.7 ? 1 : 0, 0, formatMicros(joinedUs + Math.floor(random() * 100 * dayUs)));
      insertEmail.run(id, other, other, random() < 0.5 ? 1 : 0, 0, formatMicros(joinedUs + Math.floor(random() * 200 * dayUs)));
      addresses += 3;

      for (let t = 0; t < 2; t++) {
        const createdUs = joinedUs + Math.floor(random() * 300 * dayUs);
        if (isBench && t === 0) {
          // A real token: every scope (the registry's too), no expiry, never used yet.
          const token = generateToken();
          insertToken.run(id, 'bench', sha256Hex(token), tokenHint(token), TOKEN_SCOPES.join(' '), formatMicros(createdUs), null, null, null);
          const oauthToken = randomBytes(32).toString('base64url');
          const payload = { iat: Math.floor(Date.now() / 1000), exp: oauthExpiry, accountId: String(id), clientId: 'bench', grantId: `bench-${id}`, scope: SCOPES.join(' '), aud: apiResource(BENCH_PUBLIC_URL), kind: 'AccessToken' };
          const grantId = `bench-${id}`;
          const grant = { iat: payload.iat, exp: oauthExpiry, accountId: String(id), clientId: 'bench', resources: { [payload.aud]: payload.scope }, kind: 'Grant' };
          insertArtifact.run('Grant', sha256Hex(grantId), JSON.stringify(grant), grantId, String(id), formatMicros(oauthExpiry * 1e6));
          insertArtifact.run('AccessToken', sha256Hex(oauthToken), JSON.stringify(payload), grantId, String(id), formatMicros(oauthExpiry * 1e6));
          benchUsers.push({ id, username, token, oauthToken });
        } else {
          const expires = random() < 0.3 ? formatMicros(nowUs + Math.floor(random() * 365 * dayUs)) : null;
          const lastUsed = random() < 0.5 ? formatMicros(nowUs - Math.floor(random() * 30 * dayUs)) : null;
          const revoked = !isBench && random() < 0.05 ? formatMicros(nowUs - Math.floor(random() * 60 * dayUs)) : null;
          insertToken.run(id, pick(TOKEN_NAMES), randomHex(32), randomHint(), randomScopes(), formatMicros(createdUs), expires, lastUsed, revoked);
        }
        tokens += 1;
      }
    }
  })();

  db.pragma('journal_mode = DELETE'); // one self-contained file; the server switches it to WAL
  const problems = db.pragma('foreign_key_check') as unknown[];
  db.close();
  if (problems.length > 0) throw new Error(`bench: the seeded database fails foreign_key_check (${problems.length} rows)`);
  return { users, addresses, tokens, password, benchUsers, seededInMs: 0 };
}

if (process.argv[1] === import.meta.filename) {
  const users = Number(process.argv[2] ?? process.env.BENCH_USERS ?? 100_000);
  const seeded = await seededDatabase(users, (line) => process.stdout.write(`${line}\n`));
  process.stdout.write(`${seeded.path}: ${(seeded.bytes / 2 ** 20).toFixed(0)} MiB, ${seeded.users} users, ${seeded.addresses} addresses, ${seeded.tokens} tokens\n`);
}
