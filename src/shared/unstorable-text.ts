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
