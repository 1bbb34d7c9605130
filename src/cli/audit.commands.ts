import type { Command } from 'commander';
import { formatMicros } from '../kernel/clock.ts';
import { parseDuration } from './duration.ts';
import { out, say, table, withDeps } from './context.ts';

export const DEFAULT_AUDIT_LIMIT = 100;
const MAX_AUDIT_LIMIT = 1_000_000;

// RFC 3339 §5.6 date-time, or a full-date alone (midnight UTC). An offset is required: a local
// time would mean different things on different machines.
const RFC3339 = /^(\d{4}-\d{2}-\d{2})(?:[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2}))?$/;

/**
 * `--since`: an RFC 3339 time, or a duration back from now (24h, 7d). Returns the instant in the
 * shape occurred_at is stored in (UTC, six fractional digits), so it compares as text.
 */
export function parseSince(input: string, nowMs: number): string {
  const value = input.trim();
  if (/^\d+[a-z]$/.test(value)) return formatMicros((nowMs - parseDuration(value)) * 1000);
  const match = RFC3339.exec(value);
  const [, date, time, fraction, offset] = match ?? [];
  // Date.parse rolls 2026-02-30 over to March: the date must come back unchanged.
  const midnight = date === undefined ? NaN : Date.parse(`${date}T00:00:00Z`);
  const validDate = !Number.isNaN(midnight) && new Date(midnight).toISOString().slice(0, 10) === date;
  const ms = !validDate ? NaN : time === undefined ? midnight : Date.parse(`${date}T${time}${offset!.toUpperCase()}`);
  if (Number.isNaN(ms)) {
    throw new Error(`invalid --since "${input}"; use an RFC 3339 time (2026-11-23T08:00:00Z, or a date: 2026-11-23) or a duration (24h, 7d)`);
  }
  const micros = Number((fraction ?? '').padEnd(6, '0').slice(0, 6));
  return formatMicros(ms * 1000 + micros);
}

function parseLimit(input: string): number {
  if (!/^\d+$/.test(input) || Number(input) < 1 || Number(input) > MAX_AUDIT_LIMIT) {
    throw new Error(`invalid --limit "${input}"; use a whole number from 1 to ${MAX_AUDIT_LIMIT}`);
  }
  return Number(input);
}

export function registerAuditCommands(program: Command): void {
  program
    .command('audit')
    .description("print a user's audit trail: security-relevant events, oldest first")
    .argument('<username>')
    .option('--since <time>', 'only events since an RFC 3339 time (2026-11-23T08:00:00Z, 2026-11-23) or a duration ago (24h, 7d)')
    .option('--limit <n>', `at most the n most recent events (default: ${DEFAULT_AUDIT_LIMIT})`)
    .option('--json', 'one JSON object per line instead of a table')
    .action(async (username: string, options: { since?: string; limit?: string; json?: boolean }) => {
      const since = options.since === undefined ? undefined : parseSince(options.since, Date.now());
      const limit = options.limit === undefined ? DEFAULT_AUDIT_LIMIT : parseLimit(options.limit);
      const { listUserAuditEvents } = await import('../users/users.service.ts'); // on demand: see main.ts
      // One more than asked, to tell whether older events were left out.
      const events = await withDeps((deps) => listUserAuditEvents(deps, username, { ...(since !== undefined ? { since } : {}), limit: limit + 1 }));
      const shown = events.slice(-limit);
      if (options.json) {
        for (const e of shown) out(JSON.stringify(e));
      } else {
        out(
          table(
            ['TIME', 'EVENT', 'ACTOR', 'IP', 'OUTCOME', 'DETAIL'],
            shown.map((e) => [e.occurred_at, e.event, e.actor, e.client_ip ?? '-', e.outcome, e.detail === null ? '' : JSON.stringify(e.detail)]),
          ),
        );
      }
      if (events.length > limit) say(`Showing the ${limit} most recent events; older ones were left out (use --limit or --since).`);
    });
}
