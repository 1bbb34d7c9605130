// Mounts oidc-provider under Fastify at the v1.1 paths, and adapts two things of the docker.io
// API the provider does not do itself (docs/reference/oauth.md):
// - the token endpoint also takes a JSON body, and `"grant_type": "code"` for authorization_code;
// - a client may put its secret in the body (client_secret_post) although it is registered for
//   HTTP Basic: the body's id and secret become a Basic header (RFC 6749 §2.3.1 allows both).
// Both are done by rewriting the request into the standard form the provider then checks as usual.
// The provider reads the request body itself, so its routes live in a scope without body parsers.
import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import type { Deps } from '../kernel/deps.ts';
import { handOverPages, sendPage } from '../web/send.ts';
import { errorPage } from './oauth.pages.ts';
import { OAUTH_PATHS } from './paths.ts';
import { MAX_AUTHORIZATION_QUERY } from './request-limits.ts';

/** Endpoints that authenticate the client. */
const CLIENT_AUTH_PATHS = new Set<string>([OAUTH_PATHS.token, OAUTH_PATHS.revocation, OAUTH_PATHS.introspection]);

type OAuthErrorBody = { error: string; error_description: string };

function oauthError(reply: FastifyReply, status: number, body: OAuthErrorBody): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').header('pragma', 'no-cache').type('application/json; charset=utf-8').send(body);
}

async function readBody(request: IncomingMessage, limit: number): Promise<Buffer | 'too_large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return 'too_large';
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** The same request, with a new form body: what the provider reads instead of the original. */
function withFormBody(original: IncomingMessage, form: URLSearchParams, authorization: string | undefined): IncomingMessage {
  const body = Buffer.from(form.toString(), 'utf8');
  const stream = new Readable({ read() {} });
  stream.push(body);
  stream.push(null);
  const headers = { ...original.headers, 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length) };
  delete headers['transfer-encoding'];
  if (authorization !== undefined) headers.authorization = authorization;
  return Object.assign(stream, {
    headers,
    method: original.method,
    url: original.url,
    socket: original.socket,
    connection: original.socket,
    httpVersion: original.httpVersion,
    httpVersionMajor: original.httpVersionMajor,
    httpVersionMinor: original.httpVersionMinor,
  }) as unknown as IncomingMessage;
}

type Parsed = { form: URLSearchParams } | { error: string };

