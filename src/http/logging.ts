// Log settings. Secrets never reach a log line: headers are not logged at all, and the paths
// below are redacted in case anything logs an object that holds one.
import type { FastifyServerOptions } from 'fastify';
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
