// A typed client of the Accounts API: openapi-fetch over the types openapi-typescript generated
// from the service's own OpenAPI document (src/schema.ts; `npm run generate` makes it again).
// Every path, parameter, header, body and answer is typed; nothing here is written by hand but
// the credentials.
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, paths } from './schema.ts';

export type { components, paths } from './schema.ts';

/** A personal access token or an OAuth access token (Bearer), or a username with a password or token (Basic). */
export type Credentials = { token: string } | { username: string; password: string };

export type AccountsClient = Client<paths>;

export type User = components['schemas']['User'];
export type Email = components['schemas']['Email'];

function authorization(credentials: Credentials): string {
  if ('token' in credentials) return `Bearer ${credentials.token}`;
  const pair = `${credentials.username}:${credentials.password}`;
  return `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(pair)))}`;
}

/**
 * A client for the service at `baseUrl` (its PUBLIC_URL, e.g. https://accounts.example.com).
 * `options` are openapi-fetch's (a custom fetch, more headers…).
 */
export function createAccountsClient(baseUrl: string, credentials?: Credentials, options: Omit<ClientOptions, 'baseUrl'> = {}): AccountsClient {
  const headers = { ...(options.headers as Record<string, string> | undefined), ...(credentials ? { authorization: authorization(credentials) } : {}) };
  return createClient<paths>({ ...options, baseUrl: baseUrl.replace(/\/$/, ''), headers });
}