/** The body as form parameters, from either encoding; JSON values must be strings (or numbers). */
function parseBody(contentType: string, raw: Buffer, allowJson: boolean): Parsed {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') return { form: new URLSearchParams(raw.toString('utf8')) };
  if (type === 'application/json' && allowJson) {
    let value: unknown;
    try {
      value = JSON.parse(raw.toString('utf8'));
    } catch {
      return { error: 'the request body is not valid JSON' };
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { error: 'the JSON body must be an object' };
    const form = new URLSearchParams();
    for (const [key, item] of Object.entries(value)) {
      if (typeof item === 'string') form.append(key, item);
      else if (typeof item === 'number' && Number.isFinite(item)) form.append(key, String(item));
      else return { error: `the JSON member "${key}" must be a string` };
    }
    return { form };
  }
  return { error: allowJson ? 'use application/x-www-form-urlencoded or application/json' : 'use application/x-www-form-urlencoded' };
}

function basicHeader(clientId: string, secret: string): string {
  // RFC 6749 §2.3.1: each part form-urlencoded, then Basic.
  const encode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`, 'utf8').toString('base64')}`;
}

export async function registerOAuthRoutes(app: FastifyInstance, deps: Deps, provider: Provider): Promise<void> {
  const callback = provider.callback();
  // The provider builds its endpoints' URLs from the request's origin; they must be PUBLIC_URL's
  // (the issuer), whatever Host a client or a proxy sent. It trusts X-Forwarded-* (provider.ts),
  // which are therefore always set here, from PUBLIC_URL and from the address Fastify decided
  // the client has (TRUST_PROXY), never passed on from the request.
  const publicOrigin = new URL(deps.config.publicUrl);
  const handOver = async (reply: FastifyReply, req: IncomingMessage, clientIp = reply.request.ip) => {
    req.headers['x-forwarded-host'] = publicOrigin.host;
    req.headers['x-forwarded-proto'] = publicOrigin.protocol.replace(/:$/, '');
    req.headers['x-forwarded-for'] = clientIp;
    // What the app's onSend hook adds to every answer; the provider's answers skip that hook.
    reply.raw.setHeader('x-content-type-options', 'nosniff');
    // Its pages take the page headers from this reply (src/web/send.ts).
    handOverPages(reply);
    reply.hijack();
    await callback(req, reply.raw);
  };

  /** Token, revocation and introspection: normalised, then handed over. */
  const clientAuthenticated = async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0]!;
    const endpoint = path.endsWith('/') ? path : `${path}/`;
    if (request.method !== 'POST') return handOver(reply, request.raw); // CORS preflight
    const raw = await readBody(request.raw, deps.config.bodyLimit).catch(() => 'aborted' as const);
    if (raw === 'aborted') {
      // The client went away mid-body: nobody to answer.
      reply.hijack();
      reply.raw.destroy();
      return;
    }
    if (raw === 'too_large') return oauthError(reply, 413, { error: 'invalid_request', error_description: 'the request body is too large' });
    const parsed = parseBody(request.headers['content-type'] ?? '', raw, endpoint === OAUTH_PATHS.token);
    if ('error' in parsed) return oauthError(reply, 400, { error: 'invalid_request', error_description: parsed.error });
    const { form } = parsed;
    // RFC 6749 §3.2: no parameter more than once (rewriting below must not hide a repeat).
    for (const name of ['grant_type', 'client_id', 'client_secret']) {
      if (form.getAll(name).length > 1) return oauthError(reply, 400, { error: 'invalid_request', error_description: `${name} must not be repeated` });
    }
    if (endpoint === OAUTH_PATHS.token && form.get('grant_type') === 'code') form.set('grant_type', 'authorization_code');
    let authorization: string | undefined;
    const clientId = form.get('client_id');
    const secret = form.get('client_secret');
    if (!request.headers.authorization && clientId !== null && secret !== null) {
      authorization = basicHeader(clientId, secret);
      form.delete('client_secret');
      form.delete('client_id');
    }
    return handOver(reply, withFormBody(request.raw, form, authorization));
  };

  /**
   * The authorization and end-session endpoints, whose parameters the provider may store before
   * anyone has signed in. A query longer than any client needs is refused before the provider
   * reads it (the parameters' own limits are the provider's, request-limits.ts): on the error
   * page, as the client and redirect URI are not yet known good.
   */
  const boundedQuery = (request: FastifyRequest, reply: FastifyReply) => {
    const query = request.url.indexOf('?');
    if (query >= 0 && request.url.length - query - 1 > MAX_AUTHORIZATION_QUERY) {
      const page = errorPage({ error: 'invalid_request', error_description: `the request is longer than ${MAX_AUTHORIZATION_QUERY} characters` }, new Error('too long'));
      return sendPage(reply, 414, page, { referrerPolicy: 'no-referrer', openedByApplications: true });
    }
    return handOver(reply, request.raw);
  };

  await app.register(async (scope) => {
    // The provider reads bodies itself: leave the stream alone.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    const hidden = { schema: { hide: true } };
    const passThrough = (request: FastifyRequest, reply: FastifyReply) => handOver(reply, request.raw);
    // Each endpoint with the methods the provider serves there (OPTIONS: CORS preflight), so any
    // other method gets the API's 405 with Allow, and any other path its 404.
    // GET only (RFC 6749 §3.1 requires GET): docker.io's defaults are applied to its query.
    scope.route({ method: ['GET'], url: OAUTH_PATHS.authorization, ...hidden, handler: boundedQuery });
    // Where the browser comes back to the provider after the login and consent pages.
    scope.route({ method: ['GET'], url: `${OAUTH_PATHS.authorization}:uid`, ...hidden, handler: passThrough });
    for (const path of CLIENT_AUTH_PATHS) scope.route({ method: ['POST', 'OPTIONS'], url: path, ...hidden, handler: clientAuthenticated });
    scope.route({ method: ['GET', 'POST', 'OPTIONS'], url: OAUTH_PATHS.userinfo, ...hidden, handler: passThrough });
    scope.route({ method: ['GET', 'OPTIONS'], url: OAUTH_PATHS.jwks, ...hidden, handler: passThrough });
    // OpenID RP-initiated logout: the page that asks, the form's target, the page that says done.
    scope.route({ method: ['GET'], url: OAUTH_PATHS.endSession, ...hidden, handler: boundedQuery });
    scope.route({ method: ['POST'], url: `${OAUTH_PATHS.endSession}confirm`, ...hidden, handler: passThrough });
    scope.route({ method: ['GET'], url: `${OAUTH_PATHS.endSession}success`, ...hidden, handler: passThrough });
    scope.route({ method: ['GET', 'OPTIONS'], url: '/.well-known/openid-configuration', ...hidden, handler: passThrough });
    // RFC 8414 §3: the same metadata, at the OAuth well-known path.
    scope.route({
      method: ['GET', 'OPTIONS'],
      url: '/.well-known/oauth-authorization-server',
      ...hidden,
      handler: (request, reply) => {
        request.raw.url = '/.well-known/openid-configuration';
        return passThrough(request, reply);
      },
    });
  });
}
