import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { explorerScript, explorerStyle } from "./explorer-page.js";

export interface Asset {
  type: string;
  body: Buffer;
}

const require = createRequire(import.meta.url);
const fromPackage = (name: string, file: string) => () => readFileSync(join(dirname(require.resolve(`${name}/package.json`)), file));
const javascript = "text/javascript; charset=utf-8";
const css = "text/css; charset=utf-8";

// Every file the explorer page loads, by the name it is served under: the browser builds of GraphiQL, React and
// graphql-ws as their npm packages ship them, and the page's own script and style. Nothing comes from elsewhere.
const sources: Record<string, { type: string; read: () => Buffer }> = {
  "react.js": { type: javascript, read: fromPackage("react", "umd/react.production.min.js") },
  "react-dom.js": { type: javascript, read: fromPackage("react-dom", "umd/react-dom.production.min.js") },
  "graphiql.js": { type: javascript, read: fromPackage("graphiql", "graphiql.min.js") },
  "graphiql.css": { type: css, read: fromPackage("graphiql", "graphiql.min.css") },
  "graphql-ws.js": { type: javascript, read: fromPackage("graphql-ws", "umd/graphql-ws.min.js") },
  "explorer.js": { type: javascript, read: () => Buffer.from(explorerScript) },
  "explorer.css": { type: css, read: () => Buffer.from(explorerStyle) },
};

export const explorerAssetNames = Object.keys(sources);

const loaded = new Map<string, Asset>();

/** The asset served as `name`, read on first use and kept; undefined for any other name. */
export function explorerAsset(name: string): Asset | undefined {
  const source = Object.hasOwn(sources, name) ? sources[name] : undefined;
  if (!source) return undefined;
  let asset = loaded.get(name);
  if (!asset) {
    asset = { type: source.type, body: source.read() };
    loaded.set(name, asset);
  }
  return asset;
}
