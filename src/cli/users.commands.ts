import type { Command } from 'commander';
import { out, readPassword, say, table, withDeps, withMailingDeps } from './context.ts';

// Each action imports the service it calls: see main.ts.
const service = () => import('../users/users.service.ts');

export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('manage user accounts');

  user
    .command('create')
    .description('create a user; the primary email is created verified')
    .argument('<username>', '4 to 30 lowercase letters and digits')
    .requiredOption('--email <email>', 'the primary email address')
    .option('--full-name <name>', 'the full name')
    .option('--password-stdin', 'read the password from the first line of standard input (on a terminal: asked for, not shown)')
    .addHelpText('after', '\nWithout --password-stdin the account has no password and can only use access tokens.\nPrints the new user as JSON on standard output.')
    .action(async (username: string, options: { email: string; fullName?: string; passwordStdin?: boolean }) => {
      const password = options.passwordStdin ? await readPassword({ prompt: `Password for ${username}: `, confirm: true }) : undefined;
      const { createUser } = await service();
      const created = await withDeps((deps) =>
        createUser(deps, {
          username,
          email: options.email,
          ...(options.fullName !== undefined ? { fullName: options.fullName } : {}),
          ...(password !== undefined ? { password } : {}),
        }),
      );
      say(`Created user ${created.username} (id ${created.id}).`);
      out(JSON.stringify(created));
    });

  user
    .command('set-password')
    .description("set a user's password, read from the first line of standard input")
    .argument('<username>')
    .requiredOption('--password-stdin', 'read the password from the first line of standard input (on a terminal: asked for, not shown)')
    .action(async (username: string) => {
      const password = await readPassword({ prompt: `New password for ${username}: `, confirm: true });
      const { setPassword } = await service();
      await withDeps((deps) => setPassword(deps, username, password));
      say(`Password of ${username.toLowerCase()} changed.`);
    });

  user
    .command('reset-link')
    .description('print a link with which the user can set a new password (works once, for 1 hour); nothing is mailed')
    .argument('<username>')
    .addHelpText('after', '\nFor an operator helping someone who forgot their password: hand the link over by a channel you trust.\nPrints the link alone on standard output.')
    .action(async (username: string) => {
      const { createResetLink } = await import('../account/password-reset.service.ts');
      const { link, expiresAt } = await withDeps((deps) => createResetLink(deps, username));
      say(`A password reset link for ${username.toLowerCase()}, valid once until ${expiresAt}:`);
      out(link);
    });

  user
    .command('2fa-reset')
    .description('turn two-factor authentication off for a user who lost every factor: removes their authenticator app, passkeys and recovery codes')
    .argument('<username>')
    .addHelpText('after', '\nCheck who is asking first: this leaves the password alone as the way in. Audited (two_factor_reset), and a\nmail tells the primary address. With REQUIRE_2FA=true the user sets up a new factor at the next sign-in.')
    .action(async (username: string) => {
      const [{ requireUser }, { turnOffTwoFactor }] = await Promise.all([service(), import('../two-factor/two-factor.service.ts')]);
      const { removed, name } = await withMailingDeps(async (deps) => {
        const found = await requireUser(deps, username);
        return { ...(await turnOffTwoFactor(deps, { id: found.id, username: found.username })), name: found.username };
      });
      say(removed ? `Turned two-factor authentication off for ${name}: every authenticator app, passkey and recovery code was removed.` : `${name} had no second factor; nothing was removed.`);
    });

  user
    .command('set-admin')
    .description("let a user list the Docker registry's catalog (registry:catalog:*), or with --off no longer")
    .argument('<username>')
    .option('--off', 'take it back')
    .action(async (username: string, options: { off?: boolean }) => {
      const [{ requireUser }, { setRegistryAdmin }] = await Promise.all([service(), import('../registry/admins.ts')]);
      const { changed, name } = await withDeps(async (deps) => {
        const found = await requireUser(deps, username);
        return { changed: await setRegistryAdmin(deps, { id: found.id, username: found.username }, !options.off), name: found.username };
      });
      say(options.off ? (changed ? `${name} may no longer list the registry's catalog.` : `${name} could not list it anyway.`) : changed ? `${name} may now list the registry's catalog.` : `${name} could already list it.`);
    });

  user
    .command('deactivate')
    .description('deactivate a user: no password or token of theirs works until activated again')
    .argument('<username>')
    .action(async (username: string) => {
      const { setActive } = await service();
      const changed = await withDeps((deps) => setActive(deps, username, false));
      say(changed ? `Deactivated ${username.toLowerCase()}.` : `${username.toLowerCase()} was already deactivated.`);
    });

  user
    .command('activate')
    .description('activate a deactivated user')
    .argument('<username>')
    .action(async (username: string) => {
      const { setActive } = await service();
      const changed = await withDeps((deps) => setActive(deps, username, true));
      say(changed ? `Activated ${username.toLowerCase()}.` : `${username.toLowerCase()} was already active.`);
    });

  user
    .command('list')
    .description('list users')
    .option('--json', 'one JSON object per line instead of a table')
    .action(async (options: { json?: boolean }) => {
      const { listUsers } = await service();
      const users = await withDeps((deps) => listUsers(deps));
      if (options.json) {
        for (const u of users) out(JSON.stringify(u));
        return;
      }
      out(
        table(
          ['ID', 'USERNAME', 'EMAIL', 'ACTIVE', 'JOINED'],
          users.map((u) => [String(u.id), u.username, u.email, u.is_active ? 'yes' : 'no', u.date_joined]),
        ),
      );
    });
}
