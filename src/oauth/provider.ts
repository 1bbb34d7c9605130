// The OAuth 2.0 authorization server and OpenID Provider: oidc-provider, configured
// for the docker.io v1.1 paths and today's practice (RFC 9700): authorization code with PKCE
// (S256) only, exact redirect URIs, one-time codes, rotating refresh tokens, opaque access
// tokens for the API as a resource server (RFC 8707), revocation and introspection.
import Provider, { errors, interactionPolicy, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Deps } from '../kernel/deps.ts';
import { findUser, gravatarUrl } from '../users/users.service.ts';
import { listUserEmails } from '../emails/emails.service.ts';
import { SCOPES, isScope } from '../auth/scopes.ts';
import { createAdapterClass } from './adapter.ts';
import { OAUTH_PATHS, apiResource } from './paths.ts';
import type { ProviderSecrets } from './keys.ts';
import { findClientById } from './clients.repository.ts';
import { DEFAULT_SCOPE, OIDC_SCOPES, unknownScopes } from './scopes.ts';
import { sha256Hex } from '../kernel/crypto.ts';
import { errorPage, signOutPage, signedOutPage, tooManySignInsPage } from './oauth.pages.ts';
import { originsOf } from '../web/security.ts';
import { secureHandedOverPage } from '../web/send.ts';
import type { AuthorizeThrottle } from './authorize-throttle.ts';
import { secureFormPages } from './form-pages.ts';
import { LOGIN_SESSION_COOKIE, noteLoginSession } from './login-sessions.ts';
import { storableUserAgent } from '../web/user-agent.ts';
import { parameterLengthChecks } from './request-limits.ts';

/** What findAccount gives the provider; `username` and `userId` also go into token responses. */
export type OAuthAccount = {
  accountId: string;
  userId: number;
  username: string;
  claims(use: string, scope: string): Promise<Record<string, unknown> & { sub: string }>;
};

export async function findOAuthAccount(deps: Deps, sub: string): Promise<OAuthAccount | undefined> {
  if (!/^[1-9]\d{0,15}$/.test(sub)) return undefined;
  const user = await findUser(deps, Number(sub));
  // A deactivated account can neither sign in nor use or refresh what it granted.
  if (!user || user.is_active !== 1) return undefined;
  return {
    accountId: sub,
    userId: user.id,
    username: user.username,
    async claims() {
      const primary = (await listUserEmails(deps, user)).find((e) => e.primary);
      // OpenID Connect Core §5.1 standard claims; the provider keeps those the scopes allow.
      return {
        sub,
        preferred_username: user.username,
        name: user.full_name || user.username,
        ...(user.profile_url ? { website: user.profile_url } : {}),
        ...(user.gravatar_email ? { picture: gravatarUrl(user.gravatar_email) } : {}),
        updated_at: Math.floor(Date.parse(user.updated_at) / 1000),
        ...(primary ? { email: primary.email, email_verified: primary.verified } : {}),
      };
    },
  };
}

/**
 * oidc-provider ignores scopes it does not know; RFC 6749 §4.1.2.1 says invalid_scope. Called
 * from the resource indicator hooks, which run once the client and its redirect URI are known
 * good, so the error goes to the client's redirect URI.
 */
function rejectUnknownScopes(ctx: KoaContextWithOIDC): void {
  const unknown = unknownScopes(ctx.oidc.params?.scope as string | undefined);
  if (unknown.length > 0) throw new errors.InvalidScope('requested scope is not known', unknown.join(' '));
}

/** A token's account (if it has one) may still use what it granted: it was not deactivated. */
async function accountMayUse(deps: Deps, accountId: string | undefined): Promise<boolean> {
  return accountId === undefined || (await findOAuthAccount(deps, accountId)) !== undefined;
}

// How long an unfinished sign-in (the login and consent pages) is kept: enough to log in, and it
// bounds what anonymous requests leave stored (authorize-throttle.ts, request-limits.ts).
const INTERACTION_SECONDS = 10 * 60;

/** The reason the login prompt gives for a sign-in whose account can no longer sign in. */
export const ACCOUNT_GONE = 'account_gone';

/**
 * The provider's prompts, plus one: a browser still signed in as an account that can no longer
 * sign in (deactivated since) is asked to log in again. Without it the provider goes on to its
 * consent checks with no account and fails (a 500).
 */
function interactionPolicyOf(): interactionPolicy.Prompt[] {
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(
    new interactionPolicy.Check(ACCOUNT_GONE, 'the signed-in account can no longer sign in', (ctx) => ctx.oidc.session?.accountId !== undefined && ctx.oidc.account === undefined),
  );
  return policy;
}

