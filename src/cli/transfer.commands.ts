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
    .addHelpText('after', '\nExample: accounts export > dump.jsonl\nThe dump holds password hashes, token digests and client secret digests: keep it as safe as the database.\nOAuth grants and tokens are not exported: users authorise applications again after a move.\nSecond factors (authenticator apps, passkeys, recovery codes) are not exported either: their owners set them up again.')
    .action(async () => {
      const [{ exportDump }, { countAccountsWithTwoFactor }] = await Promise.all([service(), import('../two-factor/two-factor.service.ts')]);
      const { counts, withTwoFactor } = await withDeps(async (deps) => ({ counts: await exportDump(deps, writeOut), withTwoFactor: await countAccountsWithTwoFactor(deps) }));
      say(`Exported ${counts.users} users, ${counts.emails} emails, ${counts.tokens} tokens, ${counts.clients} OAuth clients.`);
      // Said, not silent: after an import these accounts sign in with the password alone until set up again.
      if (withTwoFactor > 0) say(`Not exported: the second factors of ${withTwoFactor} account${withTwoFactor === 1 ? '' : 's'} with two-factor authentication on; after an import they sign in with the password alone until they set them up again.`);
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
