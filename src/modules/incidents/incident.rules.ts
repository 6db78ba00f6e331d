import { BadUserInputError } from "../../shared/errors.js";

// Pure input rules for incidents and notes.

const singleLineControl = /[\u0000-\u001f\u007f]/;
const textControl = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const length = (text: string) => [...text].length;

export const titleMax = 200;
export const descriptionMax = 10_000;
export const noteMax = 10_000;

export function normalizeTitle(raw: string): string {
  const title = raw.trim();
  if (length(title) < 1 || length(title) > titleMax) {
    throw new BadUserInputError(`title must be 1 to ${titleMax} characters after trimming`, "title");
  }
  if (singleLineControl.test(title)) throw new BadUserInputError("title must not contain control characters", "title");
  return title;
}

export function checkDescription(description: string): string {
  if (length(description) > descriptionMax) {
    throw new BadUserInputError(`description must be at most ${descriptionMax} characters`, "description");
  }
  if (textControl.test(description)) {
    throw new BadUserInputError("description must not contain control characters other than tab and newline", "description");
  }
  return description;
}

export function normalizeNote(raw: string): string {
  const message = raw.trim();
  if (length(message) < 1 || length(message) > noteMax) {
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
  // Past 200 UTF-16 units a word is past 100 characters: refused without copying it (a filter of a 1 MB word, in 30
  // aliases, held the event loop 1.3 s).
  if (words.length > 10 || words.some((word) => word.length > 200 || length(word) > 100)) {
    throw new BadUserInputError("search takes at most 10 words of at most 100 characters", "search");
  }
  return words;
}
