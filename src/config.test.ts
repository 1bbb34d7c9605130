import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('has defaults for everything', () => {
    expect(loadConfig({})).toEqual({
      host: '127.0.0.1',
      port: 8080,
      publicUrl: 'http://localhost:8080',
      database: { dialect: 'sqlite', path: 'data/accounts.db' },
      databaseUrl: 'sqlite:data/accounts.db',
      logLevel: 'info',
      bodyLimit: 65536,
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({ HOST: '0.0.0.0', PORT: '9000', DATABASE_URL: 'sqlite:///var/lib/accounts/a.db', PUBLIC_URL: 'https://accounts.example.com/base/', LOG_LEVEL: 'DEBUG', BODY_LIMIT: '2048' });
    expect(config).toMatchObject({ host: '0.0.0.0', port: 9000, publicUrl: 'https://accounts.example.com/base', database: { path: '/var/lib/accounts/a.db' }, logLevel: 'debug', bodyLimit: 2048 });
    expect(loadConfig({ HOST: '10.1.2.3', PORT: '81' }).publicUrl).toBe('http://10.1.2.3:81');
    expect(loadConfig({ HOST: '::', PORT: '81' }).publicUrl).toBe('http://localhost:81');
    expect(Object.isFrozen(config)).toBe(true);
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

  it.each([['PORT', '65536'], ['PORT', '1.5'], ['DATABASE_URL', 'sqlite:'], ['PUBLIC_URL', 'not a url'], ['PUBLIC_URL', 'https://x.example/?q=1'], ['PUBLIC_URL', 'https://u:p@x.example']])(
    'refuses %s=%s',
    (name, value) => {
      expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    },
  );
});
