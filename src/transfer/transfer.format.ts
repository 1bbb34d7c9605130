// The dump format of `accounts export` / `accounts import`: JSON Lines, one object a line.
//
//   {"format":"docker-accounts","version":1,"exported_at":"…"}      the header, always line 1
//   {"type":"user","id":1,"username":"janedoe",…}                   each user, then
//   {"type":"email","id":1,"user_id":1,"email":"…",…}               its addresses and
//   {"type":"token","id":1,"user_id":1,"token_digest":"…",…}        its tokens
//   {"type":"client","client_id":"…","secret_digest":"…",…}         after every user, each OAuth client
//   {"type":"end","users":1,"emails":1,"tokens":1,"clients":1}      the last line
//
// Rows move as they are stored (ids, password hashes, token digests, client secret digests), so
// passwords, tokens and the registered applications' client ids and secrets keep working in the
// other store. The end record is there because an export cut short (a killed process, a full
// disk) usually ends at a line boundary, where nothing else would show it.
//
// Not in a dump: what the OAuth server issued (grants, codes, access and refresh tokens, sessions:
// table oauth_artifacts) and its own secrets (the ID-token signing key, cookie keys: oauth_secrets).
// After a move users authorise their applications again, and the target makes a new signing key,
// which relying parties pick up from the JWKS. The audit trail is not in it either.
//
// Version 1 still: a dump written before clients were exported (no client records, no "clients"
// in the end record) reads as one with no clients.
import type { Insertable, Selectable } from 'kysely';
import type { AccessTokenRow, EmailRow, OAuthClientRow, UserRow } from '../kernel/db/database.ts';
import { parseEmail } from '../kernel/email-address.ts';
import { MAX_CLIENT_NAME_LENGTH, MAX_REDIRECT_URIS, redirectUriProblem } from '../oauth/clients.service.ts';
import { isTokenScope, TOKEN_SCOPES } from '../auth/scopes.ts';
import { isValidUsername } from '../users/username.ts';

export const FORMAT_NAME = 'docker-accounts';
export const FORMAT_VERSION = 1;

export type Header = { format: typeof FORMAT_NAME; version: typeof FORMAT_VERSION; exported_at: string };

export type UserRecord = {
  type: 'user';
  id: number;
  username: string;
  password_hash: string | null;
  full_name: string;
  location: string;
  company: string;
  profile_url: string;
  gravatar_email: string;
  is_active: boolean;
  date_joined: string;
  updated_at: string;
};

export type EmailRecord = {
  type: 'email';
  id: number;
  user_id: number;
  email: string;
  email_key: string;
  verified: boolean;
  is_primary: boolean;
  created_at: string;
};

export type TokenRecord = {
  type: 'token';
  id: number;
  user_id: number;
  name: string;
  token_digest: string;
  token_hint: string;
  scopes: string[];
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
};

/** A registered OAuth client (src/oauth/clients.service.ts); secret_digest is null for a public one. */
export type ClientRecord = {
  type: 'client';
  client_id: string;
  name: string;
  secret_digest: string | null;
  redirect_uris: string[];
  created_at: string;
};

export type Counts = { users: number; emails: number; tokens: number; clients: number };
export type EndRecord = { type: 'end' } & Counts;

export type DumpRecord = UserRecord | EmailRecord | TokenRecord | ClientRecord | EndRecord;

/** A dump that cannot be imported, with the line that shows it. */
export class TransferError extends Error {
  readonly line: number;
  constructor(line: number, problem: string) {
    super(`line ${line}: ${problem}`);
    this.name = 'TransferError';
    this.line = line;
  }
}

// Rows → records (export)

export function headerLine(exportedAt: string): string {
  const header: Header = { format: FORMAT_NAME, version: FORMAT_VERSION, exported_at: exportedAt };
  return JSON.stringify(header);
}

export function userRecord(row: Selectable<UserRow>): UserRecord {
  return {
    type: 'user',
    id: row.id,
    username: row.username,
    password_hash: row.password_hash,
    full_name: row.full_name,
    location: row.location,
    company: row.company,
    profile_url: row.profile_url,
    gravatar_email: row.gravatar_email,
    is_active: row.is_active === 1,
    date_joined: row.date_joined,
    updated_at: row.updated_at,
  };
}

