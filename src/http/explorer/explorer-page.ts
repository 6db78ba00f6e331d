// The self-hosted explorer: GraphiQL with a token bar, for development, that works without any network but this
// server's. The token pasted once is kept in the browser's localStorage and sent as `Authorization: Bearer` on
// HTTP and as `connectionParams.authorization` on graphql-ws, as any client of the API would.

const assets = "/explorer/assets";

export const explorerHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Incident API explorer</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${assets}/graphiql.css">
<link rel="stylesheet" href="${assets}/explorer.css">
</head>
<body>
<form id="token-bar" autocomplete="off">
  <strong>Incident API</strong>
  <label for="token">Bearer token</label>
  <input id="token" name="token" type="password" placeholder="paste the token from signUp or login" spellcheck="false">
  <button type="submit" id="token-save">Save</button>
  <button type="button" id="token-forget">Forget</button>
  <span id="token-state" role="status"></span>
</form>
<div id="graphiql">Loading the explorer…</div>
<script src="${assets}/react.js"></script>
<script src="${assets}/react-dom.js"></script>
<script src="${assets}/graphiql.js"></script>
<script src="${assets}/graphql-ws.js"></script>
<script src="${assets}/explorer.js"></script>
</body>
</html>
`;

/**
 * No inline script or style in the page, so its Content-Security-Policy can allow this server alone. Styles allow
 * 'unsafe-inline' for the style attributes React sets; fonts and images come as data: URLs inside graphiql.css.
 */
export const explorerContentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

export const explorerStyle = `
html, body { height: 100%; margin: 0; }
body { display: flex; flex-direction: column; font-family: system-ui, sans-serif; }
#token-bar { display: flex; align-items: center; gap: 8px; padding: 6px 12px; border-bottom: 1px solid #ddd; font-size: 14px; }
#token-bar input { flex: 0 1 32em; padding: 4px 6px; font-family: monospace; }
#token-state { color: #555; }
#graphiql { flex: 1; min-height: 0; }
`;

export const explorerScript = `"use strict";
(function () {
  var storageKey = "incident-api:token";
  var httpUrl = new URL("/graphql", location.href).href;
  var wsUrl = httpUrl.replace(/^http/, "ws");
  var input = document.getElementById("token");
  var state = document.getElementById("token-state");

  function token() {
    try { return localStorage.getItem(storageKey) || ""; } catch (error) { return ""; }
  }
  function authorization() {
    return token() ? { authorization: "Bearer " + token() } : {};
  }
  function showState() {
    state.textContent = token() ? "token saved in this browser" : "no token: only signUp and login will work";
  }

  // One graphql-ws connection, opened on the first subscription and made again when the token changes.
  var wsClient = null;
  function ws() {
    if (!wsClient) {
      wsClient = graphqlWs.createClient({ url: wsUrl, lazy: true, retryAttempts: 0, connectionParams: authorization });
    }
    return wsClient;
  }
  function resetWs() {
    if (wsClient) wsClient.dispose();
    wsClient = null;
  }

  document.getElementById("token-bar").addEventListener("submit", function (event) {
    event.preventDefault();
    var value = input.value.trim().replace(/^Bearer\\s+/i, "");
    if (value) localStorage.setItem(storageKey, value);
    input.value = "";
    resetWs();
    showState();
  });
  document.getElementById("token-forget").addEventListener("click", function () {
    localStorage.removeItem(storageKey);
    resetWs();
    showState();
  });
  showState();

  // The token is read on every request, so that a new one applies at once.
  function fetcher(params, options) {
    return GraphiQL.createFetcher({ url: httpUrl, wsClient: ws(), headers: authorization() })(params, options);
  }

  var search = new URLSearchParams(location.search);
  var props = {
    fetcher: fetcher,
    defaultQuery: "# Paste a token above (signUp and login return one), then run a query:\\n{\\n  me {\\n    name\\n    role\\n  }\\n}\\n",
  };
  if (search.get("query")) props.query = search.get("query");
  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(GraphiQL, props));
})();
`;
