import type { Command } from 'commander';
import { parseScopeList } from '../auth/scopes.ts';
import { parseDuration } from './duration.ts';
import { out, say, table, withDeps } from './context.ts';

// Each action imports the service it calls: see main.ts.
const service = () => import('../tokens/tokens.service.ts');

export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('manage personal access tokens');

  token
    .command('create')
    .description('create a personal access token; it is printed once, alone on the last line of standard output')
    .argument('<username>')
    .requiredOption('--scopes <list>', 'comma-separated: profile_read, profile_write, email_read, email_write; for a registry: repo_read, repo_write, repo_delete')
    .option('--name <name>', 'a name to recognise it by', 'token')
    .option('--expires-in <duration>', 'lifetime, e.g. 30m, 12h, 90d, 2w, 1y (default: never expires)')
    .action(async (username: string, options: { scopes: string; name: string; expiresIn?: string }) => {
      const scopes = parseScopeList(options.scopes);
      const expiresInMs = options.expiresIn === undefined ? undefined : parseDuration(options.expiresIn);
      const { createToken } = await service();
      const { token: secret, summary } = await withDeps((deps) =>
        createToken(deps, { username, scopes, name: options.name, ...(expiresInMs !== undefined ? { expiresInMs } : {}) }),
      );
      say(
        `Created token ${summary.id} "${summary.name}" for ${summary.username} with ${summary.scopes.join(', ')}` +
          `${summary.expires_at ? `, expiring ${summary.expires_at}` : ', never expiring'}. It is shown only this once.`,
      );
      out(secret);
    });

  token
    .command('list')
    .description("list a user's tokens (never the tokens themselves)")
    .argument('<username>')
    .option('--json', 'one JSON object per line instead of a table')
    .action(async (username: string, options: { json?: boolean }) => {
      const { listTokens } = await service();
      const tokens = await withDeps((deps) => listTokens(deps, username));
      if (options.json) {
        for (const t of tokens) out(JSON.stringify(t));
        return;
      }
      out(
        table(
          ['ID', 'NAME', 'TOKEN', 'SCOPES', 'STATUS', 'CREATED', 'EXPIRES', 'LAST USED'],
          tokens.map((t) => [String(t.id), t.name, t.hint, t.scopes.join(','), t.status, t.created_at, t.expires_at ?? 'never', t.last_used_at ?? 'never']),
        ),
      );
    });

  token
    .command('revoke')
    .description('revoke a token, given its id (from token list) or the token itself')
    .argument('<id-or-token>')
    .action(async (idOrToken: string) => {
      const { revokeToken } = await service();
      const result = await withDeps((deps) => revokeToken(deps, idOrToken));
      say(result.alreadyRevoked ? `Token ${result.id} was already revoked.` : `Revoked token ${result.id}.`);
    });
}