export function emailRecord(row: Selectable<EmailRow>): EmailRecord {
  return {
    type: 'email',
    id: row.id,
    user_id: row.user_id,
    email: row.email,
    email_key: row.email_key,
    verified: row.verified === 1,
    is_primary: row.is_primary === 1,
    created_at: row.created_at,
  };
}

export function tokenRecord(row: Selectable<AccessTokenRow>): TokenRecord {
  return {
    type: 'token',
    id: row.id,
    user_id: row.user_id,
    name: row.name,
    token_digest: row.token_digest,
    token_hint: row.token_hint,
    scopes: row.scopes.split(' ').filter((s) => s !== ''),
    created_at: row.created_at,
    expires_at: row.expires_at,
    last_used_at: row.last_used_at,
    revoked_at: row.revoked_at,
  };
}

export function clientRecord(row: Selectable<OAuthClientRow>): ClientRecord {
  return {
    type: 'client',
    client_id: row.client_id,
    name: row.name,
    secret_digest: row.secret_digest,
    redirect_uris: JSON.parse(row.redirect_uris) as string[],
    created_at: row.created_at,
  };
}

// Records → rows (import). email_count is left to the triggers.

export function userRow(record: UserRecord): Insertable<UserRow> & { id: number } {
  const { type: _type, is_active, ...rest } = record;
  return { ...rest, is_active: is_active ? 1 : 0 };
}

export function emailRow(record: EmailRecord): Insertable<EmailRow> & { id: number } {
  const { type: _type, verified, is_primary, ...rest } = record;
  return { ...rest, verified: verified ? 1 : 0, is_primary: is_primary ? 1 : 0 };
}

export function tokenRow(record: TokenRecord): Insertable<AccessTokenRow> & { id: number } {
  const { type: _type, scopes, ...rest } = record;
  return { ...rest, scopes: scopes.join(' ') };
}

/** redirect_uris as createClient stores them: the JSON of the list, in its order. */
export function clientRow(record: ClientRecord): Insertable<OAuthClientRow> {
  const { type: _type, redirect_uris, ...rest } = record;
  return { ...rest, redirect_uris: JSON.stringify(redirect_uris) };
}

// Validation. Each check returns what is wrong with a value, or undefined.

type Check = (value: unknown) => string | undefined;

// What src/kernel/clock.ts writes: RFC 3339 UTC with six fractional digits, so times compare as text.
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
// createClient makes 24 base64url characters; a little room, never ':' (HTTP Basic) or white space.
const CLIENT_ID = /^[A-Za-z0-9_-]{1,128}$/;

const id: Check = (v) => (Number.isSafeInteger(v) && (v as number) > 0 ? undefined : 'must be a positive integer');
const count: Check = (v) => (Number.isSafeInteger(v) && (v as number) >= 0 ? undefined : 'must be a non-negative integer');
const text: Check = (v) => (typeof v === 'string' && v.isWellFormed() ? undefined : 'must be a string');
const nonEmptyText: Check = (v) => text(v) ?? ((v as string) === '' ? 'must not be empty' : undefined);
const boolean: Check = (v) => (typeof v === 'boolean' ? undefined : 'must be true or false');
const timestamp: Check = (v) =>
  typeof v === 'string' && TIMESTAMP.test(v) && !Number.isNaN(Date.parse(v)) ? undefined : 'must be a UTC timestamp like 2026-11-23T07:21:43.515592Z';
const nullable =
  (check: Check): Check =>
  (v) =>
    v === null ? undefined : check(v);
const username: Check = (v) => (typeof v === 'string' && isValidUsername(v) ? undefined : 'must be 4 to 30 lowercase letters and digits');
const digest: Check = (v) => (typeof v === 'string' && SHA256_HEX.test(v) ? undefined : 'must be 64 lowercase hexadecimal digits');
const scopes: Check = (v) =>
  Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string' && isTokenScope(s)) && new Set(v).size === v.length
    ? undefined
    : `must be a non-empty list of distinct scopes (${TOKEN_SCOPES.join(', ')})`;
const clientId: Check = (v) => (typeof v === 'string' && CLIENT_ID.test(v) ? undefined : 'must be 1 to 128 letters, digits, "-" and "_"');
// The rules of createClient: a name users can read on the consent page, at most 100 characters.
const clientName: Check = (v) =>
  text(v) ?? ((v as string).trim() === '' || [...(v as string)].length > MAX_CLIENT_NAME_LENGTH ? `must be 1 to ${MAX_CLIENT_NAME_LENGTH} characters, not blank` : undefined);
