import type { DocumentStore } from "@apollo/server";
import type { DocumentNode } from "graphql";
import { createByteBudgetCache, type ByteBudgetCache } from "../shared/byte-budget-cache.js";

/**
 * Heap held by a parsed and validated document, per character of its text: graphql-js keeps every token of the
 * source (linked from each node's location) next to the syntax tree. Measured in test/memory-estimates.test.ts.
 */
export const documentBytesPerChar = 100;

/** The bytes a document holds, from its text when the parser kept it, else from the tree's JSON. */
export function documentBytes(document: DocumentNode): number {
  const length = document.loc?.source.body.length ?? JSON.stringify(document).length;
  return 1024 + length * documentBytesPerChar;
}

export function createDocumentCache(maxBytes: number, recurrenceWindowMs: number): ByteBudgetCache<DocumentNode> {
  return createByteBudgetCache<DocumentNode>({ maxBytes, maxEntryBytes: maxBytes / 16, admitOnRecurrence: { windowMs: recurrenceWindowMs } });
}

/** Keeps a parsed and validated document under `key` if the cache admits it (it recurs, and it fits). */
export function keepDocument(cache: ByteBudgetCache<DocumentNode>, key: string, document: DocumentNode): void {
  const bytes = documentBytes(document);
  if (cache.admits(key, bytes)) cache.set(key, document, bytes);
}

/**
 * Apollo's store of parsed and validated documents (which spares a recurring document its parse and validation),
 * bounded by bytes, and admitting a document only once it recurs: one-off documents never displace the ones
 * that clients keep sending. Apollo's default store is bounded too, but by the length of each tree's JSON,
 * a tenth or less of what the tree holds on the heap.
 */
export function documentStore(cache: ByteBudgetCache<DocumentNode>): DocumentStore {
  return {
    async get(key) {
      return cache.get(key);
    },
    async set(key, document) {
      keepDocument(cache, key, document);
    },
    async delete(key) {
      cache.delete(key);
      return true;
    },
  };
}
