import { characterCount } from "../../shared/character-count.js";
import { BadUserInputError } from "../../shared/errors.js";

// Words as both indexes see them: runs of letters and digits (SQLite's unicode61 separators; the PostgreSQL
// index replaces ASCII punctuation with spaces before parsing), lower case, accents removed. Queries are built
// from these tokens only, each one quoted, so that nothing a user types is ever read as FTS syntax.

const wordPattern = /[\p{L}\p{N}\p{M}\p{Co}]+/gu;
const marks = /\p{M}+/gu;

/** The folded words of `text`, in order. */
export function tokenize(text: string): string[] {
  const words: string[] = [];
  for (const [raw] of text.matchAll(wordPattern)) {
    const word = raw.normalize("NFD").replace(marks, "").toLowerCase();
    if (word) words.push(word);
  }
  return words;
}

// An identifier written in camel case (OutOfMemoryError, CoreDNSErrorsHigh, onPartitionsRevoked) is one token to
// the index, but its parts are the words another report of the same problem uses.
const innerCapital = /.\p{Lu}/su;
const camelBoundary = /(?<=[\p{Ll}\p{N}])(?=\p{Lu})|(?<=\p{Lu})(?=\p{Lu}\p{Ll})/u;

/** The words of `text`, one list per token: the folded token, then its parts when it is a camel-case identifier. */
export function tokenizeWithParts(text: string): string[][] {
  const words: string[][] = [];
  for (const [raw] of text.matchAll(wordPattern)) {
    const word = fold(raw);
    if (!word) continue;
    const parts = innerCapital.test(raw) ? raw.split(camelBoundary) : [];
    words.push(parts.length > 1 ? [word, ...parts.map(fold)] : [word]);
  }
  return words;
}

const fold = (raw: string) => raw.normalize("NFD").replace(marks, "").toLowerCase();

export const maxSearchWords = 32;
export const maxSearchLength = 1_000;

/**
 * The words of a search box, each matched as a prefix; duplicates and words that are prefixes of another word
 * add nothing and are dropped. Empty when the query has no word at all (the answer is then empty).
 */
export function searchTerms(query: string): string[] {
  // The node limit's walk asks once per search field, before the document is priced: a long query is not read.
  if (characterCount(query, maxSearchLength) > maxSearchLength) {
    throw new BadUserInputError(`query must be at most ${maxSearchLength} characters`, "query");
  }
  const words = [...new Set(tokenize(query))];
  if (words.length > maxSearchWords) throw new BadUserInputError(`query takes at most ${maxSearchWords} words`, "query");
  return words.filter((word) => !words.some((other) => other !== word && other.startsWith(word)));
}

/** FTS5: every term as a quoted prefix, all required (`"a"* "b"*`), or any (`"a"* OR "b"*`). */
export function fts5Query(terms: readonly string[], mode: "all" | "any"): string {
  return terms.map((term) => `"${term.replace(/"/g, '""')}"*`).join(mode === "all" ? " " : " OR ");
}

/** PostgreSQL to_tsquery: every term as a quoted prefix lexeme, `&` or `|` between them. */
export function tsQuery(terms: readonly string[], mode: "all" | "any"): string {
  return terms.map((term) => `'${term.replace(/'/g, "''").replace(/\\/g, "\\\\")}':*`).join(mode === "all" ? " & " : " | ");
}

// Words that say nothing about which problem an incident is: English function words and incident boilerplate.
const stopWords = new Set(
  `a about above after again against all am an and any are as at be because been before being below between both but by
   can could did do does doing down during each few for from further had has have having he her here hers him his how i
   if in into is it its itself just me more most my no nor not now of off on once only or other our out over own same she
   should so some such than that the their them then there these they this those through to too under until up very was
   we were what when where which while who whom why will with would you your yours also via per since still yet again
   issue issues incident incidents problem problems please see seen seems seeing noticed reported report reports
   started starting start currently ongoing some users user customers customer affected affecting team investigating
   looking look looks around approx approximately multiple several many one two three`.split(/\s+/u),
);

