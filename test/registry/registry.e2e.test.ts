// `docker login`'s world with real parts: Debian's Distribution registry (docker-registry 2.8)
// configured for token authentication against this service (realm, service, issuer, and the
// certificate `accounts registry certificate` prints), and skopeo as the client. A tiny OCI image
// is made here (tar, gzip, SHA-256; no network). Runs on both stores.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, makeTempDir, makeToken, makeUser, type TestApp } from '../support/app.ts';
import { runCliInProcess } from '../support/cli-in-process.ts';
import { freePort } from '../support/processes.ts';
import { scaled } from '../support/time.ts';

const run = promisify(execFile);
const SERVICE = 'registry.test';
let t: TestApp;
let registryLog = '';
let registryHost: string;
let image: string;
let origin: string;
let storage: string;
const children: ChildProcess[] = [];
const apps: TestApp[] = [];

/** A one-layer OCI image layout in `dir`, tagged `1`. */
function makeImage(dir: string): void {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (bytes: Buffer) => {
    const digest = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(join(blobs, digest), bytes);
    return { digest: `sha256:${digest}`, size: bytes.length };
  };
  const content = makeTempDir('accounts-layer-');
  writeFileSync(join(content, 'hello.txt'), 'hello from the accounts tests\n');
  const tar = execFileSync('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '-C', content, '-cf', '-', 'hello.txt']);
  const layer = execFileSync('gzip', ['-n'], { input: tar });
  const diffId = `sha256:${createHash('sha256').update(tar).digest('hex')}`;
  const layerBlob = put(layer);
  const config = put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [diffId] } })));
  const manifest = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layerBlob }],
      }),
    ),
  );
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': '1' } }] }));
}

/**
 * A registry trusting the token server at `serviceOrigin`, with the configuration of
 * docs/how-to/registry.md (this test's addresses) and the certificate the CLI prints; its files
 * in `storage`, which several registries may share.
 */
