// Registered OAuth clients: created, listed and deleted by the admin CLI, read
// by the provider through the adapter. Only the secret's SHA-256 digest is stored; the provider
// compares digests (see provider.ts, compareClientSecret).
import { sha256Hex } from '../kernel/crypto.ts';
import { randomBytes } from 'node:crypto';
import type { AdapterPayload } from 'oidc-provider';
import { ApiError } from '../kernel/errors.ts';
import type { Deps } from '../kernel/deps.ts';
import { deleteClientById, insertClient, listClientRows, type ClientRow } from './clients.repository.ts';
import { announceOAuthEnded } from './access-tokens.ts';

export type ClientSummary = {
  client_id: string;
  name: string;
  /** A confidential client authenticates with its secret; a public one only proves PKCE. */
  type: 'confidential' | 'public';
  redirect_uris: string[];
  created_at: string;
};

export type CreatedClient = { client_id: string; client_secret?: string };

export const MAX_CLIENT_NAME_LENGTH = 100;
export const MAX_REDIRECT_URIS = 20;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * A redirect URI is registered as given and later matched exactly (RFC 9700 §4.1.3). It must be
 * absolute, without a fragment (RFC 6749 §3.1.2), and https — plain http only to this machine's
 * loopback, for development and native apps (RFC 8252 §7.3). Returns a problem, or undefined.
 */
export function redirectUriProblem(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return `"${uri}" is not an absolute URL.`;
  }
  if (uri.includes('#')) return `"${uri}" has a fragment; redirect URIs must not (RFC 6749 §3.1.2).`;
  if (url.username || url.password) return `"${uri}" carries credentials.`;
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return undefined;
  if (url.protocol === 'http:') return `"${uri}" uses http; only https is allowed, or http to localhost, 127.0.0.1 or [::1].`;
  return `"${uri}" uses ${url.protocol.replace(/:$/, '')}; only https is allowed, or http to the loopback address.`;
}

function randomId(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

export async function createClient(deps: Deps, input: { name: string; redirectUris: string[]; public: boolean }): Promise<CreatedClient> {
  const errors: Record<string, string[]> = {};
  const name = input.name.trim();
  if (name.length === 0) errors.name = ['A name is required: the consent page shows it to users.'];
  else if ([...name].length > MAX_CLIENT_NAME_LENGTH) errors.name = [`At most ${MAX_CLIENT_NAME_LENGTH} characters.`];
  const problems = input.redirectUris.map(redirectUriProblem).filter((p): p is string => p !== undefined);
  if (input.redirectUris.length === 0) problems.push('At least one redirect URI is required.');
  if (input.redirectUris.length > MAX_REDIRECT_URIS) problems.push(`At most ${MAX_REDIRECT_URIS} redirect URIs.`);
  if (new Set(input.redirectUris).size !== input.redirectUris.length) problems.push('A redirect URI is listed twice.');
  if (problems.length > 0) errors.redirect_uri = problems;
  if (Object.keys(errors).length > 0) throw new ApiError('invalid', { fieldErrors: errors });

  // 144 bits: not a secret, but not guessable either. Never starting with "-", which command
  // lines would take for an option.
  let clientId = randomId(18);
  while (clientId.startsWith('-')) clientId = randomId(18);
  const secret = input.public ? undefined : randomId(32); // 256 bits
  await deps.store.write((trx) =>
    insertClient(trx, {
      client_id: clientId,
      name,
      secret_digest: secret === undefined ? null : sha256Hex(secret),
      redirect_uris: JSON.stringify(input.redirectUris),
      created_at: deps.clock.nowIso(),
    }),
  );
  return secret === undefined ? { client_id: clientId } : { client_id: clientId, client_secret: secret };
}

function summary(row: ClientRow): ClientSummary {
  return {
    client_id: row.client_id,
    name: row.name,
    type: row.secret_digest === null ? 'public' : 'confidential',
    redirect_uris: JSON.parse(row.redirect_uris) as string[],
    created_at: row.created_at,
  };
}

export async function listClients(deps: Deps): Promise<ClientSummary[]> {
  return (await listClientRows(deps.store.db)).map(summary);
}

/** Deletes the client and every code, token and grant issued to it. */
export async function deleteClient(deps: Deps, clientId: string): Promise<void> {
  const deleted = await deps.store.write((trx) => deleteClientById(trx, clientId));
  if (!deleted) throw new ApiError('not_found', { detail: `No client has the id "${clientId}".` });
  announceOAuthEnded(deps); // its users' access tokens ended with it
}

/** The client as oidc-provider's Client model wants it (OpenID Connect Dynamic Registration names). */
export function clientMetadata(row: ClientRow): AdapterPayload {
  return {
    client_id: row.client_id,
    client_name: row.name,
    redirect_uris: JSON.parse(row.redirect_uris) as string[],
    // Where OpenID RP-initiated logout may send the browser back to: the same vetted list, as
    // clients are registered with one list only (a client lists its signed-out page there too).
    post_logout_redirect_uris: JSON.parse(row.redirect_uris) as string[],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    // client_secret_post is turned into Basic before the provider sees it (oauth.routes.ts),
    // so both methods work with this one registration.
    token_endpoint_auth_method: row.secret_digest !== null ? 'client_secret_basic' : 'none',
    ...(row.secret_digest !== null ? { client_secret: row.secret_digest } : {}),
  };
}
