import { characterCount } from "../../shared/character-count.js";
import { BadUserInputError } from "../../shared/errors.js";

// Pure input rules for incidents and notes.

const singleLineControl = /[\u0000-\u001f\u007f]/;
const textControl = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

export const titleMax = 200;
export const descriptionMax = 10_000;
export const noteMax = 10_000;

export function normalizeTitle(raw: string): string {
  const title = raw.trim();
  const length = characterCount(title, titleMax);
  if (length < 1 || length > titleMax) {
    throw new BadUserInputError(`title must be 1 to ${titleMax} characters after trimming`, "title");
  }
  if (singleLineControl.test(title)) throw new BadUserInputError("title must not contain control characters", "title");
  return title;
}

export function checkDescription(description: string): string {
  if (characterCount(description, descriptionMax) > descriptionMax) {
    throw new BadUserInputError(`description must be at most ${descriptionMax} characters`, "description");
  }
  if (textControl.test(description)) {
    throw new BadUserInputError("description must not contain control characters other than tab and newline", "description");
  }
  return description;
}

export function normalizeNote(raw: string): string {
  const message = raw.trim();
  const length = characterCount(message, noteMax);
  if (length < 1 || length > noteMax) {
    throw new BadUserInputError(`message must be 1 to ${noteMax} characters`, "message");
  }
  if (textControl.test(message)) {
    throw new BadUserInputError("message must not contain control characters other than tab and newline", "message");
  }
  return message;
}

/** Splits a search string into lower-case words; at most 10 words, each at most 100 characters. */
export function searchWords(raw: string): string[] {
  const words = raw.toLowerCase().split(/\s+/u).filter(Boolean);
  if (words.length > 10 || words.some((word) => characterCount(word, 100) > 100)) {
    throw new BadUserInputError("search takes at most 10 words of at most 100 characters", "search");
  }
  return words;
}
