import { Type } from '@sinclair/typebox';

export const EmailSchema = Type.Object(
  {
    email: Type.String({ examples: ['jane.doe@example.com'] }),
    verified: Type.Boolean(),
    primary: Type.Boolean(),
  },
  { $id: 'Email', title: 'Email', additionalProperties: false },
);

export const EmailBody = Type.Object(
  { email: Type.String({ maxLength: 320, description: 'An email address (at most 254 octets once its domain is in ASCII form).' }) },
  { additionalProperties: false },
);

export const AcceptedSchema = Type.Object(
  { detail: Type.String({ examples: ['A verification link is on its way to jane.doe@example.com.'] }) },
  { $id: 'Accepted', title: 'Accepted', additionalProperties: false },
);