/** What the app hooks into the provider. */
export type ProviderHooks = {
  authorizeThrottle: AuthorizeThrottle;
  /** A browser signed out at the end-session endpoint (OpenID RP-initiated logout). */
  onSignOut(userId: number): Promise<void>;
  log: { warn(object: object, message: string): void; error(object: object, message: string): void };
};

/**
 * Status and headers of a page the provider answers with: those of the service's other pages
 * (src/web/security.ts). `formTargets`: origins its form may lead on to besides this one.
 */
function setPageHeaders(ctx: Pick<KoaContextWithOIDC, 'status' | 'type' | 'res'>, status: number, formTargets: readonly string[] = []): void {
  ctx.status = status;
  ctx.type = 'html';
  secureHandedOverPage(ctx.res, { referrerPolicy: 'no-referrer', formTargets, openedByApplications: true });
}

/** The end-session endpoint's page: who is signed in, and a button that confirms the sign-out. */
async function renderSignOut(deps: Deps, ctx: KoaContextWithOIDC): Promise<void> {
  const { session, params, client } = ctx.oidc;
  const account = session?.accountId ? await findOAuthAccount(deps, session.accountId) : undefined;
  const returnTo = params?.post_logout_redirect_uri;
  // The confirmation redirects on to the client's post-logout URI: form-action must allow it.
  setPageHeaders(ctx, 200, originsOf(returnTo));
  ctx.body = signOutPage({
    action: ctx.oidc.urlFor('end_session_confirm'),
    xsrf: String((session?.state as { secret?: unknown } | undefined)?.secret ?? ''),
    username: account?.username,
    clientName: client?.clientName,
  });
}

