import type { FastifyInstance } from "fastify";
import { explorerAsset } from "./explorer-assets.js";
import { explorerContentSecurityPolicy, explorerHtml } from "./explorer-page.js";

/** GET /explorer and its assets (development only: app.ts registers them when NODE_ENV is not production). */
export function registerExplorer(app: FastifyInstance): void {
  app.get("/explorer", async (_request, reply) =>
    reply
      .header("content-type", "text/html; charset=utf-8")
      .header("content-security-policy", explorerContentSecurityPolicy)
      .header("cache-control", "no-cache")
      .send(explorerHtml),
  );
  app.get<{ Params: { name: string } }>("/explorer/assets/:name", async (request, reply) => {
    const asset = explorerAsset(request.params.name);
    if (!asset) return reply.callNotFound();
    return reply.header("content-type", asset.type).header("cache-control", "public, max-age=3600").send(asset.body);
  });
}
