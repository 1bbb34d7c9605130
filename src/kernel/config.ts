import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';

// The only reader of process.env. Every setting is parsed and checked here, once, at start;
// a bad value stops the process with one line per problem instead of failing later.

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export type DatabaseConfig =
  | { dialect: 'sqlite'; path: string }
  | {
      dialect: 'postgres';
      /** The connection string as given; TLS is set by its `sslmode` parameter. */
      url: string;
      poolSize: number;
      /** Server-side statement_timeout, in milliseconds; 0 disables it. */
      statementTimeoutMs: number;
    };

export type Config = Readonly<{
  host: string;
  port: number;
  /** When set, /metrics is served only on this port (on `metricsHost`), not on the API's. */
  metricsPort: number | undefined;
  metricsHost: string;
  /** Base of every `url` field, without a trailing slash, e.g. `https://accounts.example.com`. */
  publicUrl: string;
  database: DatabaseConfig;
  /** The value as given, for messages; never logged when it could carry a password. */
  databaseUrl: string;
  logLevel: LogLevel;
  /** Largest request body accepted, in bytes (413 beyond). */
  bodyLimit: number;
  /** On SIGTERM, how long /readyz says 503 before the server stops accepting connections. */
  shutdownDelayMs: number;
  /** Shared state (rate-limit counters) for several instances; undefined: in memory, per process. */
  redisUrl: string | undefined;
  redisPrefix: string;
  /** Proxies whose X-Forwarded-For is believed (addresses, CIDR ranges or loopback/linklocal/uniquelocal); empty: none. */
  trustProxy: string[];
  loginMaxFailures: number;
  loginIpMaxFailuresPerMinute: number;
  /** Shortest password accepted, in characters (NIST SP 800-63B: at least 8). */
  passwordMinLength: number;
  /** Password hashes computed at once (one libuv thread each) and how many may wait (503 past that). */
  hashConcurrency: number;
  hashQueue: number;
  /** Processes serving one port (node:cluster). */
  workers: number;
  /** smtp:// or smtps:// URL of the mail relay, credentials included; undefined: mail goes to the log. Never logged. */
  smtpUrl: string | undefined;
  /** The From of every mail: an address, or `Name <address>`. */
  mailFrom: string;
  /** What mails (subject, greeting, signature) call the service; plain text, one line. */
  serviceName: string;
  /** A session of the account page ends after this long without a request, in minutes. */
  sessionIdleMinutes: number;
  /** …and this long after login, however active, in minutes. */
  sessionMaxMinutes: number;
  /** Lifetime of an OAuth access token, in seconds. */
  oauthAccessTokenSeconds: number;
  /** Lifetime of an OAuth refresh token (and of those it rotates into), from the user's consent, in days. */
  oauthRefreshTokenDays: number;
  /** Which clients must use PKCE (S256): all of them, or only public ones. */
  oauthRequirePkce: 'all' | 'public';
  /** Authorization requests that start a sign-in (store a record before anyone logs in), per client IP per minute. */
  oauthAuthorizePerMinute: number;
  /** Who may create an account on /account/signup: nobody (the CLI only), anyone, or whoever has an invitation. */
  signup: SignupMode;
  /** REQUIRE_2FA: every account must set up a second factor at its next sign-in on the pages. */
  require2fa: boolean;
  /**
   * SECRET_KEY: 32 bytes that seal the TOTP secrets in the database (src/kernel/secret-box.ts).
   * Unset: a key the service makes and keeps in its database.
   */
  secretKey: Buffer | undefined;
  /** REGISTRY_SERVICES: the `service` names the registry token endpoint serves; empty: the endpoint is off (404). */
  registryServices: readonly string[];
  /** REGISTRY_ISSUER: the tokens' `iss`, which the registry's `issuer` must equal. */
  registryIssuer: string;
  /** REGISTRY_TOKEN_SECONDS: how long a registry token lasts. */
  registryTokenSeconds: number;
  /** REGISTRY_PULL: who may pull from a namespace that is not theirs. */
  registryPull: RegistryPull;
  /** REGISTRY_REFRESH_DAYS: how long a registry refresh token (what `docker login` keeps) lasts unless revoked. */
  registryRefreshDays: number;
}>;

