import { Type, type Static } from '@sinclair/typebox';
import { MAX_FIELD_LENGTH } from './profile-fields.ts';

export const UserSchema = Type.Object(
  {
    id: Type.Integer({ examples: [2] }),
    username: Type.String({ examples: ['janedoe'] }),
    url: Type.String({ format: 'uri', examples: ['https://accounts.example.com/api/v1.1/users/janedoe/'] }),
    date_joined: Type.String({ description: 'RFC 3339 UTC with six fractional digits.', examples: ['2014-02-12T17:58:01.431312Z'] }),
    type: Type.Literal('User'),
    full_name: Type.String(),
    location: Type.String(),
    company: Type.String(),
    profile_url: Type.String(),
    gravatar_url: Type.String({ format: 'uri' }),
    email: Type.String({ description: 'The primary email address.' }),
    is_active: Type.Boolean(),
  },
  { $id: 'User', title: 'User', additionalProperties: false },
);

const text = (description: string) => Type.Optional(Type.String({ maxLength: MAX_FIELD_LENGTH, description }));
const readOnly = Type.Optional(Type.Unknown({ description: 'Read-only: ignored, so a client may send back what it read.' }));

export const PatchUserBody = Type.Object(
  {
    full_name: text('Trimmed; no control characters; "" clears.'),
    location: text('Trimmed; no control characters; "" clears.'),
    company: text('Trimmed; no control characters; "" clears.'),
    profile_url: text('An absolute http or https URL with a host; "" clears.'),
    gravatar_email: text('An email address for the Gravatar image; not returned; "" clears.'),
    id: readOnly,
    username: readOnly,
    url: readOnly,
    date_joined: readOnly,
    type: readOnly,
    gravatar_url: readOnly,
    email: readOnly,
    is_active: readOnly,
  },
  { additionalProperties: false, description: 'Any other key is a 400 naming it. `{}` is a valid no-op.' },
);
export type PatchUserBody = Static<typeof PatchUserBody>;
