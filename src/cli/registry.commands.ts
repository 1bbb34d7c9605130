// `accounts registry certificate`: the certificate a Docker registry needs to trust this service's
// tokens (its auth.token.rootcertbundle). The key is made on first use, by the server or here.
import type { Command } from 'commander';
import { out, withDeps } from './context.ts';

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
}
