// The Fastify floor: bare Fastify (the framework this service is built on, no plugins, no hooks)
// answering every GET with the same status, headers and body bytes as one real response of the
// service, read from the JSON file named by argv[2] as for bench/ceiling.ts. What the framework
// alone costs over bare node:http. Prints {"port":N} once it listens on 127.0.0.1.
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

type Recorded = { status: number; headers: [string, string][]; bodyBase64: string };

const file = process.argv[2];
if (!file) throw new Error('usage: node bench/floor-fastify.ts RESPONSE.json');
const recorded = JSON.parse(readFileSync(file, 'utf8')) as Recorded;
const body = Buffer.from(recorded.bodyBase64, 'base64');
// Fastify sets Content-Length itself.
const headers = Object.fromEntries(recorded.headers.filter(([name]) => name.toLowerCase() !== 'content-length'));

const app = Fastify({ logger: false });
app.get('/*', (_request, reply) => {
  reply.code(recorded.status).headers(headers).send(body);
});
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ port: Number(new URL(address).port) })}\n`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
