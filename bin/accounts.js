#!/usr/bin/env node
// The `accounts` command. The sources are TypeScript run directly by Node's type stripping
// (Node 22.18+; the project pins Node 24 through the `node` package, which npm scripts and
// `npx accounts` put first on PATH).
// enableCompileCache is looked up, not imported by name: on a Node without it, the import would
// fail before the check below could explain.
import module from 'node:module';
import { fileURLToPath } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `accounts: error: Node.js ${process.versions.node} is too old; run through npm (npx accounts, npm start), which uses the pinned Node 24\n`,
  );
  process.exit(1);
}
// Stripping the types of every source file and compiling it again is a large part of a start
// (0.3 s of CPU for the server); Node keeps the results on disk when asked. Under the install's
// own node_modules rather than the shared temporary directory, where another local user could
// plant compiled code; where it is not writable, Node quietly goes without. NODE_COMPILE_CACHE
// chooses another directory, NODE_DISABLE_COMPILE_CACHE=1 turns it off.
module.enableCompileCache({ directory: fileURLToPath(new URL('../node_modules/.cache/accounts-compile', import.meta.url)) });
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
