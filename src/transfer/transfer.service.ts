// Moving every account between stores: `accounts export` writes the store as
// JSON Lines (see transfer.format.ts), `accounts import` applies such a dump to another store.
//
// Export: one read snapshot, users paged by id, then the OAuth clients paged by client_id, so
// memory stays flat however many there are. What the OAuth server issued and its keys stay behind
// (see transfer.format.ts).
// Import: two passes. The first reads the input, checks every line and how the lines relate (ids,
// usernames, addresses, token digests and client ids unique; every address and token after its
// user; the clients after every user; one primary per user; the end record's counts), and spools
// the lines to a private temporary file. Only then does the second pass open one write transaction
// and apply it: all of it or nothing.
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Deps } from '../kernel/deps.ts';
import type { Db } from '../kernel/db/database.ts';
import { MAX_EMAILS_PER_USER } from '../emails/emails.service.ts';
import { readLines } from './lines.ts';
import {
  TransferError,
  clientRecord,
  clientRow,
  emailRecord,
  emailRow,
  headerLine,
  parseHeader,
  parseRecord,
  tokenRecord,
  tokenRow,
  userRecord,
  userRow,
  type ClientRecord,
  type Counts,
  type DumpRecord,
  type EmailRecord,
  type TokenRecord,
  type UserRecord,
} from './transfer.format.ts';
import {
  advanceIdSequences,
  clearEmailsAndTokens,
  clientsAfter,
  emailsOfUsers,
  findClientsById,
  findDeletedByIdOrUsername,
  findEmailsByIdOrKey,
  findTokensByIdOrDigest,
  findUsersByIdOrUsername,
  insertClients,
  insertEmails,
  insertTokens,
  readSnapshot,
  tokensOfUsers,
  upsertUsers,
  usersAfter,
  type Holder,
} from './transfer.repository.ts';

export type { Counts } from './transfer.format.ts';
export type ImportSummary = Counts & { newUsers: number; newClients: number };

/** Users per page on export, records per batch on import: well under every dialect's parameter limit. */
const BATCH_SIZE = 500;

// Export

/** Writes the whole store to `write` as JSON Lines; returns what it wrote. */
export async function exportDump(deps: Deps, write: (chunk: string) => void | Promise<void>, pageSize = BATCH_SIZE): Promise<Counts> {
  const counts: Counts = { users: 0, emails: 0, tokens: 0, clients: 0 };
  await readSnapshot(deps.store.db, async (trx) => {
    await write(`${headerLine(deps.clock.nowIso())}\n`);
    let afterId = 0;
    for (;;) {
      const users = await usersAfter(trx, afterId, pageSize);
      if (users.length === 0) break;
      const first = users[0]!.id;
      afterId = users[users.length - 1]!.id;
      const emails = groupByUser(await emailsOfUsers(trx, first, afterId));
      const tokens = groupByUser(await tokensOfUsers(trx, first, afterId));
      const lines: string[] = [];
      for (const user of users) {
        lines.push(JSON.stringify(userRecord(user)));
        for (const email of emails.get(user.id) ?? []) lines.push(JSON.stringify(emailRecord(email)));
        for (const token of tokens.get(user.id) ?? []) lines.push(JSON.stringify(tokenRecord(token)));
        counts.users += 1;
        counts.emails += emails.get(user.id)?.length ?? 0;
        counts.tokens += tokens.get(user.id)?.length ?? 0;
      }
      await write(`${lines.join('\n')}\n`);
    }
    let afterClientId = '';
    for (;;) {
      const clients = await clientsAfter(trx, deps.store.dialect, afterClientId, pageSize);
      if (clients.length === 0) break;
      afterClientId = clients[clients.length - 1]!.client_id;
      await write(`${clients.map((client) => JSON.stringify(clientRecord(client))).join('\n')}\n`);
      counts.clients += clients.length;
    }
    await write(`${JSON.stringify({ type: 'end', ...counts })}\n`);
  });
  return counts;
}

function groupByUser<T extends { user_id: number }>(rows: T[]): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const row of rows) {
    const group = groups.get(row.user_id);
    if (group) group.push(row);
    else groups.set(row.user_id, [row]);
  }
  return groups;
}

// Import, first pass

