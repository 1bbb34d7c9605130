// The RateLimit-Policy and RateLimit header fields (IETF draft "RateLimit header fields for HTTP",
// draft-ietf-httpapi-ratelimit-headers-08 and later): a named policy with its quota `q` over a
// window of `w` seconds, and what is left of it now, `r`, until it resets in `t` seconds.
// Limits tell only what the caller may know: per-IP budgets, never the count of an account.

export type RateLimitState = {
  /** The policy's name, e.g. "auth-failures" (docs/reference/api.md#rate-limit-headers). */
  policy: string;
  quota: number;
  windowS: number;
  remaining: number;
  /** Seconds until the quota is whole again; 0 when nothing is spent. */
  resetS: number;
};

export function rateLimitHeaders(state: RateLimitState): Record<string, string> {
  const remaining = Math.max(0, Math.min(state.quota, Math.floor(state.remaining)));
  const reset = Math.max(0, Math.ceil(state.resetS));
  return {
    'ratelimit-policy': `"${state.policy}";q=${state.quota};w=${state.windowS}`,
    ratelimit: `"${state.policy}";r=${remaining};t=${reset}`,
  };
}

/** Reports a limit's state to whoever answers (the route that sets the headers). */
export type RateLimitReport = (state: RateLimitState) => void;

/** The state after a counter of rate-limiter-flexible answered (consumed or refused). */
export function limitStateOf(policy: { policy: string; quota: number; windowS: number }, res: { remainingPoints: number; msBeforeNext: number }): RateLimitState {
  return { ...policy, remaining: res.remainingPoints, resetS: res.msBeforeNext / 1000 };
}