export const REGISTRY_PULL_MODES = ['anyone', 'users', 'owner'] as const;
export type RegistryPull = (typeof REGISTRY_PULL_MODES)[number];

export const SIGNUP_MODES = ['closed', 'open', 'invite'] as const;
export type SignupMode = (typeof SIGNUP_MODES)[number];

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  databaseUrl: 'sqlite:data/accounts.db',
  logLevel: 'info' as LogLevel,
  bodyLimit: 64 * 1024,
  shutdownDelayMs: 0,
  redisPrefix: 'accounts:',
  loginMaxFailures: 10,
  loginIpMaxFailuresPerMinute: 100,
  passwordMinLength: 8,
  hashQueue: 100,
  poolSize: 10,
  statementTimeoutMs: 10_000,
  mailFrom: 'accounts@localhost',
  serviceName: 'Accounts',
  sessionIdleMinutes: 30,
  sessionMaxMinutes: 12 * 60,
  oauthAccessTokenSeconds: 3600,
  oauthRefreshTokenDays: 180,
  oauthRequirePkce: 'all' as const,
  oauthAuthorizePerMinute: 60,
  signup: 'closed' as SignupMode,
  require2fa: false,
  registryTokenSeconds: 300,
  registryPull: 'users' as RegistryPull,
  registryRefreshDays: 90,
};

type Env = Record<string, string | undefined>;

