// The `accounts` command: the server and the admin operations, on the server's own config and services.
import { Command, CommanderError } from 'commander';
import { ApiError } from '../errors.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { registerTokenCommands } from './tokens.commands.ts';
import { registerAuditCommands } from './audit.commands.ts';
import { registerTransferCommands } from './transfer.commands.ts';
import { registerUserCommands } from './users.commands.ts';
import { registerClientCommands, registerGrantCommands } from './oauth.commands.ts';
import { say } from './context.ts';
import { openStore } from '../db/connect.ts';

export function buildProgram(): Command {
  const program = new Command('accounts')
    .description('The account service (docker.io Accounts API v1.1) and its administration.\nConfigured by environment variables: HOST, PORT, DATABASE_URL, PUBLIC_URL, LOG_LEVEL, BODY_LIMIT.')
    .showSuggestionAfterError(true)
    .exitOverride();

  program
    .command('serve')
    .description('run the HTTP server (migrates the database first)')
    // Loaded on demand: the admin commands need neither Fastify nor its plugins.
    .action(async () => (await import('../cluster.ts')).run(loadConfig()));

  program
    .command('migrate')
    .description('bring the database up to date and exit')
    .action(async () => {
      const store = openStore(loadConfig().database);
      try {
        const applied = await migrateToLatest(store);
        for (const name of applied) say(`Applied ${name}.`);
        say(applied.length > 0 ? `The database is up to date (${applied.length} applied).` : 'The database was already up to date.');
      } finally {
        await store.close();
      }
    });

  registerUserCommands(program);
  registerTokenCommands(program);
  registerAuditCommands(program);
  registerTransferCommands(program);
  registerClientCommands(program);
  registerGrantCommands(program);
  return program;
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
    process.stderr.write(`accounts: error: ${describeError(error).replaceAll('\n', ' ')}\n`);
    process.exitCode = 1;
  }
}

