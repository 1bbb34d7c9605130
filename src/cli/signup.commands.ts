import type { Command } from 'commander';
import { parseDuration } from './duration.ts';
import { out, say, withDeps } from './context.ts';

// Each action imports the service it calls: see main.ts.
const service = () => import('../signup/signup.service.ts');

export function registerInviteCommands(program: Command): void {
  const invite = program.command('invite').description('invitations to sign up (SIGNUP=invite)');

  invite
    .command('create')
    .description('make an invitation for one address; its link is printed once, alone on the last line of standard output')
    .requiredOption('--email <address>', 'the address the invitation is for: only it can sign up with the link')
    .option('--expires-in <duration>', 'lifetime, e.g. 12h, 7d, 2w (default: 7d)')
    .action(async (options: { email: string; expiresIn?: string }) => {
      const expiresInMs = options.expiresIn === undefined ? undefined : parseDuration(options.expiresIn);
      const { createInvitation } = await service();
      const created = await withDeps(async (deps) => {
        // An invitation made while sign-up is not by invitation would open a page that is not there.
        if (deps.config.signup !== 'invite') say(`Note: SIGNUP is ${deps.config.signup}; the link works only while SIGNUP=invite.`);
        return createInvitation(deps, { email: options.email, ...(expiresInMs !== undefined ? { expiresInMs } : {}) });
      });
      say(`Created an invitation for ${created.email}, expiring ${created.expiresAt}. It works once; the link is shown only this once.`);
      out(created.link);
    });
}
