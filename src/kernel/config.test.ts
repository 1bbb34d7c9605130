import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('has defaults for everything', () => {
    expect(loadConfig({})).toEqual({
      host: '127.0.0.1',
      port: 8080,
      metricsPort: undefined,
      metricsHost: '127.0.0.1',
      publicUrl: 'http://localhost:8080',
      database: { dialect: 'sqlite', path: 'data/accounts.db' },
      databaseUrl: 'sqlite:data/accounts.db',
      logLevel: 'info',
      bodyLimit: 65536,
      shutdownDelayMs: 0,
      redisUrl: undefined,
      redisPrefix: 'accounts:',
      trustProxy: [],
      loginMaxFailures: 10,
      loginIpMaxFailuresPerMinute: 100,
      passwordMinLength: 8,
      hashConcurrency: 4,
      hashQueue: 100,
      workers: 1,
      smtpUrl: undefined,
      mailFrom: 'accounts@localhost',
      serviceName: 'Accounts',
      sessionIdleMinutes: 30,
      sessionMaxMinutes: 720,
      oauthAccessTokenSeconds: 3600,
      oauthRefreshTokenDays: 180,
      oauthRequirePkce: 'all',
      oauthAuthorizePerMinute: 60,
      signup: 'closed',
      require2fa: false,
      secretKey: undefined,
      registryServices: [],
      registryIssuer: 'http://localhost:8080',
      registryTokenSeconds: 300,
      registryPull: 'users',
      registryRefreshDays: 90,
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({ HOST: '0.0.0.0', PORT: '9000', DATABASE_URL: 'sqlite:///var/lib/accounts/a.db', PUBLIC_URL: 'https://accounts.example.com/base/', LOG_LEVEL: 'DEBUG', BODY_LIMIT: '2048' });
    expect(config).toMatchObject({ host: '0.0.0.0', port: 9000, publicUrl: 'https://accounts.example.com/base', database: { path: '/var/lib/accounts/a.db' }, logLevel: 'debug', bodyLimit: 2048 });
    expect(loadConfig({ HOST: '10.1.2.3', PORT: '81' }).publicUrl).toBe('http://10.1.2.3:81');
    expect(loadConfig({ HOST: '::', PORT: '81' }).publicUrl).toBe('http://localhost:81');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads a PostgreSQL URL with its pool size and statement timeout', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://app:pw@db.internal:5432/accounts?sslmode=verify-full', DATABASE_POOL_SIZE: '25', DATABASE_STATEMENT_TIMEOUT: '3000' });
    expect(config.database).toEqual({ dialect: 'postgres', url: 'postgres://app:pw@db.internal:5432/accounts?sslmode=verify-full', poolSize: 25, statementTimeoutMs: 3000 });
    expect(loadConfig({ DATABASE_URL: 'postgresql://db/accounts' }).database).toMatchObject({ dialect: 'postgres', poolSize: 10, statementTimeoutMs: 10000 });
    expect(() => loadConfig({ DATABASE_URL: 'postgres://db/accounts?sslmode=sometimes' })).toThrow(/sslmode/);
    expect(() => loadConfig({ DATABASE_URL: 'postgres://db/accounts', DATABASE_POOL_SIZE: '0' })).toThrow(/DATABASE_POOL_SIZE/);
  });

  it('reads Redis, proxy and login-limit settings', () => {
    const config = loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379/2', REDIS_PREFIX: 'acct:', TRUST_PROXY: '10.0.0.0/8, loopback,::1', LOGIN_MAX_FAILURES: '5', LOGIN_IP_MAX_FAILURES: '50' });
    expect(config).toMatchObject({ redisUrl: 'redis://127.0.0.1:6379/2', redisPrefix: 'acct:', trustProxy: ['10.0.0.0/8', 'loopback', '::1'], loginMaxFailures: 5, loginIpMaxFailuresPerMinute: 50 });
    expect(() => loadConfig({ REDIS_URL: 'http://x' })).toThrow(/REDIS_URL/);
    expect(() => loadConfig({ TRUST_PROXY: '10.0.0.0/33' })).toThrow(/TRUST_PROXY/);
    expect(() => loadConfig({ TRUST_PROXY: 'everyone' })).toThrow(/TRUST_PROXY/);
  });

  it('reads the mail settings, never echoing the SMTP password', () => {
    const config = loadConfig({ SMTP_URL: 'smtps://mailer:s3cret@mail.example.com:465', MAIL_FROM: 'Accounts <no-reply@example.com>' });
    expect(config).toMatchObject({ smtpUrl: 'smtps://mailer:s3cret@mail.example.com:465', mailFrom: 'Accounts <no-reply@example.com>' });
    expect(loadConfig({ SMTP_URL: 'smtp://127.0.0.1:2525' }).smtpUrl).toBe('smtp://127.0.0.1:2525');
    expect(() => loadConfig({ SMTP_URL: 'http://mailer:s3cret@mail.example.com' })).toThrow(/SMTP_URL/);
    try {
      loadConfig({ SMTP_URL: 'imap://mailer:s3cret@mail.example.com' });
    } catch (error) {
      expect((error as ConfigError).problems.join('\n')).not.toContain('s3cret');
    }
    expect(() => loadConfig({ MAIL_FROM: 'nobody' })).toThrow(/MAIL_FROM/);
    expect(() => loadConfig({ MAIL_FROM: 'a@b.example\nBcc: x@y.example' })).toThrow(/MAIL_FROM/);
    expect(loadConfig({ SERVICE_NAME: ' Example Hub ' }).serviceName).toBe('Example Hub');
    expect(() => loadConfig({ SERVICE_NAME: 'Hub\r\nBcc: x@y.example' })).toThrow(/SERVICE_NAME/);
    expect(() => loadConfig({ SERVICE_NAME: 'x'.repeat(61) })).toThrow(/SERVICE_NAME/);
  });

  it('reports every bad value at once, one line each, without echoing database credentials', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://root:hunter2@db/x', PUBLIC_URL: 'ftp://x', LOG_LEVEL: 'loud', BODY_LIMIT: '-1' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(5);
    expect(problems.map((p) => p.split(':')[0])).toEqual(['PORT', 'BODY_LIMIT', 'DATABASE_URL', 'LOG_LEVEL', 'PUBLIC_URL']);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('reads the session timeouts of the account page', () => {
    expect(loadConfig({ SESSION_IDLE_MINUTES: '5', SESSION_MAX_MINUTES: '60' })).toMatchObject({ sessionIdleMinutes: 5, sessionMaxMinutes: 60 });
    expect(() => loadConfig({ SESSION_IDLE_MINUTES: '0' })).toThrow(/SESSION_IDLE_MINUTES/);
  });

  it('reads the OAuth token lifetimes and PKCE policy, and refuses values out of range', () => {
    expect(loadConfig({ OAUTH_ACCESS_TOKEN_SECONDS: '900', OAUTH_REFRESH_TOKEN_DAYS: '30', OAUTH_REQUIRE_PKCE: 'Public' })).toMatchObject({
      oauthAccessTokenSeconds: 900,
      oauthRefreshTokenDays: 30,
      oauthRequirePkce: 'public',
    });
    expect(() => loadConfig({ OAUTH_ACCESS_TOKEN_SECONDS: '59' })).toThrow(/OAUTH_ACCESS_TOKEN_SECONDS/);
    expect(() => loadConfig({ OAUTH_ACCESS_TOKEN_SECONDS: '86401' })).toThrow(/OAUTH_ACCESS_TOKEN_SECONDS/);
    expect(() => loadConfig({ OAUTH_REFRESH_TOKEN_DAYS: '0' })).toThrow(/OAUTH_REFRESH_TOKEN_DAYS/);
    expect(() => loadConfig({ OAUTH_REQUIRE_PKCE: 'none' })).toThrow(/OAUTH_REQUIRE_PKCE: must be all or public/);
  });

  it('reads the per-IP limit of sign-ins started at the authorization endpoint', () => {
    expect(loadConfig({ OAUTH_AUTHORIZE_PER_MINUTE: '300' }).oauthAuthorizePerMinute).toBe(300);
    expect(() => loadConfig({ OAUTH_AUTHORIZE_PER_MINUTE: '0' })).toThrow(/OAUTH_AUTHORIZE_PER_MINUTE/);
  });

  it.each([['PORT', '65536'], ['PORT', '1.5'], ['DATABASE_URL', 'sqlite:'], ['PUBLIC_URL', 'not a url'], ['PUBLIC_URL', 'https://x.example/?q=1'], ['PUBLIC_URL', 'https://u:p@x.example']])(
    'refuses %s=%s',
    (name, value) => {
      expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    },
  );
});
