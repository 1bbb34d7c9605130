// Sealing small secrets the service must read back (the TOTP secrets of authenticator apps), so
// that the database alone, a copy of one table, or a row in a log does not give them away.
// AES-256-GCM (NIST SP 800-38D) with a random 96-bit nonce per message; the associated data names
// what the secret belongs to ("totp:<user id>"), so a sealed value moved to another row or account
// does not open. The key is SECRET_KEY when the operator sets it (kept outside the database: a
// stolen database then reveals nothing); otherwise one the service makes on first use and keeps in
// its own database (table service_keys), which protects copies of single tables and exports only.
// A sealed value reads "v1.<nonce>.<ciphertext and tag>" (base64url), and "v1" names which key.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Store } from './db/store.ts';

export type SecretBox = {
  seal(plaintext: string, context: string): Promise<string>;
  /** The plaintext, or undefined when the value does not open with this key for this context. */
  open(sealed: string, context: string): Promise<string | undefined>;
};

const KEY_NAME = 'secret-box-v1';
const ALGORITHM = 'aes-256-gcm';

export function createSecretBox(options: { store: Store; configuredKey: Buffer | undefined; nowIso: () => string }): SecretBox {
  let key: Promise<Buffer> | undefined = options.configuredKey ? Promise.resolve(options.configuredKey) : undefined;

  /** The stored key, made by whichever process gets there first (the others read that one). */
  const storedKey = async (): Promise<Buffer> => {
    const db = options.store.db;
    const existing = await db.selectFrom('service_keys').select('value').where('name', '=', KEY_NAME).executeTakeFirst();
    if (existing) return Buffer.from(existing.value, 'base64url');
    await options.store.write((trx) =>
      trx
        .insertInto('service_keys')
        .values({ name: KEY_NAME, value: randomBytes(32).toString('base64url'), created_at: options.nowIso() })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute(),
    );
    const made = await db.selectFrom('service_keys').select('value').where('name', '=', KEY_NAME).executeTakeFirstOrThrow();
    return Buffer.from(made.value, 'base64url');
  };
  const keyOf = (): Promise<Buffer> => {
    key ??= storedKey().catch((error: unknown) => {
      key = undefined; // a failed read is tried again next time
      throw error;
    });
    return key;
  };

  return {
    async seal(plaintext, context) {
      const nonce = randomBytes(12);
      const cipher = createCipheriv(ALGORITHM, await keyOf(), nonce);
      cipher.setAAD(Buffer.from(context));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `v1.${nonce.toString('base64url')}.${body.toString('base64url')}`;
    },
    async open(sealed, context) {
      const [version, nonce, body] = sealed.split('.');
      if (version !== 'v1' || !nonce || !body) return undefined;
      const bytes = Buffer.from(body, 'base64url');
      if (bytes.length < 16) return undefined;
      try {
        const decipher = createDecipheriv(ALGORITHM, await keyOf(), Buffer.from(nonce, 'base64url'));
        decipher.setAAD(Buffer.from(context));
        decipher.setAuthTag(bytes.subarray(bytes.length - 16));
        return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString('utf8');
      } catch {
        return undefined;
      }
    },
  };
}
