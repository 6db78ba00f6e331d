// Templates are kept in incident_templates once worked out (template-evidence.ts): a change to the masking below
// needs a migration that empties that table, or the evidence would compare old templates with new ones.

/** What a variable part of a title becomes in its template. */
export const WILDCARD = "<*>";

// Quoted strings go first, whole: what is inside a quote varies from one occurrence to the next. A single quote
// opens only after a non-word character and closes only before one, so that "can't" and "service's" stay words.
const quoted = /"[^"]*"|“[^”]*”|`[^`]*`|(?<![\p{L}\p{N}])'[^']*'(?![\p{L}\p{N}])/gu;

// A token: letters, digits and the separators that hold host names, addresses, ids and versions together.
// It never ends on a separator, so the full stop after "db-7." is left to the sentence.
const token = /[\p{L}\p{N}_](?:[\p{L}\p{N}_.:\-]*[\p{L}\p{N}_])?/gu;

const digit = /\p{N}/u;
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const hex = /^(?:0x[0-9a-f]+|[0-9a-f]{6,})$/i;
const separator = /[.:\-_]/;
/** Letters then at least two digits, as host names are numbered: web01, node12. */
const numberedName = /^\p{L}+\p{N}{2,}$/u;
/** The number a unit or suffix follows: 500ms, 3GB, 5xx. */
const leadingNumber = /^\p{N}+/u;

/**
 * A token's template: the whole token when it is an id, address, host-like name or a number with its
 * punctuation; only the number when a unit follows it; the token itself when it holds no digit.
 */
function maskToken(word: string): string {
  if (!digit.test(word)) return word;
  if (uuid.test(word) || hex.test(word) || separator.test(word) || numberedName.test(word)) return WILDCARD;
  const number = leadingNumber.exec(word);
  if (!number) return word; // a name with a digit inside (k8s, ipv6, s3): part of the words, not a variable
  return number[0].length === word.length ? WILDCARD : WILDCARD + word.slice(number[0].length);
}

/**
 * An incident title with its variable parts replaced by `<*>`: numbers, hex ids, UUIDs, IP addresses, host-like
 * names with digits, quoted strings. "Disk 91% full on db-7" -> "Disk <*>% full on <*>". Titles of one recurring
 * problem share a template, whatever host, count or id they name. Whitespace is collapsed; case is kept.
 */
export function titleTemplate(title: string): string {
  return title
    .replace(quoted, WILDCARD)
    .replace(token, maskToken)
    .replace(/\s+/g, " ")
    .trim();
}
