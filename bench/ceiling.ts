// The ceiling: a bare node:http server that answers every request with the same status, headers
// and body bytes as one real response of the service (GET user with Bearer), read from the JSON
// file named by argv[2]. Nothing is parsed, looked up or logged: this is as fast as a Node HTTP
// answer of that size gets on this machine. Prints {"port":N} once it listens on 127.0.0.1.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

type Recorded = { status: number; headers: [string, string][]; bodyBase64: string };

const file = process.argv[2];
if (!file) throw new Error('usage: node bench/ceiling.ts RESPONSE.json');
const recorded = JSON.parse(readFileSync(file, 'utf8')) as Recorded;
const body = Buffer.from(recorded.bodyBase64, 'base64');
const headers = Object.fromEntries(recorded.headers);

const server = createServer((_request, response) => {
  response.writeHead(recorded.status, headers);
  response.end(body);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('ceiling: no TCP address');
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
