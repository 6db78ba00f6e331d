import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { explorerAssetNames } from "../src/http/explorer/explorer-assets.js";
import { startTestServer, type TestServer } from "./support/server.js";

// The self-hosted explorer at /explorer (development only). The browser test drives Debian's `chromium`
// (CHROMIUM_PATH overrides where; `.ci/run` installs it) through playwright-core, which downloads nothing.

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

// The page's own global, in the functions that run inside the browser (the tests compile without the DOM library).
declare const document: { querySelector(selector: string): { textContent: string | null; getAttribute(name: string): string | null } | null };

describe("the explorer page", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it("serves the page and every asset it names from this server, under a policy that allows no other host", async () => {
    const response = await fetch(`${server.base}/explorer`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    const policy = response.headers.get("content-security-policy") ?? "";
    expect(policy).toContain("default-src 'none'");
    expect(policy).not.toMatch(/https?:|\*/);
    const html = await response.text();
    const referenced = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(referenced.filter((url) => !url.startsWith("/explorer/assets/") && url !== "data:,")).toEqual([]);
    expect(referenced.map((url) => url.replace("/explorer/assets/", "")).filter((name) => name !== "data:,").sort()).toEqual(
      [...explorerAssetNames].sort(),
    );
    for (const url of referenced.filter((url) => url.startsWith("/"))) {
      const asset = await fetch(`${server.base}${url}`);
      expect(asset.status, url).toBe(200);
      expect(asset.headers.get("content-type"), url).toMatch(/^text\/(javascript|css)/);
      expect((await asset.arrayBuffer()).byteLength, url).toBeGreaterThan(100);
    }
  });

  it("answers an unknown asset with 404", async () => {
    expect((await fetch(`${server.base}/explorer/assets/package.json`)).status).toBe(404);
    expect((await fetch(`${server.base}/explorer/assets/..%2Fpackage.json`)).status).toBe(404);
  });

  it("is linked from the Apollo Sandbox landing page at /graphql", async () => {
    const html = await (await fetch(server.url, { headers: { accept: "text/html" } })).text();
    expect(html).toMatch(/embeddable-sandbox/);
    expect(html).toContain('href="/explorer"');
  });
});

describe("the explorer in headless Chromium (needs chromium)", () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await startTestServer();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // As root (CI) Chromium needs --no-sandbox. Every host name but this server's fails to resolve: offline.
      args: ["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("takes a token once, runs a query, shows the docs and runs incidentEvents, with no request to another host", async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    const elsewhere: string[] = [];
    const local = (url: string) => new URL(url).hostname === "127.0.0.1";
    context.on("request", (request) => {
      if (!local(request.url()) && !request.url().startsWith("data:")) elsewhere.push(request.url());
    });
    page.on("websocket", (socket) => {
      if (!local(socket.url())) elsewhere.push(socket.url());
    });
    const failures: string[] = [];
    page.on("pageerror", (error) => failures.push(error.message));

    const open = (query: string) => page.goto(`${server.base}/explorer?query=${encodeURIComponent(query)}`);
    const result = (text: string) =>
      page.waitForFunction((expected) => document.querySelector(".result-window")?.textContent?.includes(expected), text, {
        timeout: 15_000,
      });

    await open(`{ me { name } }`);
    await page.fill("#token", server.admin.token);
    await page.click("#token-save");
    await page.click(".graphiql-execute-button");
    await result('"name": "Admin"');
    const folder = mkdtempSync(join(tmpdir(), "incident-explorer-"));
    await page.screenshot({ path: join(folder, "explorer-me.png") });

    // The docs: GraphiQL reads the schema through the same fetcher.
    await page.click('button[aria-label="Show Documentation Explorer"]');
    await page.waitForSelector(".graphiql-doc-explorer >> text=Query", { timeout: 15_000 });

    // The token stays in the browser: a fresh page runs a subscription over graphql-ws with it.
    await open(`subscription { incidentEvents { kind incident { title } } }`);
    await page.click(".graphiql-execute-button");
    await page.waitForFunction(() => document.querySelector(".graphiql-execute-button")?.getAttribute("aria-label")?.match(/stop/i), null, {
      timeout: 15_000,
    });
    const created = async () =>
      server.gql(`mutation { createIncident(input: { title: "Seen in the explorer" }) { id } }`, {}, server.admin.token);
    // The subscription may need a moment to be registered on the server: create until one event shows.
    const deadline = Date.now() + 15_000;
    for (;;) {
      await created();
      const shown = await page
        .waitForFunction(() => document.querySelector(".result-window")?.textContent?.includes("Seen in the explorer"), null, { timeout: 1_000 })
        .then(() => true, () => false);
      if (shown || Date.now() > deadline) break;
    }
    await result('"kind": "CREATED"');

    await page.screenshot({ path: join(folder, "explorer-subscription.png") });
    console.log(`explorer screenshots: ${folder}`);

    expect(elsewhere).toEqual([]);
    expect(failures).toEqual([]);
    await context.close();
  }, 60_000);
});
