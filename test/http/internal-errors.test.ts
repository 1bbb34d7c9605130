// An unexpected failure is a 500 that says nothing about its cause; the cause goes to the log.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { basic, buildTestApp, makeUser, type TestApp } from '../support/app.ts';

let t: TestApp;
let logs = '';
let auth: string;

beforeAll(async () => {
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      logs += chunk.toString();
      done();
    },
  });
  t = await buildTestApp({ env: { LOG_LEVEL: 'info' }, logStream });
  const user = await makeUser(t.deps, { username: 'brokenuser' });
  auth = basic('brokenuser', user.password);
});
afterAll(() => t.close());

it('answers 500 internal_error without SQL or a stack trace when the database fails', async () => {
  // Break the schema under the running app: the next query fails inside the driver.
  await t.store.write(async (trx) => {
    await trx.schema.alterTable('emails').renameTo('emails_gone').execute();
  });
  const res = await t.app.inject({ method: 'GET', url: '/api/v1.1/users/brokenuser/emails/', headers: { authorization: auth } });
  expect(res.statusCode).toBe(500);
  expect(res.json()).toEqual({ detail: 'Internal server error.', code: 'internal_error' });
  expect(res.body).not.toMatch(/emails|sqlite|relation|SELECT|at /i);
  expect(logs).toMatch(/no such table: emails|relation \\"emails\\" does not exist/);
  expect(logs).not.toContain(auth.slice(6));
});
