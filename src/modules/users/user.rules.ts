import { characterCount } from "../../shared/character-count.js";
import { BadUserInputError } from "../../shared/errors.js";

// Pure input rules for accounts; the service applies them before touching the database.

const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const controlCharacters = /[\u0000-\u001f\u007f]/;

export function normalizeEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (email.length > 254 || !emailPattern.test(email) || controlCharacters.test(email)) {
    throw new BadUserInputError("email must be a valid email address", "email");
  }
  return email;
}

export function normalizeName(raw: string): string {
  const name = raw.trim();
  const length = characterCount(name, 100);
  if (length < 1 || length > 100) throw new BadUserInputError("name must be 1 to 100 characters", "name");
  if (controlCharacters.test(name)) throw new BadUserInputError("name must not contain control characters", "name");
  return name;
}

export function checkPassword(password: string): string {
  const length = characterCount(password, 128);
  if (length < 8 || length > 128) throw new BadUserInputError("password must be 8 to 128 characters", "password");
  return password;
}
