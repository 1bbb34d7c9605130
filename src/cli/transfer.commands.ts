import { once } from 'node:events';
import type { Command } from 'commander';
import { say, withDeps } from './context.ts';

// Each action imports the service it calls: see main.ts.
const service = () => import('../transfer/transfer.service.ts');

/** Writes to standard output, waiting when the reader is slower than the database. */
async function writeOut(chunk: string): Promise<void> {
  if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
}

export function registerTransferCommands(program: Command): void {
  program
    .command('export')
    .description('write every user, email address, token digest and OAuth client to standard output as JSON Lines')
    .addHelpText('after', '\nExample: accounts export > dump.jsonl\nThe dump holds password hashes, token digests and client secret digests: keep it as safe as the database.\nOAuth grants and tokens are not exported: users authorise applications again after a move.')
    .action(async () => {
      const { exportDump } = await service();
      const counts = await withDeps((deps) => exportDump(deps, writeOut));
      say(`Exported ${counts.users} users, ${counts.emails} emails, ${counts.tokens} tokens, ${counts.clients} OAuth clients.`);
    });

  program
    .command('import')
    .description('read a dump written by `accounts export` from standard input and apply it in one transaction')
    .addHelpText(
      'after',
      '\nExample: accounts import < dump.jsonl\nEvery line is checked before anything is written; on any problem nothing is imported. Importing the same dump again changes nothing.',
    )
    .action(async () => {
      if (process.stdin.isTTY) throw new Error('standard input is a terminal; give the dump on standard input: accounts import < dump.jsonl');
      const { checkDump, applyDump } = await service();
      // Checked before the database is even opened: a bad dump leaves no trace.
      const dump = await checkDump(process.stdin);
      try {
        const summary = await withDeps((deps) => applyDump(deps, dump));
        say(
          `Imported ${summary.users} users (${summary.newUsers} new, ${summary.users - summary.newUsers} updated), ` +
            `${summary.emails} emails, ${summary.tokens} tokens, ${summary.clients} OAuth clients (${summary.newClients} new).`,
        );
      } finally {
        await dump.dispose();
      }
    });
}
