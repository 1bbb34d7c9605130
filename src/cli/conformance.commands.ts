// `accounts conformance <base-url>`: the conformance kit (src/cli/conformance.ts) as a command.
import type { Command } from 'commander';
import { out, readPassword, table } from './context.ts';
import { runConformance } from './conformance.ts';

export function registerConformanceCommand(program: Command): void {
  program
    .command('conformance')
    .description('check a server that claims the Accounts API v1.1 against the contract, black-box, with one account (leaves nothing changed)')
    .argument('<base-url>', 'the server, e.g. https://accounts.example.com')
    .requiredOption('--username <username>', 'an account on that server')
    .requiredOption('--password-stdin', "read the account's password from the first line of standard input")
    .option('--token <token>', 'also check a personal access token of the account')
    .addHelpText('after', '\nPrints a table of every check with the reason of each failure; exits 0 only when all pass.\nIt sends one wrong password, which counts toward the server\'s brute-force limits.')
    .action(async (baseUrl: string, options: { username: string; token?: string }) => {
      if (!URL.canParse(baseUrl) || !/^https?:$/.test(new URL(baseUrl).protocol)) throw new Error(`"${baseUrl}" is not an http or https URL`);
      const password = await readPassword({ prompt: `Password of ${options.username}: ` });
      const results = await runConformance({ baseUrl, username: options.username, password, token: options.token });
      out(table(['CHECK', 'RESULT', 'REASON'], results.map((r) => [r.name, r.ok ? 'pass' : 'FAIL', r.reason])));
      const failed = results.filter((r) => !r.ok).length;
      out(`${results.length - failed} of ${results.length} checks passed.`);
      if (failed > 0) process.exitCode = 1;
    });
}
