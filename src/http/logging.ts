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
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/**
 * Fastify gives every request a child logger (its request id bound); pino's child() costs more
 * than the rest of a cached GET's logging, and most requests log nothing. This one becomes the
 * real child at its first line that the level lets through, so the lines are the same.
 */
export function lazyChildLogger(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  // A route with its own level needs its own child from the start.
  if (options.level !== undefined) return parent.child(bindings, options);
  let real: FastifyBaseLogger | undefined;
  const child = (): FastifyBaseLogger => (real ??= parent.child(bindings, options));
  const enabled = (level: string) => real !== undefined || (parent as Logger).isLevelEnabled?.(level) !== false;
  const lazy = {
    get level() {
      return real?.level ?? parent.level;
    },
    set level(value: string) {
      child().level = value;
    },
    child: (more: Bindings, moreOptions?: ChildLoggerOptions) => child().child(more, moreOptions),
    silent: () => undefined,
  } as unknown as FastifyBaseLogger;
  for (const level of LEVELS) {
    (lazy as unknown as Record<string, (...args: unknown[]) => void>)[level] = (...args: unknown[]) => {
      if (enabled(level)) (child()[level] as (...a: unknown[]) => void)(...args);
    };
  }
  return lazy;
}
