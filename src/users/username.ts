// Usernames: 4 to 30 lowercase letters and digits, as on Docker Hub. Stored lowercase; the path
// lookup lower-cases what it is given, so /users/JaneDoe/ finds janedoe.

const USERNAME = /^[a-z0-9]{4,30}$/;

export function isValidUsername(username: string): boolean {
  return USERNAME.test(username);
}

export const USERNAME_RULE = 'Usernames are 4 to 30 characters: lowercase letters and digits.';