/** Reads and validates the configuration; throws ConfigError listing every bad value. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const value = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };

  const host = value('HOST') ?? DEFAULTS.host;
  if (/\s|\//.test(host)) problems.push(`HOST: not a host name or address: "${host}"`);

  const port = parseInteger(value('PORT'), DEFAULTS.port, 0, 65535, 'PORT', problems);
  const metricsPortRaw = value('METRICS_PORT');
  const metricsPort = metricsPortRaw === undefined ? undefined : parseInteger(metricsPortRaw, 0, 0, 65535, 'METRICS_PORT', problems);
  if (metricsPort !== undefined && metricsPort !== 0 && metricsPort === port) problems.push('METRICS_PORT: must differ from PORT (unset it to serve /metrics on PORT)');
  const metricsHost = value('METRICS_HOST') ?? host;
  // Checked only when set: a bad HOST it defaults to is reported once, as HOST.
  if (value('METRICS_HOST') !== undefined && /\s|\//.test(metricsHost)) problems.push(`METRICS_HOST: not a host name or address: "${metricsHost}"`);
  const bodyLimit = parseInteger(value('BODY_LIMIT'), DEFAULTS.bodyLimit, 1024, 16 * 1024 * 1024, 'BODY_LIMIT', problems);
  const shutdownDelayMs = parseInteger(value('SHUTDOWN_DELAY_MS'), DEFAULTS.shutdownDelayMs, 0, 120_000, 'SHUTDOWN_DELAY_MS', problems);

  const databaseUrl = value('DATABASE_URL') ?? DEFAULTS.databaseUrl;
  const poolSize = parseInteger(value('DATABASE_POOL_SIZE'), DEFAULTS.poolSize, 1, 1000, 'DATABASE_POOL_SIZE', problems);
  const statementTimeoutMs = parseInteger(value('DATABASE_STATEMENT_TIMEOUT'), DEFAULTS.statementTimeoutMs, 0, 3_600_000, 'DATABASE_STATEMENT_TIMEOUT', problems);
  const database = parseDatabaseUrl(databaseUrl, { poolSize, statementTimeoutMs }, problems);

  const logLevelRaw = (value('LOG_LEVEL') ?? DEFAULTS.logLevel).toLowerCase();
  let logLevel: LogLevel = DEFAULTS.logLevel;
  if ((LOG_LEVELS as readonly string[]).includes(logLevelRaw)) logLevel = logLevelRaw as LogLevel;
  else problems.push(`LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')} (got "${logLevelRaw}")`);

  const publicUrl = parsePublicUrl(value('PUBLIC_URL'), host, port, problems);

  const redisUrl = value('REDIS_URL');
  if (redisUrl !== undefined && (!URL.canParse(redisUrl) || !['redis:', 'rediss:'].includes(new URL(redisUrl).protocol))) {
    problems.push('REDIS_URL: must be a redis:// or rediss:// URL');
  }
  const redisPrefix = value('REDIS_PREFIX') ?? DEFAULTS.redisPrefix;
  const trustProxy = (value('TRUST_PROXY') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const entry of trustProxy) {
    if (!isProxySpec(entry)) problems.push(`TRUST_PROXY: not an address, CIDR range or loopback/linklocal/uniquelocal: "${entry}"`);
  }
  const loginMaxFailures = parseInteger(value('LOGIN_MAX_FAILURES'), DEFAULTS.loginMaxFailures, 1, 1000, 'LOGIN_MAX_FAILURES', problems);
  const passwordMinLength = parseInteger(value('PASSWORD_MIN_LENGTH'), DEFAULTS.passwordMinLength, 8, 256, 'PASSWORD_MIN_LENGTH', problems);
  // libuv's thread pool: 4 threads unless UV_THREADPOOL_SIZE says otherwise.
  const threadPool = Number(env.UV_THREADPOOL_SIZE) > 0 ? Number(env.UV_THREADPOOL_SIZE) : 4;
  const hashConcurrency = parseInteger(value('HASH_CONCURRENCY'), threadPool, 1, 1024, 'HASH_CONCURRENCY', problems);
  const hashQueue = parseInteger(value('HASH_QUEUE'), DEFAULTS.hashQueue, 0, 100_000, 'HASH_QUEUE', problems);
  const defaultWorkers = env.NODE_ENV === 'production' ? availableParallelism() : 1;
  const workers = parseInteger(value('WORKERS'), defaultWorkers, 1, 256, 'WORKERS', problems);
  const loginIpMaxFailuresPerMinute = parseInteger(value('LOGIN_IP_MAX_FAILURES'), DEFAULTS.loginIpMaxFailuresPerMinute, 1, 1_000_000, 'LOGIN_IP_MAX_FAILURES', problems);

  const smtpUrl = value('SMTP_URL');
  // Only the scheme is ever echoed: the URL carries the relay's password.
  if (smtpUrl !== undefined && (!URL.canParse(smtpUrl) || !['smtp:', 'smtps:'].includes(new URL(smtpUrl).protocol) || new URL(smtpUrl).hostname === '')) {
    problems.push('SMTP_URL: must be an smtp:// or smtps:// URL with a host, e.g. smtps://user:password@mail.example.com');
  }
  const mailFrom = value('MAIL_FROM') ?? DEFAULTS.mailFrom;
  if (!isMailFrom(mailFrom)) problems.push(`MAIL_FROM: not an address or "Name <address>": "${mailFrom}"`);
  const serviceName = value('SERVICE_NAME') ?? DEFAULTS.serviceName;
  // It goes into mail subjects (a header: no line breaks) and is read by people: one short line.
  // eslint-disable-next-line no-control-regex -- the point is to refuse control characters
  if (/[\u0000-\u001f\u007f]/.test(serviceName) || serviceName.length > 60) problems.push('SERVICE_NAME: at most 60 characters, no line breaks or control characters');

  const sessionIdleMinutes = parseInteger(value('SESSION_IDLE_MINUTES'), DEFAULTS.sessionIdleMinutes, 1, 24 * 60, 'SESSION_IDLE_MINUTES', problems);
  const sessionMaxMinutes = parseInteger(value('SESSION_MAX_MINUTES'), DEFAULTS.sessionMaxMinutes, 1, 30 * 24 * 60, 'SESSION_MAX_MINUTES', problems);
  const oauthAccessTokenSeconds = parseInteger(value('OAUTH_ACCESS_TOKEN_SECONDS'), DEFAULTS.oauthAccessTokenSeconds, 60, 24 * 3600, 'OAUTH_ACCESS_TOKEN_SECONDS', problems);
  const oauthRefreshTokenDays = parseInteger(value('OAUTH_REFRESH_TOKEN_DAYS'), DEFAULTS.oauthRefreshTokenDays, 1, 3650, 'OAUTH_REFRESH_TOKEN_DAYS', problems);
  const pkceRaw = (value('OAUTH_REQUIRE_PKCE') ?? DEFAULTS.oauthRequirePkce).toLowerCase();
  const oauthRequirePkce = pkceRaw === 'public' ? 'public' : 'all';
  if (pkceRaw !== 'all' && pkceRaw !== 'public') problems.push(`OAUTH_REQUIRE_PKCE: must be all or public (got "${pkceRaw}")`);
  const oauthAuthorizePerMinute = parseInteger(value('OAUTH_AUTHORIZE_PER_MINUTE'), DEFAULTS.oauthAuthorizePerMinute, 1, 1_000_000, 'OAUTH_AUTHORIZE_PER_MINUTE', problems);
  const signupRaw = (value('SIGNUP') ?? DEFAULTS.signup).toLowerCase();
  const signup = (SIGNUP_MODES as readonly string[]).includes(signupRaw) ? (signupRaw as SignupMode) : DEFAULTS.signup;
  if (signup !== signupRaw) problems.push(`SIGNUP: must be closed, open or invite (got "${signupRaw}")`);

  const require2faRaw = (value('REQUIRE_2FA') ?? String(DEFAULTS.require2fa)).toLowerCase();
  if (!['true', 'false'].includes(require2faRaw)) problems.push(`REQUIRE_2FA: must be true or false (got "${require2faRaw}")`);
  const require2fa = require2faRaw === 'true';
  const secretKey = parseSecretKey(value('SECRET_KEY'), problems);
  const registryServices = (value('REGISTRY_SERVICES') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const service of registryServices) {
    // It is compared with the registry's `service` and goes into the tokens' `aud`: printable, no spaces.
    if (!/^[\x21-\x7e]{1,255}$/.test(service)) problems.push(`REGISTRY_SERVICES: a service name is printable ASCII without spaces (got "${service}")`);
  }
  const registryIssuer = value('REGISTRY_ISSUER') ?? publicUrl;
  const registryTokenSeconds = parseInteger(value('REGISTRY_TOKEN_SECONDS'), DEFAULTS.registryTokenSeconds, 60, 24 * 3600, 'REGISTRY_TOKEN_SECONDS', problems);
  const registryPullRaw = (value('REGISTRY_PULL') ?? DEFAULTS.registryPull).toLowerCase();
  const registryPull = (REGISTRY_PULL_MODES as readonly string[]).includes(registryPullRaw) ? (registryPullRaw as RegistryPull) : DEFAULTS.registryPull;
  const registryRefreshDays = parseInteger(value('REGISTRY_REFRESH_DAYS'), DEFAULTS.registryRefreshDays, 1, 3650, 'REGISTRY_REFRESH_DAYS', problems);
  if (registryPull !== registryPullRaw) problems.push(`REGISTRY_PULL: must be anyone, users or owner (got "${registryPullRaw}")`);

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    host,
    port,
    metricsPort,
    metricsHost,
    publicUrl,
    database: database!,
    databaseUrl,
    logLevel,
    bodyLimit,
    shutdownDelayMs,
    redisUrl,
    redisPrefix,
    trustProxy,
    loginMaxFailures,
    loginIpMaxFailuresPerMinute,
    passwordMinLength,
    hashConcurrency,
    hashQueue,
    workers,
    smtpUrl,
    mailFrom,
    serviceName,
    sessionIdleMinutes,
    oauthAccessTokenSeconds,
    oauthRefreshTokenDays,
    oauthRequirePkce,
    oauthAuthorizePerMinute,
    sessionMaxMinutes,
    signup,
    require2fa,
    secretKey,
    registryServices,
    registryIssuer,
    registryTokenSeconds,
    registryPull,
    registryRefreshDays,
  });
}

/** 32 bytes, as 64 hexadecimal digits or in base64 (base64url too). Never echoed: it is a secret. */
function parseSecretKey(raw: string | undefined, problems: string[]): Buffer | undefined {
  if (raw === undefined) return undefined;
  const key = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : /^[A-Za-z0-9+/_-]{43}=?$/.test(raw) ? Buffer.from(raw, 'base64url') : undefined;
  if (key?.length !== 32) {
    problems.push('SECRET_KEY: must be 32 random bytes, as 64 hexadecimal digits or in base64 (e.g. the output of `openssl rand -base64 32`)');
    return undefined;
  }
  return key;
}

