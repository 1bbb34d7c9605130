#!/usr/bin/env node
// The `accounts` command. The sources are TypeScript run directly by Node's type stripping
// (Node 22.18+; the project pins Node 24 through the `node` package, which npm scripts and
// `npx accounts` put first on PATH).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `accounts: error: Node.js ${process.versions.node} is too old; run through npm (npx accounts, npm start), which uses the pinned Node 24\n`,
  );
  process.exit(1);
}
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
