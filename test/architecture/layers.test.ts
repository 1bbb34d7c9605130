// The layering rule of `npm run lint` (.dependency-cruiser.cjs) fails the build on what it must:
// run on a small tree that breaks each rule once, it names every one of them; the real tree
// passes (npm run lint checks that on every build).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/processes.ts';

const FIXTURE: Record<string, string> = {
  'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', allowImportingTsExtensions: true, noEmit: true } }),
  // upward, and (with auth/principal.ts) a cycle made only of type imports
  'src/kernel/deps.ts': "import type { Principal } from '../auth/principal.ts';\nexport type Deps = { who?: Principal };\n",
  'src/auth/principal.ts': "import type { Deps } from '../kernel/deps.ts';\nexport type Principal = { deps?: Deps };\n",
  // the API glue importing a feature
  'src/http/access.ts': "import { getUser } from '../users/users.service.ts';\nexport const a = getUser;\n",
  // a feature reading another feature's table directly
  'src/emails/emails.service.ts': "import { findUserById } from '../users/users.repository.ts';\nexport const e = findUserById;\n",
  'src/users/users.service.ts': 'export const getUser = 1;\n',
  'src/users/users.repository.ts': 'export const findUserById = 2;\n',
  // a feature importing the wiring
  'src/tokens/tokens.service.ts': "import { createDeps } from '../wiring.ts';\nexport const t = createDeps;\n",
  'src/wiring.ts': 'export const createDeps = 3;\n',
  // a folder no layer names
  'src/misc/thing.ts': "import { getUser } from '../users/users.service.ts';\nexport const m = getUser;\n",
};

const dir = mkdtempSync(join(tmpdir(), 'layers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run lint: the layering rule', () => {
  it('fails on a cycle (type-only), an upward import, a feature in the glue, another feature’s repository, the app from a feature, an unknown folder', () => {
    for (const [path, text] of Object.entries(FIXTURE)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    let output = '';
    let failed = false;
    try {
      execFileSync(join(ROOT, 'node_modules', '.bin', 'depcruise'), ['src', '--config', join(ROOT, '.dependency-cruiser.cjs'), '--output-type', 'err'], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      failed = true;
      output = String((error as { stdout?: unknown }).stdout ?? '');
    }
    expect(failed).toBe(true);
    expect(output).toMatch(/no-cycles: src\/(kernel\/deps|auth\/principal)\.ts/);
    expect(output).toMatch(/kernel-imports-only-kernel: src\/kernel\/deps\.ts → src\/auth\/principal\.ts/);
    expect(output).toMatch(/glue-imports-no-feature: src\/http\/access\.ts → src\/users\/users\.service\.ts/);
    expect(output).toMatch(/no-other-features-repository: src\/emails\/emails\.service\.ts → src\/users\/users\.repository\.ts/);
    expect(output).toMatch(/features-do-not-import-the-app: src\/tokens\/tokens\.service\.ts → src\/wiring\.ts/);
    expect(output).toMatch(/no-unknown-folder: src\/misc\/thing\.ts/);
    // A feature's own repository, and another feature's service, are allowed.
    expect(output).not.toMatch(/users\.service\.ts → src\/users\/users\.repository\.ts/);
  });
});
