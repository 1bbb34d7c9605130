// The vocabulary of the audit trail: which events, who acted, how it ended.

/** Every security-relevant event the trail records. */
export const AUDIT_EVENTS = [
  'signed_in',
  'login_failed',
  'login_throttled',
  'signed_up',
  'password_changed',
  'password_reset_requested',
  'password_reset',
  'token_created',
  'token_revoked',
  'email_added',
  'email_removed',
  'email_verified',
  'email_made_primary',
  'account_deactivated',
  'account_activated',
  'account_deleted',
  'oauth_grant',
  'oauth_revoked',
  'session_ended',
  'sessions_ended',
  'second_factor_added',
  'second_factor_removed',
  'recovery_codes_generated',
  'recovery_code_used',
  'two_factor_disabled',
  'two_factor_reset',
  'registry_refresh_token_issued',
  'registry_refresh_token_revoked',
] as const;
export type AuditEventName = (typeof AUDIT_EVENTS)[number];

/** self: the account itself, through the API; admin: an operator, through the CLI; system: the service on its own. */
export const AUDIT_ACTORS = ['self', 'admin', 'system'] as const;
export type AuditActor = (typeof AUDIT_ACTORS)[number];

/** failure: wrong credentials and the like; denied: refused by a rule (throttling, permissions). */
export const AUDIT_OUTCOMES = ['success', 'failure', 'denied'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** Who is asking a service for a change, and from where. Services default to ADMIN_CONTEXT (the CLI). */
export type AuditContext = { actor: AuditActor; clientIp?: string | null };

export const ADMIN_CONTEXT: AuditContext = Object.freeze({ actor: 'admin' });

/** The context of an API request made by the account itself. */
export function selfContext(request: { ip: string }): AuditContext {
  return { actor: 'self', clientIp: request.ip };
}