/** HTTP error statuses (404, 502, 5xx, 429s) name a problem; other numbers are counts, sizes, ids and host indexes. */
const statusCode = /^[45](\d\d|xx)s?$/u;

/** Whether a token can tell one problem from another: not a function word, not a number, id or host index. */
export function isTopical(token: string): boolean {
  if (statusCode.test(token)) return true;
  return token.length >= 3 && !stopWords.has(token) && !/\d/u.test(token);
}

// Operations vocabulary: each group is one thing named many ways, its first word the one the others stand for. A
// source's word also asks for its group's first word, and a candidate's word counts as it, so "OOMKilled" meets
// "out of memory" and "ENOSPC" meets "disk full". General operations words only, nothing about one system or team.
const groups: readonly (readonly string[])[] = [
  ["database", "db", "dbs", "databases"],
  ["postgres", "pg", "postgresql", "psql"],
  ["kubernetes", "k8s", "kube"],
  ["connection", "conn", "conns", "connections"],
  ["certificate", "cert", "certs", "certificates", "x509"],
  ["tls", "ssl"],
  ["memory", "mem", "ram", "oom", "oomkilled", "oomkill", "oomkiller"],
  ["configuration", "config", "configs"],
  ["environment", "env"],
  ["replication", "repl", "replica", "replicas", "standby"],
  ["permission", "perm", "perms", "permissions", "forbidden", "unauthorized", "accessdenied"],
  ["error", "err", "errs"],
  ["message", "msg", "msgs"],
  ["service", "svc"],
  ["5xx", "500", "502", "503", "504"],
  ["latency", "p50", "p90", "p95", "p99", "slow", "slowness"],
  ["throttled", "throttling", "throttle", "429", "ratelimit", "ratelimited"],
  ["disk", "disks", "enospc", "filesystem", "storage", "volume", "pvc", "inode", "inodes"],
  ["dns", "nxdomain", "servfail", "resolver", "resolvers", "coredns", "kubedns", "nameserver", "unknownhostexception"],
  ["lag", "lagging", "backlog"],
  ["crashloop", "crashloopbackoff", "crashlooping"],
  ["deploy", "deployment", "deployed", "release", "rollout", "redeploy", "rollback"],
  ["clock", "ntp", "chrony", "skew", "timesync"],
  ["backup", "backups", "snapshot", "snapshots", "dump"],
  ["eviction", "evicted", "evictions", "maxmemory"],
  ["login", "signin", "logon"],
  ["crash", "segfault", "sigsegv", "panic", "coredump"],
  ["stuck", "hung", "hang", "frozen"],
];

const shorthand: ReadonlyMap<string, readonly string[]> = new Map(
  groups.flatMap(([first, ...others]) => others.map((word): [string, readonly string[]] => [word, [first!]])),
);

const members: ReadonlyMap<string, readonly string[]> = new Map(groups.map(([first, ...others]) => [first!, others]));

/** The other words of the group `word` is the first of, which a query for it also asks for (none for most). */
export function alternatives(word: string): readonly string[] {
  return members.get(word) ?? [];
}

/** The words a token also stands for (none for most). */
export function expansions(token: string): readonly string[] {
  return shorthand.get(token) ?? [];
}

const suffixes = ["ations", "ation", "ments", "ment", "ings", "ing", "ions", "ion", "ies", "ers", "er", "ed", "es", "s", "ly", "y", "e"];

/**
 * A light stem for prefix matching: `connection`, `connections`, `connecting`, `connected` all share `connect`.
 * Never shorter than four letters, so that a stem still names one family of words.
 */
export function stem(term: string): string {
  // "502s" is the status 502: the plural must not hide it from a query for "502".
  if (statusCode.test(term)) return term.replace(/s$/u, "");
  for (const suffix of suffixes) {
    if (term.endsWith(suffix) && term.length - suffix.length >= 4) return term.slice(0, -suffix.length);
  }
  return term;
}
