// Connections from slow or oversized clients, on a real socket: the documented time-outs hold
// (to within Node's check interval), and a refused body's 413 reaches the client.
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, buildTestApp, makeUser, type TestApp } from '../support/app.ts';
import { LINGER_MAX_BYTES } from '../../src/http/linger.ts';

// The real figures are 10 s and 30 s; the same code with shorter ones keeps the test short.
const HEADERS_MS = 1_000;
const REQUEST_MS = 2_500;

let t: TestApp;
let port: number;
beforeAll(async () => {
  t = await buildTestApp({ httpTimeouts: { headersMs: HEADERS_MS, requestMs: REQUEST_MS } });
  await makeUser(t.deps, { username: 'uploader' });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as AddressInfo).port;
});
afterAll(() => t.close());

/** Opens a connection, sends `first`, and resolves with what came back and when the server closed it. */
function sendAndWaitForClose(first: string): Promise<{ elapsedMs: number; received: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let received = '';
    const socket: Socket = connect({ host: '127.0.0.1', port }, () => socket.write(first));
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve({ elapsedMs: performance.now() - started, received }));
  });
}

describe('slow clients', () => {
  it('a client that never finishes its headers is cut off after the headers time-out, not Node’s 30 s check interval later', async () => {
    const { elapsedMs, received } = await sendAndWaitForClose('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    expect(elapsedMs).toBeGreaterThanOrEqual(HEADERS_MS * 0.9);
    // Node checks once a second at most here (a fifth of the time-out): the cut comes within it.
    expect(elapsedMs).toBeLessThan(HEADERS_MS + 2_000);
    expect(received).toMatch(/^HTTP\/1\.1 408/);
  });

  it('a client that never finishes its body is cut off after the request time-out', async () => {
    const head = 'POST /api/v1.1/users/uploader/emails/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n';
    const { elapsedMs } = await sendAndWaitForClose(`${head}Authorization: ${basic('uploader', 'correct horse battery staple')}\r\nContent-Length: 100\r\n\r\n{"email":`);
    expect(elapsedMs).toBeGreaterThanOrEqual(REQUEST_MS * 0.9);
    expect(elapsedMs).toBeLessThan(REQUEST_MS + 2_000);
  });
});

describe('too large a body', () => {
  it('fetch() reads the 413 while it is still sending a large body (the rest is read and discarded)', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(100_000));
    let sent = 0;
    // A body sent in parts, as a browser or a slow network would: the server refuses it long
    // before the client has finished.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent >= 100) return controller.close();
        sent++;
        await new Promise((resolve) => setTimeout(resolve, 2));
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(`http://127.0.0.1:${port}/api/v1.1/users/uploader/emails/`, {
      method: 'POST',
      body,
      duplex: 'half',
      headers: { 'content-type': 'application/json', authorization: basic('uploader', 'correct horse battery staple') },
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: 'request_too_large' });
    // The answer came while the body was still on its way.
    expect(sent).toBeLessThan(100);
  });

  it('gives up on a client that sends far more than that: the connection is closed past the bound', async () => {
    const total = LINGER_MAX_BYTES * 4;
    const outcome = await new Promise<{ written: number; received: string }>((resolve) => {
      let written = 0;
      let received = '';
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.write(`POST /account/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${total}\r\n\r\n`);
        const block = Buffer.alloc(1024 * 1024, 0x61);
        const pump = () => {
          while (written < total && !socket.destroyed) {
            written += block.length;
            if (!socket.write(block)) return void socket.once('drain', pump);
          }
        };
        pump();
      });
      socket.on('data', (data) => (received += data.toString('latin1')));
      socket.on('error', () => undefined); // the reset is the point
      socket.on('close', () => resolve({ written, received }));
    });
    expect(outcome.received).toMatch(/^HTTP\/1\.1 413/);
    expect(outcome.written).toBeLessThan(total);
  });
});
