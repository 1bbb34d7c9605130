// Makes src/schema.ts from the OpenAPI document the service serves, without a running server:
// the app is built in memory (SQLite in a temporary directory) and asked for /openapi.json.
// `node clients/typescript/generate-from-app.ts` from the repository's root; the test
// test/clients/typescript-client.test.ts fails when the committed file differs from this.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { schemaFromDocument } from './schema-from-document.ts';
import { buildTestApp } from '../../test/support/app.ts';

const t = await buildTestApp();
try {
  const document = (await t.app.inject({ url: '/openapi.json' })).json() as object;
  writeFileSync(join(import.meta.dirname, 'src/schema.ts'), await schemaFromDocument(document));
} finally {
  await t.close();
}
