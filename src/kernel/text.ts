// Rules for text that comes from requests and is stored or shown again.

// C0 controls, DEL and C1 controls: never part of a name, a profile field or a logged value.
// eslint-disable-next-line no-control-regex -- the point is to find control characters
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
