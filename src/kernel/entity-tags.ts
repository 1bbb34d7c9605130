// Entity tags and the preconditions that compare them (RFC 9110 §8.8.3, §13.1.1, §13.1.2).
// A resource's tag is the SHA-256 of its representation as the API shows it (before
// serialisation): the same for every credential and every instance, and it changes whenever
// the representation does. Strong, since two representations with one tag are the same bytes.
import { hash } from 'node:crypto';
import { ApiError } from './errors.ts';

export function entityTag(representation: unknown): string {
  // One-shot crypto.hash: no Hash object per response (the tag is computed on every GET).
  return `"${hash('sha256', JSON.stringify(representation), 'base64url').slice(0, 27)}"`;
}

/** The tags of an If-Match or If-None-Match field; '*' for any. Unreadable members are left out. */
function tagsOf(field: string): { any: boolean; tags: { weak: boolean; opaque: string }[] } {
  if (field.trim() === '*') return { any: true, tags: [] };
  const tags: { weak: boolean; opaque: string }[] = [];
  // entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; members separated by commas.
  for (const match of field.matchAll(/(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"/g)) tags.push({ weak: match[1] !== undefined, opaque: match[2]! });
  return { any: false, tags };
}

/** If-Match (§13.1.1): strong comparison; '*' when the resource exists. Absent: true. */
export function ifMatchHolds(field: string | undefined, current: string): boolean {
  if (field === undefined) return true;
  const { any, tags } = tagsOf(field);
  return any || tags.some((tag) => !tag.weak && `"${tag.opaque}"` === current);
}

/** If-None-Match (§13.1.2): weak comparison; true when a GET should answer 304. */
export function notModified(field: string | undefined, current: string): boolean {
  if (field === undefined) return false;
  const { any, tags } = tagsOf(field);
  return any || tags.some((tag) => `"${tag.opaque}"` === current);
}

/** The 412 of a failed If-Match, with the tag the resource has now. */
export function preconditionFailed(current: string): ApiError {
  return new ApiError('precondition_failed', { headers: { etag: current } });
}

/**
 * A write's precondition, checked in the write's own transaction: `before` is the resource's tag
 * as the transaction found it. Per RFC 9110 §13.2.1 a request that would fail anyway fails with
 * its own error, so services call this after the change succeeded, still inside the transaction
 * (throwing rolls it back).
 */
export function requirePrecondition(ifMatch: string | undefined, before: string): void {
  if (!ifMatchHolds(ifMatch, before)) throw preconditionFailed(before);
}
