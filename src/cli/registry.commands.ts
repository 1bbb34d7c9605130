// `accounts registry certificate`: the certificates a Docker registry needs to trust this service's
// tokens (its auth.token.rootcertbundle). The key is made on first use, by the server or here.
// `accounts registry rotate-key`: a new key that signs later, so that registries trust it first.
// `accounts registry logins` / `revoke`: the refresh tokens `docker login` keeps (src/registry/refresh-tokens.ts).
import type { Command } from 'commander';
import { parseDuration } from './duration.ts';
import { out, say, table, withDeps } from './context.ts';

export function registerRegistryCommands(program: Command): void {
  const registry = program.command('registry').description('the Docker Registry token server');
  registry
    .command('certificate')
    .description("print the PEM certificate of the registry token signing key, for the registry's rootcertbundle")
    .addHelpText('after', '\nExample: accounts registry certificate > /etc/docker/registry/accounts.pem\nThe key and certificate are made on first use and kept in the database: every instance signs with them.')
    .action(async () => {
      const { createRegistryTokens } = await import('../registry/registry-token.service.ts');
      out((await withDeps((deps) => createRegistryTokens(deps).certificate())).trimEnd());
    });

  registry
    .command('rotate-key')
    .description('make a new registry token signing key, which begins to sign after --activate-in; the old one retires once its last tokens expire')
    .option('--activate-in <duration>', 'when the new key begins to sign: 30m, 1h, 1d… (default 1h: time to put the new bundle in every registry), or now (a leaked key)', '1h')
    .addHelpText(
      'after',
      '\nThen, before the new key signs: accounts registry certificate > the registry\'s rootcertbundle (it holds both\ncertificates), and restart the registry. Running servers take the new key up within a minute of --activate-in.',
    )
    .action(async (options: { activateIn: string }) => {
      const activateInMs = options.activateIn.trim() === 'now' ? 0 : parseDuration(options.activateIn);
      const { rotateSigningKey } = await import('../registry/keys.ts');
      const { activeFrom, retiredAt } = await withDeps((deps) => rotateSigningKey(deps, activateInMs));
      say(`Made a new registry signing key: it signs from ${activeFrom}; the previous key's certificate may leave the bundle after ${retiredAt}.`);
      say('Now put the output of `accounts registry certificate` in every registry\'s rootcertbundle and restart them, before the new key signs.');
    });

  registry
    .command('logins')
    .description("list a user's registry logins: the refresh tokens docker login keeps (never the tokens themselves)")
    .argument('<username>')
    .option('--json', 'one JSON object per line instead of a table')
    .action(async (username: string, options: { json?: boolean }) => {
      const { listRefreshTokens } = await import('../registry/refresh-tokens.ts');
      const logins = await withDeps((deps) => listRefreshTokens(deps, username));
      if (options.json) {
        for (const login of logins) out(JSON.stringify(login));
        return;
      }
      out(
        table(
          ['ID', 'TOKEN', 'SERVICE', 'CLIENT', 'MADE WITH', 'CREATED', 'EXPIRES', 'LAST USED'],
          logins.map((l) => [String(l.id), `${l.hint}…`, l.service, l.client_id || '-', l.access_token === null ? 'password' : `token ${l.access_token}`, l.created_at, l.expires_at, l.last_used_at ?? 'never']),
        ),
      );
    });

  registry
    .command('revoke')
    .description('end a registry login (that machine must docker login again), given its id from registry logins')
    .argument('<id>')
    .action(async (id: string) => {
      if (!/^\d+$/.test(id)) throw new Error(`"${id}" is not a registry login id: see accounts registry logins <username>`);
      const { revokeRefreshToken } = await import('../registry/refresh-tokens.ts');
      await withDeps((deps) => revokeRefreshToken(deps, Number(id)));
      say(`Revoked registry login ${id}.`);
    });
}
