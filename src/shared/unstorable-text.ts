/** A UTF-16 surrogate without its pair: a JSON `\ud800` escape that names no character. */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const suspect = /[\u0000\uD800-\uDFFF]/;

/**
 * What neither backend can store as it is: NUL (PostgreSQL text cannot hold it) and lone surrogates (not Unicode:
 * SQLite and PostgreSQL each replace them with something else, and PostgreSQL's JSON refuses them). Surrogate pairs
 * (emoji) are characters and pass.
 */
export const isUnstorable = (text: string | null | undefined): boolean =>
  text != null && suspect.test(text) && (text.includes("\u0000") || loneSurrogate.test(text));

/**
 * `text` cut to at most `length` UTF-16 units without splitting a surrogate pair: a cut through an emoji would leave
 * half of it, a lone surrogate that the text could no longer be stored with (an alert summary cut at 200 with an
 * emoji across the cut refused the whole notification).
 */
export function cutText(text: string, length: number): string {
  if (text.length <= length) return text;
  const last = text.charCodeAt(length - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? length - 1 : length);
}
