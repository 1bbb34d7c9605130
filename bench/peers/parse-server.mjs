// Parse Server on PostgreSQL, as `npm run bench:peers` measures it: its REST API behind Express,
// N users signed up through the API; the request is GET /parse/users/me with the session token.
// Prints one JSON line: {"port":N,"requests":[[{method,path,headers}], …]} (one list per user).
import { createServer } from 'node:http';
import express from 'express';
import { ParseServer } from 'parse-server';

const databaseURI = process.env.PEER_DATABASE_URL;
const users = Number(process.env.PEER_USERS ?? '50');
if (!databaseURI) throw new Error('PEER_DATABASE_URL is not set');

const app = express();
const server = createServer(app);
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const appId = 'bench';
const parse = new ParseServer({
  databaseURI,
  appId,
  masterKey: 'bench-master-key',
  serverURL: `http://127.0.0.1:${port}/parse`,
  logLevel: 'error',
  logsFolder: null,
  silent: true,
});
await parse.start();
app.use('/parse', parse.app);

const headers = { 'x-parse-application-id': appId, 'content-type': 'application/json' };
const requests = [];
for (let i = 0; i < users; i++) {
  const response = await fetch(`http://127.0.0.1:${port}/parse/users`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ username: `peer${i}`, password: 'a bench password 1', email: `peer${i}@example.com` }),
  });
  const body = await response.json();
  if (!body.sessionToken) throw new Error(`sign-up failed: ${JSON.stringify(body)}`);
  requests.push([{ method: 'GET', path: '/parse/users/me', headers: { 'x-parse-application-id': appId, 'x-parse-session-token': body.sessionToken } }]);
}
process.stdout.write(`${JSON.stringify({ port, requests })}\n`);
process.once('SIGTERM', () => process.exit(0));