/** A dump whose every line has been checked, waiting in a private temporary file. */
export type CheckedDump = {
  counts: Counts;
  /** The ids of the dump's users, in dump order. */
  userIds: number[];
  /** The record lines (no header), each with its line number in the original input. */
  records(): AsyncGenerator<{ line: number; record: Exclude<DumpRecord, { type: 'end' }> }>;
  dispose(): Promise<void>;
};

type UserSeen = { line: number; username: string; emails: number; primaryLine: number | undefined };

/** Reads and checks a whole dump without touching any store; throws TransferError naming the first bad line. */
export async function checkDump(input: AsyncIterable<Buffer | string>): Promise<CheckedDump> {
  // mkdtemp makes the directory 0700: the spool holds password hashes and token digests.
  const dir = await mkdtemp(join(tmpdir(), 'accounts-import-'));
  const path = join(dir, 'records.jsonl');
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const counts = await checkAndSpool(input, path);
    return {
      ...counts,
      async *records() {
        for await (const { number, text } of readLines(createReadStream(path))) {
          const record = parseRecord(text, number + 1);
          if (record.type !== 'end') yield { line: number + 1, record };
        }
      },
      dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}

async function checkAndSpool(input: AsyncIterable<Buffer | string>, path: string): Promise<{ counts: Counts; userIds: number[] }> {
  const spool = await open(path, 'wx', 0o600);
  let buffered: string[] = [];
  let bufferedLength = 0;
  const spoolLine = async (text: string) => {
    buffered.push(text);
    bufferedLength += text.length;
    if (bufferedLength > 1 << 20) await flushSpool();
  };
  const flushSpool = async () => {
    if (buffered.length > 0) await spool.write(`${buffered.join('\n')}\n`);
    buffered = [];
    bufferedLength = 0;
  };

  try {
    const counts: Counts = { users: 0, emails: 0, tokens: 0, clients: 0 };
    const users = new Map<number, UserSeen>();
    const usernames = new Map<string, number>();
    const emailIds = new Map<number, number>();
    const emailKeys = new Map<string, number>();
    const tokenIds = new Map<number, number>();
    const tokenDigests = new Map<string, number>();
    const clientIds = new Map<string, number>();
    let firstClientLine: number | undefined;
    let lastLine = 0;
    let ended = false;

    const ownerOf = (record: EmailRecord | TokenRecord, line: number): UserSeen => {
      const owner = users.get(record.user_id);
      if (!owner) throw new TransferError(line, `${record.type} of user ${record.user_id}, who is not in the dump (a user's line comes before their emails and tokens)`);
      return owner;
    };
    const unique = <K>(seen: Map<K, number>, key: K, line: number, what: string) => {
      const earlier = seen.get(key);
      if (earlier !== undefined) throw new TransferError(line, `${what} is already on line ${earlier}`);
      seen.set(key, line);
    };

    for await (const { number: line, text, terminated } of readLines(input)) {
      lastLine = line;
      if (line === 1) {
        if (!terminated) {
          try {
            parseHeader(text, line);
          } catch {
            throw new TransferError(line, 'the dump is truncated: the header is incomplete');
          }
          throw new TransferError(line, 'the dump is truncated: it ends after the header');
        }
        parseHeader(text, line);
        continue;
      }
      if (ended) throw new TransferError(line, 'nothing may follow the "end" record');
      if (text.trim() === '') throw new TransferError(line, 'empty line');
      let record: DumpRecord;
      try {
        record = parseRecord(text, line);
      } catch (error) {
        throw terminated ? error : new TransferError(line, 'the dump is truncated: the last line is incomplete');
      }
      // A complete end record without its newline (an editor dropped it) is still complete.
      if (!terminated && record.type !== 'end') throw new TransferError(line, 'the dump is truncated: the last line is incomplete');
      if (firstClientLine !== undefined && (record.type === 'user' || record.type === 'email' || record.type === 'token')) {
        throw new TransferError(line, `a ${record.type} after the clients (line ${firstClientLine}): the clients come after every user, address and token`);
      }

      switch (record.type) {
        case 'user':
          if (users.has(record.id)) throw new TransferError(line, `user id ${record.id} is already on line ${users.get(record.id)!.line}`);
          users.set(record.id, { line, username: record.username, emails: 0, primaryLine: undefined });
          unique(usernames, record.username, line, `username "${record.username}"`);
          counts.users += 1;
          break;
        case 'email': {
          const owner = ownerOf(record, line);
          unique(emailIds, record.id, line, `email id ${record.id}`);
          unique(emailKeys, record.email_key, line, `the address "${record.email}"`);
          owner.emails += 1;
          if (owner.emails > MAX_EMAILS_PER_USER) throw new TransferError(line, `user ${record.user_id} has more than ${MAX_EMAILS_PER_USER} email addresses`);
          if (record.is_primary) {
            if (owner.primaryLine !== undefined) throw new TransferError(line, `user ${record.user_id} already has a primary address (line ${owner.primaryLine})`);
            owner.primaryLine = line;
          }
          counts.emails += 1;
          break;
        }
        case 'token':
          ownerOf(record, line);
          unique(tokenIds, record.id, line, `token id ${record.id}`);
          unique(tokenDigests, record.token_digest, line, `a token with this token_digest`);
          counts.tokens += 1;
          break;
        case 'client':
          firstClientLine ??= line;
          unique(clientIds, record.client_id, line, `client id "${record.client_id}"`);
          counts.clients += 1;
          break;
        case 'end':
          if (record.users !== counts.users || record.emails !== counts.emails || record.tokens !== counts.tokens || record.clients !== counts.clients) {
            throw new TransferError(line, `the "end" record counts ${describeCounts(record)}, but the dump has ${describeCounts(counts)}`);
          }
          ended = true;
          break;
      }
      await spoolLine(text);
    }

    if (lastLine === 0) throw new TransferError(1, 'the input is empty; expected a dump written by `accounts export`');
    if (!ended) throw new TransferError(lastLine + 1, 'the dump is truncated: it ends without the "end" record');
    for (const [id, user] of users) {
      if (user.primaryLine === undefined) throw new TransferError(user.line, `user ${id} ("${user.username}") has no primary email address`);
    }
    await flushSpool();
    return { counts, userIds: [...users.keys()] };
  } finally {
    await spool.close();
  }
}

function describeCounts(counts: Counts): string {
  return `${counts.users} users, ${counts.emails} emails, ${counts.tokens} tokens, ${counts.clients} clients`;
}

// Import, second pass

/**
 * Applies a checked dump in one transaction. Users are upserted by id. Each of the dump's users
 * ends with exactly the dump's addresses and tokens: theirs in the store are removed first, then
 * the dump's inserted with their ids (so an address may move between two of the dump's users).
 * Importing the same dump again changes nothing. A username, address or token held in the store
 * by an account the dump does not describe is a conflict, and nothing is imported. Clients are
 * matched by client_id: one the target holds already must be the dump's exactly (no command
 * changes a client, so another name, secret or redirect URI there is another registration), and
 * is left as it is; a difference is a conflict. Clients not in the dump are left alone.
 */
export async function applyDump(deps: Deps, dump: CheckedDump): Promise<ImportSummary> {
  return deps.store.write(async (trx) => {
    for (let i = 0; i < dump.userIds.length; i += BATCH_SIZE) await clearEmailsAndTokens(trx, dump.userIds.slice(i, i + BATCH_SIZE));
    const created = { users: 0, clients: 0 };
    let batch: Batch = emptyBatch();
    let size = 0;
    for await (const { line, record } of dump.records()) {
      if (record.type === 'user') batch.users.push({ line, record });
      else if (record.type === 'email') batch.emails.push({ line, record });
      else if (record.type === 'token') batch.tokens.push({ line, record });
      else batch.clients.push({ line, record });
      size += 1;
      if (size >= BATCH_SIZE) {
        await applyBatch(trx, batch, created);
        batch = emptyBatch();
        size = 0;
      }
    }
    await applyBatch(trx, batch, created);
    if (deps.store.dialect === 'postgres') await advanceIdSequences(trx);
    return { ...dump.counts, newUsers: created.users, newClients: created.clients };
  });
}

/** Reads, checks and applies a dump; nothing is written unless all of it is good. */
export async function importDump(deps: Deps, input: AsyncIterable<Buffer | string>): Promise<ImportSummary> {
  const dump = await checkDump(input);
  try {
    return await applyDump(deps, dump);
  } finally {
    await dump.dispose();
  }
}

type Numbered<T> = { line: number; record: T };
type Batch = { users: Numbered<UserRecord>[]; emails: Numbered<EmailRecord>[]; tokens: Numbered<TokenRecord>[]; clients: Numbered<ClientRecord>[] };

function emptyBatch(): Batch {
  return { users: [], emails: [], tokens: [], clients: [] };
}

/** Users first: a batch's addresses and tokens may belong to its users. Adds the new users and clients to `created`. */
async function applyBatch(trx: Db, batch: Batch, created: { users: number; clients: number }): Promise<void> {
  if (batch.users.length > 0) {
    const held = await findUsersByIdOrUsername(trx, batch.users.map((u) => u.record.id), batch.users.map((u) => u.record.username));
    const usernameOfId = new Map(held.map((h) => [h.id, h.username]));
    const idOfUsername = new Map(held.map((h) => [h.username, h.id]));
    // The schema refuses them too (a trigger); this names the line and says why.
    const deleted = await findDeletedByIdOrUsername(trx, batch.users.map((u) => u.record.id), batch.users.map((u) => u.record.username));
    for (const { line, record } of batch.users) {
      // Usernames never change, so one id with two usernames is two different accounts.
      const holder = usernameOfId.get(record.id);
      if (holder !== undefined && holder !== record.username) {
        throw new TransferError(line, `conflict: user id ${record.id} is "${holder}" in the target, not "${record.username}"`);
      }
      const holderId = idOfUsername.get(record.username);
      if (holderId !== undefined && holderId !== record.id) {
        throw new TransferError(line, `conflict: the username "${record.username}" belongs to user ${holderId} in the target, not to user ${record.id}`);
      }
      const tombstone = deleted.find((d) => d.user_id === record.id || d.username === record.username);
      if (tombstone) {
        throw new TransferError(line, `conflict: user ${tombstone.user_id} ("${tombstone.username}") was deleted in the target, and a deleted account's id and username are never used again`);
      }
      if (holder === undefined) created.users += 1;
    }
    await upsertUsers(trx, batch.users.map((u) => userRow(u.record)));
  }

  // The dump's users have no addresses or tokens left in the target (applyDump removed them), so
  // any row that shares an id or key with the batch belongs to an account outside the dump.
  if (batch.emails.length > 0) {
    const held = await findEmailsByIdOrKey(trx, batch.emails.map((e) => e.record.id), batch.emails.map((e) => e.record.email_key));
    if (held.length > 0) throw conflict(batch.emails, held, (r) => r.email_key, (r) => [`the address "${r.email}"`, `email id ${r.id}`]);
    await insertEmails(trx, batch.emails.map((e) => emailRow(e.record)));
  }
  if (batch.tokens.length > 0) {
    const held = await findTokensByIdOrDigest(trx, batch.tokens.map((t) => t.record.id), batch.tokens.map((t) => t.record.token_digest));
    if (held.length > 0) throw conflict(batch.tokens, held, (r) => r.token_digest, (r) => ['this token', `token id ${r.id}`]);
    await insertTokens(trx, batch.tokens.map((t) => tokenRow(t.record)));
  }
  if (batch.clients.length > 0) {
    const held = new Map((await findClientsById(trx, batch.clients.map((c) => c.record.client_id))).map((row) => [row.client_id, row]));
    const fresh: ClientRecord[] = [];
    for (const { line, record } of batch.clients) {
      const row = held.get(record.client_id);
      if (row === undefined) {
        fresh.push(record);
        continue;
      }
      const theirs = clientRecord(row);
      const differing = (['name', 'secret_digest', 'redirect_uris', 'created_at'] as const).filter((field) => JSON.stringify(theirs[field]) !== JSON.stringify(record[field]));
      if (differing.length > 0) {
        throw new TransferError(line, `conflict: client "${record.client_id}" is registered in the target with another ${differing.join(', ')}`);
      }
    }
    await insertClients(trx, fresh.map(clientRow));
    created.clients += fresh.length;
  }
}

/** The error for the first line of the batch that collides with a row held outside the dump. */
function conflict<T extends { id: number }>(
  rows: Numbered<T>[],
  held: Holder[],
  keyOf: (record: T) => string,
  describe: (record: T) => [byKey: string, byId: string],
): TransferError {
  for (const { line, record } of rows) {
    const byKey = held.find((h) => h.key === keyOf(record));
    const byId = held.find((h) => h.id === record.id);
    const holder = byKey ?? byId;
    if (!holder) continue;
    const [keyText, idText] = describe(record);
    const what = byKey ? `${keyText} belongs` : `${idText} is taken by a row that belongs`;
    return new TransferError(line, `conflict: ${what} to user ${holder.user_id} ("${holder.username}") in the target, who is not in the dump`);
  }
  return new TransferError(rows[0]!.line, 'conflict with a row outside the dump');
}
