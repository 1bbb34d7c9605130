// Log settings. Secrets never reach a log line: headers are not logged at all, and the paths
// below are redacted in case anything logs an object that holds one.
import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'fastify/types/logger.js';
import type { LogLevel } from '../kernel/config.ts';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.client_secret',
  // Node's HTTP parser errors (logged by Fastify at trace as "client error") carry the raw bytes
  // of the request, headers and query string included.
  'err.rawPacket',
];

export function loggerOptions(level: LogLevel, stream?: NodeJS.WritableStream): FastifyServerOptions['logger'] {
  return {
    level,
    ...(stream ? { stream } : {}),
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      // The path only: a query string may hold something secret even though we never ask for one.
      req: (req: { method: string; url: string; ip?: string; id?: string }) => ({
        method: req.method,
        path: req.url.split('?')[0],
        ip: req.ip,
      }),
    },
  };
}

type Logger = FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean };
type LogMethod = (...args: unknown[]) => void;
type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * Fastify gives every request a child logger (its request id bound); pino's child() costs more
 * than the rest of a cached GET's logging, and most requests log nothing. This one becomes the
 * real child at its first line that the level lets through, so the lines are the same. A class:
 * one small object per request, its methods shared (closures per request were the largest part
 * of the garbage that outlived the young generation, docs/explanation/performance.md "Memory").
 */
class LazyChildLogger {
  #real: FastifyBaseLogger | undefined;
  readonly parent: FastifyBaseLogger;
  readonly bindings: Bindings;
  readonly options: ChildLoggerOptions;
  constructor(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions) {
    this.parent = parent;
    this.bindings = bindings;
    this.options = options;
  }

  #child(): FastifyBaseLogger {
    return (this.#real ??= this.parent.child(this.bindings, this.options));
  }

  #log(level: Level, args: unknown[]): void {
    if (this.#real === undefined && (this.parent as Logger).isLevelEnabled?.(level) === false) return;
    (this.#child()[level] as LogMethod)(...args);
  }

  get level(): string {
    return this.#real?.level ?? this.parent.level;
  }
  set level(value: string) {
    this.#child().level = value;
  }
  child(more: Bindings, moreOptions?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#child().child(more, moreOptions);
  }
  silent(): void {}
  fatal(...args: unknown[]): void {
    this.#log('fatal', args);
  }
  error(...args: unknown[]): void {
    this.#log('error', args);
  }
  warn(...args: unknown[]): void {
    this.#log('warn', args);
  }
  info(...args: unknown[]): void {
    this.#log('info', args);
  }
  debug(...args: unknown[]): void {
    this.#log('debug', args);
  }
  trace(...args: unknown[]): void {
    this.#log('trace', args);
  }
}

export function lazyChildLogger(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  // A route with its own level needs its own child from the start.
  if (options.level !== undefined) return parent.child(bindings, options);
  return new LazyChildLogger(parent, bindings, options) as unknown as FastifyBaseLogger;
}
