// The PATCH field rules (docs/reference/api.md, "PATCH fields").
import { FieldErrorCollector } from '../kernel/errors.ts';
import { parseEmail } from '../kernel/email-address.ts';
import { CONTROL_CHARACTERS } from '../kernel/text.ts';

export const TEXT_FIELDS = ['full_name', 'location', 'company'] as const;
export const EDITABLE_FIELDS = [...TEXT_FIELDS, 'profile_url', 'gravatar_email'] as const;

export type EditableField = (typeof EDITABLE_FIELDS)[number];
export type ProfileChanges = Partial<Record<EditableField, string>>;

export const MAX_FIELD_LENGTH = 255;

/** Checks and normalises the editable fields present in `input`; throws a 400 listing every bad one. */
export function validateProfileChanges(input: Record<string, unknown>): ProfileChanges {
  const errors = new FieldErrorCollector();
  const changes: ProfileChanges = {};
  for (const field of EDITABLE_FIELDS) {
    if (!Object.hasOwn(input, field)) continue;
    const raw = input[field];
    if (typeof raw !== 'string') {
      errors.add(field, 'Must be a string.');
      continue;
    }
    if (!raw.isWellFormed()) {
      errors.add(field, 'Must be valid Unicode text.');
      continue;
    }
    const value = raw.trim();
    if ([...value].length > MAX_FIELD_LENGTH) {
      errors.add(field, `Ensure this field has no more than ${MAX_FIELD_LENGTH} characters.`);
      continue;
    }
    if (CONTROL_CHARACTERS.test(value)) {
      errors.add(field, 'Must not contain control characters.');
      continue;
    }
    if (value !== '' && field === 'profile_url' && !isWebUrl(value)) {
      errors.add(field, 'Enter a valid http or https URL.');
      continue;
    }
    if (value !== '' && field === 'gravatar_email') {
      const parsed = parseEmail(value);
      if ('error' in parsed) {
        errors.add(field, parsed.error);
        continue;
      }
      changes[field] = parsed.display;
      continue;
    }
    changes[field] = value;
  }
  errors.throwIfAny();
  return changes;
}

/** An absolute http(s) URL with a host. No white space anywhere (the URL parser would drop some silently). */
function isWebUrl(value: string): boolean {
  if (/\s/.test(value)) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && /^https?:\/\//i.test(value);
}
