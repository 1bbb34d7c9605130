// Prometheus metrics (prom-client), one registry per app so that several apps in one process
// (tests) never share counters.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store } from '../kernel/db/store.ts';


export type Metrics = {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
  authFailures: Counter<'reason'>;
  mailSent: Counter;
  mailSendFailures: Counter;
  oauthTokens: Counter<'grant_type'>;
  oauthErrors: Counter<'endpoint' | 'error'>;
  registryTokens: Counter<'service' | 'outcome'>;
  /** One answered request: httpRequests and httpDuration, through label sets resolved once. */
  observeHttp(method: string, route: string, status: number, seconds: number): void;
};

export function createMetrics(store: Store): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const httpRequests = new Counter({
    name: 'accounts_http_requests_total',
    help: 'HTTP requests answered, by route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'accounts_http_request_duration_seconds',
    help: 'Time from the request arriving to the response being sent.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const authFailures = new Counter({
    name: 'accounts_auth_failures_total',
    help: 'Failed authentications, by reason (never shown to clients, which all get the same 401).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const mailSent = new Counter({
    name: 'accounts_mail_sent_total',
    help: 'Mail messages handed to the SMTP relay (or, without SMTP_URL, written to the log).',
    registers: [registry],
  });
  const mailSendFailures = new Counter({
    name: 'accounts_mail_send_failures_total',
    help: 'Mail messages given up on after every attempt failed (see the log for why).',
    registers: [registry],
  });
  const oauthTokens = new Counter({
    name: 'accounts_oauth_token_responses_total',
    help: 'Successful token endpoint answers of the authorization server, by grant type.',
    labelNames: ['grant_type'] as const,
    registers: [registry],
  });
  const oauthErrors = new Counter({
    name: 'accounts_oauth_errors_total',
    help: 'Errors the authorization server answered, by endpoint and RFC 6749 error code.',
    labelNames: ['endpoint', 'error'] as const,
    registers: [registry],
  });
  const registryTokens = new Counter({
    name: 'accounts_registry_token_requests_total',
    help: 'Registry token requests, by service (one of REGISTRY_SERVICES) and outcome: granted, nothing_granted, refused.',
    labelNames: ['service', 'outcome'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'accounts_db_pool_connections',
    help: 'Database connections, by state: in_use, idle, and requests waiting for one.',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const stats = store.poolStats();
      this.set({ state: 'in_use' }, stats.inUse);
      this.set({ state: 'idle' }, stats.idle);
      this.set({ state: 'waiting' }, stats.waiting);
    },
  });
  // prom-client hashes the label values on every inc() and observe(); a request's are one of a
  // small, fixed set (route patterns, not URLs), so each set's children are looked up once.
  const httpChildren = new Map<string, { requests: { inc(): void }; duration: { observe(value: number): void } }>();
  const observeHttp = (method: string, route: string, status: number, seconds: number) => {
    const key = `${method} ${status} ${route}`;
    let children = httpChildren.get(key);
    if (!children) {
      children = { requests: httpRequests.labels(method, route, String(status)), duration: httpDuration.labels(method, route) };
      httpChildren.set(key, children);
    }
    children.requests.inc();
    children.duration.observe(seconds);
  };
  return { registry, httpRequests, httpDuration, authFailures, mailSent, mailSendFailures, oauthTokens, oauthErrors, registryTokens, observeHttp };
}
