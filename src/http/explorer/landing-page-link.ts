import type { ApolloServerPlugin } from "@apollo/server";

const link = (nonce: string | undefined) => `
<style${nonce ? ` nonce="${nonce}"` : ""}>
  #self-hosted-explorer { position: fixed; right: 16px; bottom: 16px; z-index: 10; padding: 6px 10px; border-radius: 4px;
    background: #fff; color: #15252d; box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3); font: 14px system-ui, sans-serif; }
</style>
<a id="self-hosted-explorer" href="/explorer">Offline? Open the self-hosted explorer</a>
`;

/**
 * Apollo's landing page (Sandbox, which loads from Apollo's CDN) with a link to /explorer, which needs no network.
 * The link's style carries the page's own CSP nonce; the page allows no other inline style.
 */
export function withExplorerLink(landingPage: ApolloServerPlugin): ApolloServerPlugin {
  return {
    async serverWillStart(service) {
      const listener = await landingPage.serverWillStart?.(service);
      const render = listener?.renderLandingPage;
      if (!listener || !render) return listener;
      return {
        ...listener,
        async renderLandingPage() {
          const page = await render();
          const html = typeof page.html === "string" ? page.html : await page.html();
          const nonce = /\bnonce="?([0-9a-f]+)/.exec(html)?.[1];
          return { html: html.includes("</body>") ? html.replace("</body>", `${link(nonce)}</body>`) : html + link(nonce) };
        },
      };
    },
  };
}