/** `local@domain` or `Display Name <local@domain>`; no line breaks (header injection). */
function isMailFrom(value: string): boolean {
  // eslint-disable-next-line no-control-regex -- the point is to refuse control characters
  if (/[\u0000-\u001f\u007f]/.test(value)) return false;
  const address = /<([^<>]+)>$/.exec(value)?.[1] ?? value;
  return /^[^\s@<>"]+@[^\s@<>"]+$/.test(address);
}

function isProxySpec(entry: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
  const [address, bits, ...rest] = entry.split('/');
  if (rest.length > 0 || !address || isIP(address) === 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (isIP(address) === 4 ? 32 : 128);
}

function parseInteger(raw: string | undefined, fallback: number, min: number, max: number, name: string, problems: string[]): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    problems.push(`${name}: must be an integer from ${min} to ${max} (got "${raw}")`);
    return fallback;
  }
  return Number(raw);
}

function parseDatabaseUrl(raw: string, pool: { poolSize: number; statementTimeoutMs: number }, problems: string[]): DatabaseConfig | undefined {
  if (raw.startsWith('sqlite:')) {
    // sqlite:relative/path, sqlite:/absolute/path and sqlite:///absolute/path are all accepted.
    let path = raw.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (path === '') {
      problems.push('DATABASE_URL: sqlite: needs a file path, e.g. sqlite:data/accounts.db');
      return undefined;
    }
    return { dialect: 'sqlite', path };
  }
  if (/^postgres(ql)?:\/\//.test(raw)) {
    if (!URL.canParse(raw)) {
      problems.push('DATABASE_URL: not a valid postgres:// URL');
      return undefined;
    }
    const sslmode = new URL(raw).searchParams.get('sslmode');
    if (sslmode !== null && !['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'].includes(sslmode)) {
      problems.push(`DATABASE_URL: unknown sslmode "${sslmode}"; use disable, prefer, require, verify-ca, verify-full or no-verify`);
    }
    return { dialect: 'postgres', url: raw, ...pool };
  }
  // Only the scheme is echoed: the rest of a database URL may hold a password.
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(raw)?.[1];
  problems.push(`DATABASE_URL: unsupported scheme ${scheme ? `"${scheme}:"` : '(none)'}; use sqlite:PATH or postgres://…`);
  return undefined;
}

function parsePublicUrl(raw: string | undefined, host: string, port: number, problems: string[]): string {
  if (raw === undefined) {
    // A wildcard or loopback listen address is not something a client can use: say localhost.
    const wildcard = ['0.0.0.0', '::', '127.0.0.1', '::1'].includes(host);
    const h = wildcard ? 'localhost' : host.includes(':') ? `[${host}]` : host;
    return `http://${h}:${port}`;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push(`PUBLIC_URL: not an absolute URL: "${raw}"`);
    return '';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') problems.push(`PUBLIC_URL: must be http or https (got "${url.protocol}")`);
  if (url.search !== '' || url.hash !== '') problems.push('PUBLIC_URL: must not have a query or fragment');
  if (url.username !== '' || url.password !== '') problems.push('PUBLIC_URL: must not contain credentials');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
