// `accounts client …` and `accounts grant …`: the OAuth clients an
// operator registers, and the applications a user has authorised.
import type { Command } from 'commander';
import { out, say, table, withDeps } from './context.ts';

// Each action imports the service it calls: see main.ts.
const clients = () => import('../oauth/clients.service.ts');
const grants = () => import('../oauth/grants.service.ts');

/** Commander's collector for a repeatable option: every value, in the order given. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function registerClientCommands(program: Command): void {
  const client = program.command('client').description('manage the OAuth clients (applications) that may ask users for access');

  client
    .command('create')
    .description('register a client; its id and secret are printed as one JSON object on the last line of standard output')
    .requiredOption('--name <name>', 'the name users see on the consent page')
    .option('--redirect-uri <uri>', 'a redirect URI, matched exactly (repeat for several): https, or http to localhost, 127.0.0.1 or [::1]', collect)
    .option('--public', 'a public client (a browser or native app): no secret, PKCE only')
    .addHelpText('after', '\nThe secret is stored only as its digest: it is shown this once and cannot be shown again.')
    .action(async (options: { name: string; redirectUri?: string[]; public?: boolean }) => {
      const redirectUris = options.redirectUri ?? [];
      const { createClient } = await clients();
      const created = await withDeps((deps) => createClient(deps, { name: options.name, redirectUris, public: options.public === true }));
      const uris = redirectUris.join(' ');
      if (created.client_secret === undefined) {
        say(`Created public client ${created.client_id} "${options.name.trim()}" redirecting to ${uris}. It has no secret: it must use PKCE.`);
      } else {
        say(
          `Created confidential client ${created.client_id} "${options.name.trim()}" redirecting to ${uris}. ` +
            'Its secret is shown only this once, in the JSON on standard output: store it now.',
        );
      }
      out(JSON.stringify(created));
    });

  client
    .command('list')
    .description('list the registered clients (never their secrets)')
    .option('--json', 'one JSON object per line instead of a table')
    .action(async (options: { json?: boolean }) => {
      const { listClients } = await clients();
      const found = await withDeps((deps) => listClients(deps));
      if (options.json) {
        for (const c of found) out(JSON.stringify(c));
        return;
      }
      out(
        table(
          ['CLIENT ID', 'NAME', 'TYPE', 'REDIRECT URIS', 'CREATED'],
          found.map((c) => [c.client_id, c.name, c.type, c.redirect_uris.join(' '), c.created_at]),
        ),
      );
    });

  client
    .command('delete')
    .description('delete a client and every code, token and grant issued to it')
    .argument('<client-id>')
    .action(async (clientId: string) => {
      const { deleteClient } = await clients();
      await withDeps((deps) => deleteClient(deps, clientId));
      say(`Deleted client ${clientId} and every code, token and grant issued to it.`);
    });
}

export function registerGrantCommands(program: Command): void {
  const grant = program.command('grant').description('the applications (OAuth clients) users have authorised');

  grant
    .command('list')
    .description('list the applications a user has authorised, with the scopes they were granted')
    .argument('<username>')
    .option('--json', 'one JSON object per line instead of a table')
    .action(async (username: string, options: { json?: boolean }) => {
      const { listGrantsOfUsername } = await grants();
      const found = await withDeps((deps) => listGrantsOfUsername(deps, username));
      if (options.json) {
        for (const g of found) out(JSON.stringify(g));
        return;
      }
      out(
        table(
          ['CLIENT ID', 'NAME', 'SCOPES', 'GRANTED'],
          found.map((g) => [g.client_id, g.client_name ?? '(deleted)', g.scopes.join(','), g.granted_at]),
        ),
      );
    });

  grant
    .command('revoke')
    .description("revoke an application's access: the user's grants to it, with every code and token issued under them")
    .argument('<username>')
    .argument('<client-id>')
    .action(async (username: string, clientId: string) => {
      const { revokeGrantOfUsername } = await grants();
      await withDeps((deps) => revokeGrantOfUsername(deps, username, clientId));
      say(`Revoked the access of client ${clientId} to ${username.toLowerCase()}: its grants, codes and tokens are deleted.`);
    });
}