export function createProvider(deps: Deps, secrets: ProviderSecrets, hooks: ProviderHooks): Provider {
  const { config } = deps;
  const resource = apiResource(config.publicUrl);
  const basePath = new URL(config.publicUrl).pathname.replace(/\/$/, '');
  const accessTokenTTL = config.oauthAccessTokenSeconds;
  const refreshTokenTTL = config.oauthRefreshTokenDays * 86_400;

  const configuration: Configuration = {
    adapter: createAdapterClass(deps),
    clients: [],
    findAccount: (_ctx, sub) => findOAuthAccount(deps, sub),
    jwks: secrets.jwks,
    cookies: { keys: secrets.cookieKeys, names: { session: LOGIN_SESSION_COOKIE } },
    scopes: [...OIDC_SCOPES],
    claims: {
      openid: ['sub'],
      profile: ['preferred_username', 'name', 'website', 'picture', 'updated_at'],
      email: ['email', 'email_verified'],
    },
    routes: {
      authorization: OAUTH_PATHS.authorization,
      token: OAUTH_PATHS.token,
      revocation: OAUTH_PATHS.revocation,
      introspection: OAUTH_PATHS.introspection,
      userinfo: OAUTH_PATHS.userinfo,
      jwks: OAUTH_PATHS.jwks,
      end_session: OAUTH_PATHS.endSession,
    },
    responseTypes: ['code'], // no implicit or hybrid flows (RFC 9700 §2.1.2)
    // Secrets in HTTP Basic or in the body (the latter turned into Basic by oauth.routes.ts);
    // public clients prove PKCE instead. No JWT client assertions: clients have no keys here.
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    pkce: { required: (_ctx, client) => config.oauthRequirePkce === 'all' || client.clientAuthMethod === 'none' },
    ttl: {
      AuthorizationCode: 60,
      AccessToken: accessTokenTTL,
      IdToken: 3600,
      Interaction: INTERACTION_SECONDS,
      // The provider's login session lasts as long as an account page session may. One nobody
      // has signed in to (a sign-out's confirmation step) only as long as a sign-in may take.
      Session: (_ctx, session) => (session.accountId ? config.sessionMaxMinutes * 60 : INTERACTION_SECONDS),
      Grant: refreshTokenTTL,
      // Rotation keeps the first token's end: access lasts refreshTokenTTL from the consent.
      RefreshToken: (ctx) => ctx?.oidc?.entities.RotatedRefreshToken?.remainingTTL ?? refreshTokenTTL,
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // Tokens live their own lifetimes, not the browser's login session's (which would otherwise
    // end them unless offline_access was asked for).
    expiresWithSession: () => false,
    // The ID token carries the claims its scopes allow (profile, email) even when an access
    // token is issued too: "sign in with" clients read them there.
    conformIdTokenClaims: false,
    rotateRefreshToken: true,
    // Browser apps (public clients) may call the token endpoint from their redirect URIs' origins.
    clientBasedCORS: (_ctx, origin, client) => client.redirectUris?.some((uri) => new URL(uri).origin === origin) ?? false,
    // Under PUBLIC_URL's path, if it has one (a proxy that strips it): the provider's own URLs
    // carry it too (its mount path is the issuer's path).
    interactions: { policy: interactionPolicyOf(), url: (_ctx, interaction) => `${basePath}${OAUTH_PATHS.interaction}${interaction.uid}/` },
    // Each parameter of an authorization request is bounded: the provider stores them all until
    // the user has signed in (request-limits.ts).
    extraParams: parameterLengthChecks(),
    features: {
      devInteractions: { enabled: false },
      // Not offered: the API takes Bearer tokens only (no DPoP-bound ones), and requests come
      // to the authorization endpoint directly (no pushed authorization requests).
      dPoP: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      // OpenID Connect RP-Initiated Logout 1.0, at OAUTH_PATHS.endSession, in the pages' style.
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx) => renderSignOut(deps, ctx),
        postLogoutSuccessSource: (ctx) => {
          setPageHeaders(ctx, 200);
          ctx.body = signedOutPage(ctx.oidc.client?.clientName);
        },
      },
      // RFC 7662 §4: a client learns about its own tokens only, and only when it authenticated.
      // §2.2: a token of a deactivated account is not active (the API refuses it too).
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) =>
          client.clientAuthMethod !== 'none' && token.clientId === client.clientId && (await accountMayUse(deps, 'accountId' in token ? token.accountId : undefined)),
      },
      // RFC 7009 §2.1: a client may revoke only tokens issued to it.
      revocation: { enabled: true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // The API is the audience when an API scope is asked for; a sign-in with OpenID scopes
        // only gets a token for the userinfo endpoint. At the token endpoint the granted
        // resource is used (useGrantedResource).
        defaultResource: (ctx, _client, oneOf) => {
          rejectUnknownScopes(ctx);
          if (oneOf) return oneOf;
          const requested = String(ctx.oidc.params?.scope ?? DEFAULT_SCOPE).split(' ');
          return requested.some((scope) => isScope(scope)) ? resource : undefined;
        },
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, indicator) => {
          rejectUnknownScopes(ctx);
          if (indicator !== resource) throw new errors.InvalidTarget(`the only resource is ${resource}`);
          return { scope: SCOPES.join(' '), accessTokenFormat: 'opaque', accessTokenTTL };
        },
      },
    },
    renderError: async (ctx, out, error) => {
      setPageHeaders(ctx, ctx.status);
      ctx.body = errorPage(out, error);
    },
  };

  const provider = new Provider(config.publicUrl, configuration);
  // X-Forwarded-Host/-Proto/-For are set by oauth.routes.ts from PUBLIC_URL and the client's
  // address as Fastify determined it (TRUST_PROXY); never the client's own.
  provider.proxy = true;

  // Client secrets are stored as SHA-256 digests (clients.service.ts): compare digests.
  const clientProto = provider.Client.prototype as unknown as { compareClientSecret(actual: string): Promise<boolean> | boolean };
  const original = clientProto.compareClientSecret;
  clientProto.compareClientSecret = function (this: unknown, actual: string) {
    return original.call(this, sha256Hex(actual));
  };

  // Two defaults of the docker.io authorization request (docs/reference/oauth.md): without
  // `scope`, profile_read email_read; without `redirect_uri`, the first registered one (the
  // provider itself only fills it in when there is just one).
  provider.use(async (ctx, next) => {
    if (isRead(ctx.method) && isPath(ctx.path, OAUTH_PATHS.authorization)) {
      const query = { ...ctx.query };
      if (query.scope === undefined || query.scope === '') query.scope = DEFAULT_SCOPE;
      if (query.redirect_uri === undefined && typeof query.client_id === 'string') {
        const client = await findClientById(deps.store.db, query.client_id);
        const first = client ? (JSON.parse(client.redirect_uris) as string[])[0] : undefined;
        if (first !== undefined) query.redirect_uri = first;
      }
      ctx.query = query;
    }
    await next();
  });

  // Requests that store a record before anyone has signed in, per client IP (authorize-throttle.ts):
  // counted first, given back when nothing was stored.
  provider.use(async (ctx, next) => {
    if (!isRead(ctx.method) || !(isPath(ctx.path, OAUTH_PATHS.authorization) || isPath(ctx.path, OAUTH_PATHS.endSession))) return next();
    const wait = await hooks.authorizeThrottle.take(ctx.ip);
    if (wait > 0) {
      setPageHeaders(ctx, 429);
      ctx.set('retry-after', String(wait));
      ctx.body = tooManySignInsPage(wait);
      return;
    }
    let stored = false;
    try {
      await next();
      stored = storedForNobody(ctx as KoaContextWithOIDC);
    } finally {
      // The answer is made already: a counter that cannot be given back must not replace it.
      if (!stored) await hooks.authorizeThrottle.giveBack(ctx.ip).catch((error: unknown) => hooks.log.warn({ err: error }, 'oauth: could not give back a sign-in count'));
    }
  });

  // The routes that may answer with one of the provider's self-submitting form pages.
  provider.use(async (ctx, next) => {
    const formPage = isRead(ctx.method) && (ctx.path.startsWith(OAUTH_PATHS.authorization) || isPath(ctx.path, OAUTH_PATHS.endSession));
    return formPage ? secureFormPages(ctx as KoaContextWithOIDC, next) : next();
  });

  // A sign-out at the end-session endpoint ends the user's account-page sessions too: their
  // cookie is not sent to this path, so which of them is this browser's cannot be told.
  provider.use(async (ctx, next) => {
    await next();
    const { oidc } = ctx as KoaContextWithOIDC;
    if (oidc?.route !== 'end_session_confirm') return;
    // Destroyed: the user chose to sign out (the provider keeps the session otherwise).
    const session = oidc.session as { accountId?: string; destroyed?: boolean } | undefined;
    if (session?.destroyed && session.accountId !== undefined) {
      // The provider's sign-out is done and answered: a failure here is logged, not shown.
      await hooks.onSignOut(Number(session.accountId)).catch((error: unknown) => hooks.log.error({ err: error }, 'oauth: could not end the account-page sessions after a sign-out'));
    }
  });

  // What the settings page lists about a login session (login-sessions.ts): the browser and address
  // it signed in from, when it was last used. Noted once the provider has saved the session.
  provider.use(async (ctx, next) => {
    await next();
    const { oidc } = ctx as KoaContextWithOIDC;
    if (oidc?.route !== 'resume' && oidc?.route !== 'authorization') return;
    const session = oidc.session as { uid?: string; accountId?: string; destroyed?: boolean } | undefined;
    const note = { route: oidc.route, loggedIn: oidc.result?.login !== undefined, session, userAgent: storableUserAgent(ctx.get('user-agent')) ?? null, ip: ctx.ip };
    // The answer is made already: a failure here is logged, not shown.
    await noteLoginSession(deps, note).catch((error: unknown) => hooks.log.warn({ err: error }, 'oauth: could not note a login session'));
  });

  // RFC 7009 does not ask it, but a revocation answer is about a credential: no cache keeps it.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route === 'revocation') ctx.set('cache-control', 'no-store');
  });

  // The metadata lists the API's scopes beside the OpenID ones (RFC 8414 §2, scopes_supported):
  // the provider knows only its own, the API's belong to the resource server.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'discovery' || ctx.status !== 200 || !ctx.body || typeof ctx.body !== 'object') return;
    const body = ctx.body as { scopes_supported?: string[] };
    body.scopes_supported = [...new Set([...(body.scopes_supported ?? []), ...SCOPES])];
  });

  // The docker.io token response names the user too (docs/reference/oauth.md).
  provider.use(async (ctx: KoaContextWithOIDC, next) => {
    await next();
    if (ctx.oidc?.route !== 'token' || ctx.status !== 200 || !ctx.body || typeof ctx.body !== 'object') return;
    const account = ctx.oidc.account as unknown as OAuthAccount | undefined;
    if (account) ctx.body = { username: account.username, user_id: account.userId, ...(ctx.body as object) };
  });
  return provider;
}

/**
 * Whether the request left a record for a browser nobody has signed in to: an authorization
 * request waiting for its login (or consent) page, or the confirmation step of a sign-out.
 */
function storedForNobody(ctx: KoaContextWithOIDC): boolean {
  const { oidc } = ctx;
  if (oidc?.entities.Interaction !== undefined) return true;
  return oidc?.route === 'end_session' && oidc.session?.accountId === undefined && oidc.session?.state !== undefined;
}

/** GET, or HEAD, which Fastify and the provider answer on every GET route (the same work is done). */
function isRead(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

/** The path is `route`, with or without its trailing slash. */
function isPath(path: string, route: string): boolean {
  return path === route || `${path}/` === route;
}
