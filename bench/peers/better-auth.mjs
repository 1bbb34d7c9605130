// better-auth on SQLite (better-sqlite3) or PostgreSQL, as `npm run bench:peers` measures it: its
// handler on node:http, email-and-password accounts signed up through the API; the request is
// GET /api/auth/get-session with the session cookie. Its rate limiter is off (it would answer 429
// to a benchmark), nothing else is changed. Prints one JSON line like parse-server.mjs.
import { createServer } from 'node:http';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { toNodeHandler } from 'better-auth/node';

const url = process.env.PEER_DATABASE_URL;
const users = Number(process.env.PEER_USERS ?? '50');
if (!url) throw new Error('PEER_DATABASE_URL is not set');

let database;
if (url.startsWith('postgres')) {
  const { default: pg } = await import('pg');
  database = new pg.Pool({ connectionString: url });
} else {
  const { default: Sqlite } = await import('better-sqlite3');
  database = new Sqlite(url.replace(/^sqlite:/, ''));
  database.pragma('journal_mode = WAL');
}

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const origin = `http://127.0.0.1:${port}`;
const auth = betterAuth({
  database,
  baseURL: origin,
  secret: 'a bench secret of at least thirty-two characters',
  emailAndPassword: { enabled: true },
  rateLimit: { enabled: false },
  logger: { level: 'error' },
});
const { runMigrations } = await getMigrations(auth.options);
await runMigrations();
server.on('request', toNodeHandler(auth));

const requests = [];
for (let i = 0; i < users; i++) {
  const response = await fetch(`${origin}/api/auth/sign-up/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin },
    body: JSON.stringify({ email: `peer${i}@example.com`, password: 'a bench password 1', name: `Peer ${i}` }),
  });
  const cookie = response.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  if (!response.ok || !cookie) throw new Error(`sign-up failed (${response.status}): ${await response.text()}`);
  requests.push([{ method: 'GET', path: '/api/auth/get-session', headers: { cookie } }]);
}
process.stdout.write(`${JSON.stringify({ port, requests })}\n`);
process.once('SIGTERM', () => process.exit(0));