async function startRegistry(serviceOrigin: string, dir: string): Promise<{ host: string; process: ChildProcess }> {
  const certificate = await runCliInProcess(['registry', 'certificate'], { env: { DATABASE_URL: t.config.databaseUrl, PUBLIC_URL: serviceOrigin } });
  expect(certificate.code, certificate.stderr).toBe(0);
  expect(certificate.stdout).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
  writeFileSync(join(dir, 'accounts.pem'), certificate.stdout);
  const host = `127.0.0.1:${await freePort()}`;
  writeFileSync(
    join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log: {level: info}',
      `storage: {filesystem: {rootdirectory: ${storage}}, delete: {enabled: true}}`,
      `http: {addr: ${host}}`,
      'auth:',
      '  token:',
      `    realm: ${serviceOrigin}/registry/token`,
      `    service: ${SERVICE}`,
      `    issuer: ${serviceOrigin}`,
      `    rootcertbundle: ${join(dir, 'accounts.pem')}`,
      '',
    ].join('\n'),
  );
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  child.stdout!.on('data', (chunk: Buffer) => (registryLog += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (registryLog += chunk.toString()));
  const deadline = Date.now() + scaled(15_000);
  for (;;) {
    const answer = await fetch(`http://${host}/v2/`).catch(() => undefined);
    if (answer?.status === 401) break;
    if (Date.now() > deadline) throw new Error(`the registry did not start:\n${registryLog}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { host, process: child };
}

beforeAll(async () => {
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  t = await buildTestApp({ env: { PUBLIC_URL: origin, REGISTRY_SERVICES: SERVICE } });
  await t.app.listen({ host: '127.0.0.1', port });

  const dir = makeTempDir('accounts-registry-');
  storage = join(dir, 'data');
  ({ host: registryHost } = await startRegistry(origin, dir));
  image = join(dir, 'image');
  makeImage(image);
}, scaled(60_000));

afterAll(async () => {
  for (const child of children) child.kill('SIGTERM');
  for (const app of apps) await app.close();
  await t?.close();
});

/** skopeo, as a registry client would run it; its exit status and what it said. */
async function skopeo(args: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run('skopeo', ['--insecure-policy', ...args], { timeout: scaled(60_000) });
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}
const push = (repository: string, creds: string) => skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${image}:1`, `docker://${registryHost}/${repository}`]);
const inspect = (repository: string, creds?: string) => skopeo(['inspect', '--tls-verify=false', ...(creds ? ['--creds', creds] : ['--no-creds']), `docker://${registryHost}/${repository}`]);

describe('a real registry trusting this service', () => {
  it('takes a push into the user’s own namespace with the password, refuses one into another’s, lets another user pull (REGISTRY_PULL=users) and not anonymous', async () => {
    const alice = await makeUser(t.deps, { username: 'alice' });
    const bob = await makeUser(t.deps, { username: 'bobby' });
    const pushed = await push('alice/hello:1', `alice:${alice.password}`);
    expect(pushed.ok, `${pushed.output}\n${registryLog.slice(-2000)}`).toBe(true);
    expect((await inspect('alice/hello:1', `alice:${alice.password}`)).output).toContain('"Digest"');
    const intoAlices = await push('alice/other:1', `bobby:${bob.password}`);
    expect(intoAlices.ok).toBe(false);
    expect(intoAlices.output).toMatch(/denied|unauthorized|authentication required/i);
    const pulled = await inspect('alice/hello:1', `bobby:${bob.password}`);
    expect(pulled.ok, pulled.output).toBe(true);
    expect((await inspect('alice/hello:1')).ok).toBe(false);
    expect((await push('alice/hello:2', 'alice:not the password')).ok).toBe(false);
  }, scaled(120_000));

  it('a repo_write token pushes into its owner’s namespace; a repo_read token pulls but cannot push; a revoked token is refused', async () => {
    await makeUser(t.deps, { username: 'dave' });
    const writer = await makeToken(t.deps, 'dave', ['repo_write']);
    const reader = await makeToken(t.deps, 'dave', ['repo_read']);
    const pushed = await push('dave/app:1', `dave:${writer}`);
    expect(pushed.ok, pushed.output).toBe(true);
    expect((await inspect('dave/app:1', `dave:${reader}`)).ok).toBe(true);
    expect((await push('dave/app:2', `dave:${reader}`)).ok).toBe(false);
    const revoked = await runCliInProcess(['token', 'revoke', writer], { env: { DATABASE_URL: t.config.databaseUrl, PUBLIC_URL: origin } });
    expect(revoked.code, revoked.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 3_100));
    expect((await push('dave/app:3', `dave:${writer}`)).ok).toBe(false);
  }, scaled(120_000));

  it('a personal access token without registry scopes grants nothing there; a deactivated account is refused at its next token request', async () => {
    const carol = await makeUser(t.deps, { username: 'carol' });
    const token = await makeToken(t.deps, 'carol', ['profile_read', 'profile_write', 'email_read', 'email_write']);
    expect((await push('carol/hello:1', `carol:${token}`)).ok).toBe(false);
    expect((await push('carol/hello:1', `carol:${carol.password}`)).ok).toBe(true);
    const off = await runCliInProcess(['user', 'deactivate', 'carol'], { env: { DATABASE_URL: t.config.databaseUrl, PUBLIC_URL: origin } });
    expect(off.code, off.stderr).toBe(0);
    // Within the credential cache's 3 seconds at most, without Redis.
    await new Promise((r) => setTimeout(r, 3_100));
    expect((await inspect('carol/hello:1', `carol:${carol.password}`)).ok).toBe(false);
  }, scaled(120_000));

  it('REGISTRY_PULL=anyone: anonymous pulls from any namespace, pushes still need the owner (a second instance of the service on the same database, and a registry of its own on the same storage)', async () => {
    const owner = await makeUser(t.deps, { username: 'frank' });
    expect((await push('frank/public:1', `frank:${owner.password}`)).ok).toBe(true);
    const port = await freePort();
    const open = await buildTestApp({ databaseUrl: t.config.databaseUrl, env: { PUBLIC_URL: `http://127.0.0.1:${port}`, REGISTRY_SERVICES: SERVICE, REGISTRY_PULL: 'anyone' } });
    apps.push(open);
    await open.app.listen({ host: '127.0.0.1', port });
    const { host } = await startRegistry(`http://127.0.0.1:${port}`, makeTempDir('accounts-registry-open-'));
    const anonymous = await skopeo(['inspect', '--tls-verify=false', '--no-creds', `docker://${host}/frank/public:1`]);
    expect(anonymous.ok, `${anonymous.output}\n${registryLog.slice(-2000)}`).toBe(true);
    // Here (REGISTRY_PULL=users) the same pull is still refused.
    expect((await inspect('frank/public:1')).ok).toBe(false);
    const anonymousPush = await skopeo(['copy', '--dest-tls-verify=false', '--dest-no-creds', `oci:${image}:1`, `docker://${host}/frank/public:2`]);
    expect(anonymousPush.ok).toBe(false);
  }, scaled(120_000));

  it('skopeo login with a password and with a token; a refresh token kept as auth.json\'s identitytoken pushes through the POST grant until the password changes', async () => {
    const erin = await makeUser(t.deps, { username: 'erin' });
    const authfile = join(makeTempDir('accounts-auth-'), 'auth.json');
    const login = (user: string, secret: string) => skopeo(['login', '--tls-verify=false', '--authfile', authfile, '-u', user, '-p', secret, registryHost]);
    expect((await login('erin', erin.password)).ok).toBe(true);
    expect((await login('erin', 'not the password either')).ok).toBe(false);
    const writer = await makeToken(t.deps, 'erin', ['repo_write']);
    const withToken = await login('erin', writer);
    expect(withToken.ok, withToken.output).toBe(true);

    // What `docker login` keeps: the refresh token, from the OAuth2 variant with access_type=offline.
    const form = new URLSearchParams({ grant_type: 'password', service: SERVICE, client_id: 'docker', access_type: 'offline', username: 'erin', password: erin.password });
    const answer = await fetch(`${origin}/registry/token`, { method: 'POST', body: form });
    expect(answer.status).toBe(200);
    const { refresh_token: identityToken } = (await answer.json()) as { refresh_token: string };
    // As docker writes it: the username with an empty password, and the identity token.
    writeFileSync(authfile, JSON.stringify({ auths: { [registryHost]: { auth: Buffer.from('erin:').toString('base64'), identitytoken: identityToken } } }));
    const pushed = await skopeo(['copy', '--dest-tls-verify=false', '--dest-authfile', authfile, `oci:${image}:1`, `docker://${registryHost}/erin/hello:1`]);
    expect(pushed.ok, `${pushed.output}\n${registryLog.slice(-2000)}`).toBe(true);
    const used = await t.store.db.selectFrom('registry_refresh_tokens').select(['client_id', 'last_used_at']).where('user_id', '=', erin.id).executeTakeFirstOrThrow();
    expect(used.last_used_at).not.toBeNull();

    const changed = await runCliInProcess(['user', 'set-password', 'erin', '--password-stdin'], { env: { DATABASE_URL: t.config.databaseUrl, PUBLIC_URL: origin }, stdin: 'an entirely new password 7\n' });
    expect(changed.code, changed.stderr).toBe(0);
    const after = await skopeo(['copy', '--dest-tls-verify=false', '--dest-authfile', authfile, `oci:${image}:1`, `docker://${registryHost}/erin/hello:2`]);
    expect(after.ok).toBe(false);
  }, scaled(120_000));
});
