import { tokenize } from "./search-terms.js";

// Excerpts around the words a search matched, the same on both backends: each field that matched gives one
// excerpt of at most `span` characters, cut at word boundaries, the matched words between `**` markers.

export const highlightOpen = "**";
export const highlightClose = "**";
const span = 160;
const wordPattern = /[\p{L}\p{N}\p{M}\p{Co}]+/gu;

interface Hit {
  start: number;
  end: number;
}

function hitsIn(text: string, terms: readonly string[]): Hit[] {
  const hits: Hit[] = [];
  for (const match of text.matchAll(wordPattern)) {
    const [folded] = tokenize(match[0]);
    if (folded && terms.some((term) => folded.startsWith(term))) hits.push({ start: match.index, end: match.index + match[0].length });
  }
  return hits;
}

/** The excerpt of `text` around its first match, or undefined when no word matches. */
export function excerpt(text: string, terms: readonly string[]): string | undefined {
  const hits = hitsIn(text, terms);
  const first = hits[0];
  if (!first) return undefined;
  let from = Math.max(0, first.start - span / 3);
  let to = Math.min(text.length, from + span);
  from = Math.max(0, Math.min(from, to - span));
  // Whole words at the edges.
  if (from > 0) from = text.slice(from).search(/\s/u) >= 0 ? Math.min(first.start, from + text.slice(from).search(/\s/u) + 1) : from;
  if (to < text.length) {
    const lastSpace = text.slice(0, to).search(/\s\S*$/u);
    if (lastSpace > first.end) to = lastSpace;
  }
  let out = "";
  let at = from;
  for (const hit of hits) {
    if (hit.start < from || hit.end > to) continue;
    out += text.slice(at, hit.start) + highlightOpen + text.slice(hit.start, hit.end) + highlightClose;
    at = hit.end;
  }
  out += text.slice(at, to);
  const clean = out.replace(/\s+/gu, " ").trim();
  return `${from > 0 ? "…" : ""}${clean}${to < text.length ? "…" : ""}`;
}

/** One excerpt per field that matched: title, description, then notes. */
export function highlights(fields: readonly string[], terms: readonly string[]): string[] {
  return fields.map((text) => excerpt(text, terms)).filter((part): part is string => part !== undefined);
}
