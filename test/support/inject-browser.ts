// A browser's part for app.inject(): a cookie jar, the CSRF token of the last page, form posts.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

export type Browser = {
  cookies: Map<string, string>;
  csrf: string | undefined;
  get(url: string): Promise<LightMyRequestResponse>;
  post(url: string, form: Record<string, string>, options?: { csrf?: string | null }): Promise<LightMyRequestResponse>;
  login(username: string, password: string): Promise<LightMyRequestResponse>;
};

export function setCookies(res: LightMyRequestResponse): string[] {
  const header = res.headers['set-cookie'];
  return header === undefined ? [] : Array.isArray(header) ? header : [String(header)];
}

export function csrfIn(html: string): string | undefined {
  return /name="csrf_token" value="([^"]+)"/.exec(html)?.[1];
}

/** `userAgent`: the User-Agent header it sends (none by default, as app.inject). */
export function browserFor(app: FastifyInstance, options: { userAgent?: string } = {}): Browser {
  const cookies = new Map<string, string>();
  const remember = (res: LightMyRequestResponse) => {
    for (const line of setCookies(res)) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (/Max-Age=0/i.test(line)) cookies.delete(name);
      else cookies.set(name, value);
    }
    const token = csrfIn(res.body);
    if (token) browser.csrf = token;
    return res;
  };
  const cookieHeader = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  const agent = options.userAgent === undefined ? {} : { 'user-agent': options.userAgent };
  const browser: Browser = {
    cookies,
    csrf: undefined,
    async get(url) {
      return remember(await app.inject({ method: 'GET', url, headers: { cookie: cookieHeader(), ...agent } }));
    },
    async post(url, form, options = {}) {
      const csrf = options.csrf === undefined ? browser.csrf : options.csrf;
      const fields = { ...(csrf === null || csrf === undefined ? {} : { csrf_token: csrf }), ...form };
      return remember(
        await app.inject({
          method: 'POST',
          url,
          headers: { cookie: cookieHeader(), ...agent, 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams(fields).toString(),
        }),
      );
    },
    async login(username, password) {
      await browser.get('/account/login');
      return browser.post('/account/login', { username, password });
    },
  };
  return browser;
}
