// The `accounts` command: the server and the admin operations, on the server's own config and services.
// Only commander and the commands' definitions load up front; each action imports what it needs
// when it runs (the server, the database drivers, the OAuth provider take seconds to load), so
// `--help`, `--version` and a mistyped command line answer at once.
import { Command, CommanderError } from 'commander';
import packageJson from '../../package.json' with { type: 'json' };
import { ApiError } from '../kernel/errors.ts';
import { ConfigError, loadConfig, type Config } from '../kernel/config.ts';
import { registerTokenCommands } from './tokens.commands.ts';
import { registerAuditCommands } from './audit.commands.ts';
import { registerTransferCommands } from './transfer.commands.ts';
import { registerRegistryCommands } from './registry.commands.ts';
import { registerConformanceCommand } from './conformance.commands.ts';
import { registerUserCommands } from './users.commands.ts';
import { registerUserDeleteCommand } from './delete.commands.ts';
import { registerClientCommands, registerGrantCommands } from './oauth.commands.ts';
import { registerInviteCommands } from './signup.commands.ts';
import { Interrupted, say } from './context.ts';

/** Every line the command prints about a failure starts so, commander's own included. */
const ERROR_PREFIX = 'accounts: error: ';

// The settings most deployments set; docs/reference/configuration.md has every one.
const MAIN_SETTINGS = ['HOST', 'PORT', 'DATABASE_URL', 'PUBLIC_URL', 'LOG_LEVEL', 'REDIS_URL', 'SMTP_URL', 'MAIL_FROM', 'WORKERS'];

export function buildProgram(): Command {
  const program = new Command('accounts')
    .description('The account service (docker.io Accounts API v1.1) and its administration.')
    .version(packageJson.version, '-V, --version', 'print the version and exit')
    .addHelpText(
      'after',
      '\nSettings are environment variables, read by the server and every command alike:\n' +
        `${MAIN_SETTINGS.slice(0, 5).join(', ')},\n${MAIN_SETTINGS.slice(5).join(', ')} and more.\n` +
        'Every setting, with its default and meaning: docs/reference/configuration.md.\n' +
        '`serve --host` and `serve --port` override HOST and PORT.',
    )
    .showSuggestionAfterError(true)
    // Commander's messages start "error: "; ours "accounts: error: ". One form, so that a script
    // or a person looking for the failure finds it the same way. Subcommands inherit this.
    .configureOutput({ outputError: (message, write) => write(`accounts: ${message}`) })
    .exitOverride();

  program
    .command('serve')
    .description('run the HTTP server (migrates the database first)')
    .option('--host <address>', 'the address to listen on; overrides HOST')
    .option('--port <port>', 'the TCP port to listen on, 0 for any free one; overrides PORT')
    .action(async (options: ServeOptions) => {
      const config = serveConfig(options);
      // Loading the server takes a second or more: a SQLite path that cannot work is told first.
      if (config.database.dialect === 'sqlite' && config.database.path !== ':memory:') {
        (await import('../kernel/db/sqlite-path.ts')).prepareSqlitePath(config.database.path);
      }
      // Loaded on demand: the admin commands need neither Fastify nor its plugins.
      await (await import('../cluster.ts')).run(config);
    });

  program
    .command('migrate')
    .description('bring the database up to date and exit')
    .action(async () => {
      const config = loadConfig();
      const [{ openStore }, { migrateToLatest }] = await Promise.all([import('../kernel/db/connect.ts'), import('../kernel/db/migrate.ts')]);
      const store = openStore(config.database);
      try {
        const applied = await migrateToLatest(store);
        for (const name of applied) say(`Applied ${name}.`);
        say(applied.length > 0 ? `The database is up to date (${applied.length} applied).` : 'The database was already up to date.');
      } finally {
        await store.close();
      }
    });

  registerUserCommands(program);
  registerUserDeleteCommand(program);
  registerTokenCommands(program);
  registerAuditCommands(program);
  registerTransferCommands(program);
  registerClientCommands(program);
  registerGrantCommands(program);
  registerInviteCommands(program);
  registerRegistryCommands(program);
  registerConformanceCommand(program);
  return program;
}

type ServeOptions = { host?: string; port?: string };

/**
 * `serve --host/--port` stand for HOST and PORT: an option wins over the environment and is
 * checked by the same rules, and a problem with it is reported under the option's name.
 */
export function serveConfig(options: ServeOptions, env: Record<string, string | undefined> = process.env): Config {
  const overrides = { HOST: options.host, PORT: options.port };
  const given = (Object.keys(overrides) as (keyof typeof overrides)[]).filter((name) => overrides[name] !== undefined);
  // The environment's rule that an empty value means "unset" is not the option's: `--port ""` is a mistake.
  const blank = given.filter((name) => overrides[name]!.trim() === '').map((name) => `--${name.toLowerCase()}: must not be empty`);
  if (blank.length > 0) throw new ConfigError(blank);
  try {
    return loadConfig({ ...env, ...Object.fromEntries(given.map((name) => [name, overrides[name]])) });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(error.problems.map((problem) => given.reduce((p, name) => p.replace(new RegExp(`^${name}:`), `--${name.toLowerCase()}:`), problem)));
  }
}

// Network errors, and PostgreSQL's "invalid password", "no such role" and "no such database".
const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EAI_AGAIN', 'ECONNRESET', '28P01', '28000', '3D000']);

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CONNECTION_ERROR_CODES.has(code);
}

/** One line for a failure: what went wrong, with field messages inline. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const fields = Object.entries(error.fieldErrors ?? {}).map(([field, messages]) => `${field}: ${messages.join(' ').replace(/\.$/, '')}`);
    return fields.length > 0 ? fields.join('; ') : error.detail;
  }
  if (error instanceof ConfigError) return error.problems.join('; ');
  if (isConnectionError(error)) return `cannot connect to the database: ${(error as Error).message}`;
  return error instanceof Error ? error.message : String(error);
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed its message (or the help) already.
      process.exitCode = error.exitCode;
      return;
    }
    if (error instanceof Interrupted) {
      // Ctrl-C at a password prompt: what a shell reports for SIGINT, without a message.
      process.exitCode = 130;
      return;
    }
    process.stderr.write(`${ERROR_PREFIX}${describeError(error).replaceAll('\n', ' ')}\n`);
    process.exitCode = 1;
  }
}
