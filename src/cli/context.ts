// What every command shares with the server: the same configuration, store and services.
import { StringDecoder } from 'node:string_decoder';
import { loadConfig } from '../kernel/config.ts';
import type { Deps } from '../kernel/deps.ts';
import type { Mailer } from '../mail/mailer.ts';

/** Opens the database (bringing it up to date first, like the server), runs `fn`, closes it. */
export async function withDeps<T>(fn: (deps: Deps) => Promise<T>): Promise<T> {
  const config = loadConfig();
  // Imported here, not above: a command line that fails to parse, or asks for help, never pays
  // for loading the database drivers and Redis.
  const [{ openStore }, { migrateToLatest }, { connectRedis }, { createDeps }, { createAuthCache }] = await Promise.all([
    import('../kernel/db/connect.ts'),
    import('../kernel/db/migrate.ts'),
    import('../ops/redis.ts'),
    import('../wiring.ts'),
    import('../auth/auth-cache.ts'),
  ]);
  const store = openStore(config.database);
  // With Redis, running servers hear of credential changes at once; without it, or if it cannot
  // be reached, they notice within their cache's lifetime (3 s).
  const redis = config.redisUrl ? await connectRedis(config.redisUrl, () => undefined).catch(() => undefined) : undefined;
  try {
    await migrateToLatest(store);
    // The same dependencies as the server's (hashing bounded by HASH_CONCURRENCY, the same event
    // subscribers); its cache stays empty, as a command signs nobody in.
    return await fn(createDeps({ config, store, redis, cache: createAuthCache() }));
  } finally {
    await store.close();
    await redis?.quit();
  }
}

/**
 * withDeps, with a mailer as the server has (SMTP_URL, or the log on standard error): for the
 * commands that tell the person what was done to their account. The command waits for the mail to
 * leave (or to be given up on, at most 10 s) before it exits.
 */
export async function withMailingDeps<T>(fn: (deps: Deps & { mailer: Mailer }) => Promise<T>): Promise<T> {
  const [{ createMailer }, { createMetrics }, { pino }] = await Promise.all([import('../mail/mailer.ts'), import('../ops/metrics.ts'), import('pino')]);
  return withDeps(async (deps) => {
    const { config } = deps;
    const log = pino({ level: config.logLevel, base: null }, pino.destination(2));
    const mailer = createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, service: { name: config.serviceName, url: config.publicUrl }, log, metrics: createMetrics(deps.store) });
    try {
      return await fn({ ...deps, mailer });
    } finally {
      await mailer.close();
    }
  });
}

/** Reads the first line of standard input (without its line ending). */
export async function readFirstLine(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  let data = '';
  for await (const chunk of stdin) {
    data += chunk.toString();
    const newline = data.indexOf('\n');
    if (newline >= 0) return data.slice(0, newline).replace(/\r$/, '');
  }
  return data.replace(/\r$/, '');
}

/** Ctrl-C at a prompt: the command stops without doing anything. */
export class Interrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'Interrupted';
  }
}

type TtyInput = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };

/**
 * A password for `--password-stdin`. From a pipe or a file: the first line, as ever. From a
 * terminal: a prompt on standard error and the keys read without echo (typed twice when
 * `confirm` is set, since nobody can see a typo), so the password is never on the screen.
 */
export async function readPassword(
  options: { prompt: string; confirm?: boolean },
  stdin: TtyInput = process.stdin,
  stderr: NodeJS.WritableStream = process.stderr,
): Promise<string> {
  if (!stdin.isTTY || !stdin.setRawMode) return readFirstLine(stdin);
  const password = await readHidden(options.prompt, stdin, stderr);
  if (options.confirm && (await readHidden('Again, to confirm: ', stdin, stderr)) !== password) {
    throw new Error('the two passwords differ; nothing was changed');
  }
  return password;
}

/**
 * One line typed on a terminal in raw mode: Enter ends it, Backspace erases a character, Ctrl-U
 * the line; Ctrl-C, or Ctrl-D on an empty line, stops the command.
 */
function readHidden(prompt: string, stdin: TtyInput, stderr: NodeJS.WritableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    let typed: string[] = []; // code points, so Backspace erases a whole character
    const finish = (error?: Error) => {
      stdin.removeListener('data', onData);
      stdin.removeListener('end', onEnd);
      stdin.setRawMode!(false);
      stdin.pause();
      stderr.write('\n'); // the Enter was not echoed either
      if (error) reject(error);
      else resolve(typed.join(''));
    };
    const onData = (chunk: Buffer | string) => {
      const keys = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      // An arrow or function key: a whole escape sequence, none of it part of a password.
      if (keys.startsWith('\u001b')) return;
      for (const key of keys) {
        if (key === '\r' || key === '\n') return finish();
        if (key === '\u0003' || (key === '\u0004' && typed.length === 0)) return finish(new Interrupted());
        if (key === '\u007f' || key === '\b') typed = typed.slice(0, -1);
        else if (key === '\u0015') typed = [];
        else if (key >= ' ') typed.push(key);
      }
    };
    const onEnd = () => finish(new Interrupted()); // the terminal went away
    // Echo off before the prompt shows: what is typed as soon as it appears must not be echoed.
    stdin.setRawMode!(true);
    stderr.write(prompt);
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.resume();
  });
}

/** Output for people and progress: standard error, so standard output stays for scripts. */
export function say(message: string): void {
  process.stderr.write(`${message}\n`);
}

export function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** A fixed-width table for `list` commands. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}
