// `accounts user delete`: deleting an account for good, from the command line. It cannot be
// undone, so on a terminal the operator types the username again; a script says --yes (without a
// terminal and without --yes nothing is deleted). The command sends no mail: the CLI has no
// mailer (the server's runs in the background, with retries, for the life of the process); the
// settings page's deletion does send one.
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { out, say, withMailingDeps } from './context.ts';

type TtyInput = NodeJS.ReadableStream & { isTTY?: boolean };

/** Asks on a terminal for the username again; true when it was typed as named. */
async function confirmed(username: string, stdin: TtyInput = process.stdin): Promise<boolean> {
  const prompt = createInterface({ input: stdin, output: process.stderr, terminal: true });
  try {
    const answer = await prompt.question(`This deletes ${username} and everything of theirs for good. Type the username to confirm: `);
    return answer.trim().toLowerCase() === username;
  } finally {
    prompt.close();
  }
}

/** Adds `delete` to the `user` command that registerUserCommands made. */
export function registerUserDeleteCommand(program: Command): void {
  const user = program.commands.find((c) => c.name() === 'user');
  if (!user) throw new Error('the user command must be registered first');
  user
    .command('delete')
    .description('delete a user for good: profile, addresses, tokens, applications’ access, sessions')
    .argument('<username>')
    .option('--yes', 'do not ask for confirmation (required when standard input is not a terminal)')
    .addHelpText('after', '\nThe id and the username are never given to anyone again. A mail confirms the deletion to the\nformer primary address (through SMTP_URL, or to the log).\nPrints the deleted account as JSON on standard output.')
    .action(async (name: string, options: { yes?: boolean }) => {
      const username = name.toLowerCase();
      if (!options.yes) {
        if (!(process.stdin as TtyInput).isTTY) throw new Error('standard input is not a terminal: pass --yes to delete without confirmation; nothing was deleted');
        if (!(await confirmed(username))) throw new Error('the username typed differs; nothing was deleted');
      }
      const { deleteAccount } = await import('../users/deletion.service.ts');
      const deleted = await withMailingDeps((deps) => deleteAccount(deps, username));
      say(
        `Deleted user ${deleted.username} (id ${deleted.id}): the profile, the email addresses (primary ${deleted.email}), the personal access tokens, the applications’ access and every session.`,
      );
      out(JSON.stringify({ id: deleted.id, username: deleted.username, email: deleted.email, deleted_at: deleted.deletedAt }));
    });
}
