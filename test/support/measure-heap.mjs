// Measures what parsed documents and compiled queries hold on the heap, against the estimates the caches weigh them
// by. Run with --expose-gc from the project root after `npm run build`; prints JSON: one row per document shape.
import "reflect-metadata";
import { parse } from "graphql";

const dist = new URL("../../dist/", import.meta.url);
const { buildAppSchema } = await import(new URL("src/schema/build-schema.js", dist).href);
const { compileWeighed, predictedCompiledBytes } = await import(new URL("src/graphql/jit-executor.js", dist).href);
const { documentBytes } = await import(new URL("src/graphql/document-store.js", dist).href);
const { largestDocument } = await import(new URL("bench/flood-documents.js", dist).href);

// Resolvers are never called here: the services are not needed to compile.
const schema = await buildAppSchema({ users: {}, incidents: {} });
const heap = () => {
  for (let i = 0; i < 4; i++) globalThis.gc();
  return process.memoryUsage().heapUsed;
};

// Shape -> [document k, copies]: enough copies that what they hold stands well above the heap's noise.
const shapes = {
  "me": [(k) => `query Me${k} { me { id name email role } }`, 500],
  "nested page": [(k) => `query Page${k} { incidents(first: 50) { totalCount pageInfo { hasNextPage endCursor } nodes { id title status priority
    createdAt reporter { id name } assignee { id name } logs(first: 10) { nodes { id kind message createdAt author { id name } } } } } }`, 200],
  "largest allowed": [largestDocument, 10],
};

const rows = [];
for (const [name, [make, copies]] of Object.entries(shapes)) {
  const sources = Array.from({ length: copies }, (_, k) => make(k));
  const before = heap();
  const documents = sources.map((source) => parse(source));
  const parsed = heap();
  const estimatedDocument = documents.reduce((sum, document) => sum + documentBytes(document), 0);
  // Compiled queries keep their documents alive, so what they hold is weighed with the document included.
  let predicted = 0;
  let weighed = 0;
  const compiled = documents.map((document, i) => {
    const operation = document.definitions[0];
    predicted += predictedCompiledBytes(document, operation, sources[i]);
    const { query, bytes } = compileWeighed(schema, document, undefined, sources[i]);
    weighed += bytes;
    return query;
  });
  documents.length = 0;
  const withCompiled = heap();
  rows.push({
    name,
    chars: sources[0].length,
    documentMeasured: (parsed - before) / copies,
    documentEstimated: estimatedDocument / copies,
    compiledMeasured: (withCompiled - before) / copies,
    compiledWeighed: weighed / copies,
    compiledPredicted: predicted / copies,
    kept: compiled.length,
  });
}
process.stdout.write(JSON.stringify(rows));