const redirectUris: Check = (v) => {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_REDIRECT_URIS) return `must be a list of 1 to ${MAX_REDIRECT_URIS} redirect URIs`;
  for (const uri of v as unknown[]) {
    if (typeof uri !== 'string' || !uri.isWellFormed()) return 'must be a list of strings';
    const problem = redirectUriProblem(uri);
    if (problem) return `holds a redirect URI that cannot be registered: ${problem}`;
  }
  return new Set(v).size === v.length ? undefined : 'must not list a redirect URI twice';
};

const FIELDS = {
  user: {
    id,
    username,
    password_hash: nullable(nonEmptyText),
    full_name: text,
    location: text,
    company: text,
    profile_url: text,
    gravatar_email: text,
    is_active: boolean,
    date_joined: timestamp,
    updated_at: timestamp,
  },
  email: { id, user_id: id, email: nonEmptyText, email_key: nonEmptyText, verified: boolean, is_primary: boolean, created_at: timestamp },
  token: {
    id,
    user_id: id,
    name: nonEmptyText,
    token_digest: digest,
    token_hint: nonEmptyText,
    scopes,
    created_at: timestamp,
    expires_at: nullable(timestamp),
    last_used_at: nullable(timestamp),
    revoked_at: nullable(timestamp),
  },
  client: { client_id: clientId, name: clientName, secret_digest: nullable(digest), redirect_uris: redirectUris, created_at: timestamp },
  end: { users: count, emails: count, tokens: count, clients: count },
} satisfies Record<DumpRecord['type'], Record<string, Check>>;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseObject(text: string, line: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TransferError(line, `not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(value)) throw new TransferError(line, 'expected a JSON object');
  return value;
}

/** Every field present, of the right kind, and no other. */
function checkFields(object: Record<string, unknown>, checks: Record<string, Check>, what: string, line: number): void {
  for (const [field, check] of Object.entries(checks)) {
    if (!Object.hasOwn(object, field)) throw new TransferError(line, `${what}: missing field "${field}"`);
    const problem = check(object[field]);
    if (problem) throw new TransferError(line, `${what}: "${field}" ${problem}`);
  }
  for (const field of Object.keys(object)) {
    if (field !== 'type' && !Object.hasOwn(checks, field)) throw new TransferError(line, `${what}: unknown field "${field}"`);
  }
}

export function parseHeader(text: string, line: number): Header {
  const object = parseObject(text, line);
  if (object.format !== FORMAT_NAME) {
    throw new TransferError(line, `not a dump of this service: the first line must be {"format":"${FORMAT_NAME}","version":${FORMAT_VERSION},…}`);
  }
  if (object.version !== FORMAT_VERSION) {
    throw new TransferError(line, `format version ${JSON.stringify(object.version)} is not supported (this version reads ${FORMAT_VERSION})`);
  }
  if (timestamp(object.exported_at)) throw new TransferError(line, `header: "exported_at" ${timestamp(object.exported_at)}`);
  return object as Header;
}

/** Parses one record line; checks its shape, not how it relates to other lines. */
export function parseRecord(text: string, line: number): DumpRecord {
  const object = parseObject(text, line);
  const type = object.type;
  if (typeof type !== 'string' || !Object.hasOwn(FIELDS, type)) {
    const known = Object.keys(FIELDS).join(', ');
    throw new TransferError(line, type === undefined ? `missing field "type" (one of ${known})` : `unknown type ${JSON.stringify(type)} (expected one of ${known})`);
  }
  // A dump written before clients were exported has none, and its end record does not count them.
  if (type === 'end' && !Object.hasOwn(object, 'clients')) object.clients = 0;
  checkFields(object, FIELDS[type as DumpRecord['type']], type, line);
  if (type === 'email') {
    const parsed = parseEmail(object.email as string);
    if ('error' in parsed) throw new TransferError(line, `email: "email" is not a valid address (${parsed.error})`);
    if (parsed.key !== object.email_key) throw new TransferError(line, `email: "email_key" must be ${JSON.stringify(parsed.key)}, the key of "email"`);
  }
  return object as DumpRecord;
}
