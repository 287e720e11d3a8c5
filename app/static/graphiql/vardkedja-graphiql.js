// vardkedja's GraphiQL page: every asset comes from this server (no CDN), the query in the
// address (?query= or ?q=) survives a reload, and the Headers tab explains tokens.
"use strict";

(function () {
  // The Authorization value GraphiQL starts with: a placeholder that is never sent.
  const TOKEN_PLACEHOLDER = "Bearer <paste a token: vardkedja token --as clinician>";
  const DEFAULT_HEADERS = JSON.stringify({ Authorization: TOKEN_PLACEHOLDER }, null, 2);
  const WELCOME = [
    "# vardkedja GraphiQL: the whole health and care record of a person, one GraphQL API.",
    "#",
    "# Without a token no patient data leaves the server (patient answers null).",
    "# Mint a development token in a terminal:",
    "#",
    "#     .venv/bin/vardkedja token --as clinician   # or patient, guardian, research, system",
    "#",
    "# and paste it into the Headers tab below, replacing the placeholder:",
    '#     {"Authorization": "Bearer eyJ..."}',
    "# A header whose value still holds <...> is not sent.",
    "#",
    "# Run with Ctrl-Enter or the play button. Docs: the book icon on the left.",
    "",
    '{ patient(personnummer: "19121212-1212") { personnummer familyName } }',
    "",
  ].join("\n");

  const params = new URLSearchParams(window.location.search);
  const endpoint = window.location.origin + window.location.pathname;

  function isPlaceholder(value) {
    return typeof value === "string" && value.includes("<") && value.includes(">");
  }

  function realHeaders(headers) {
    const out = {};
    for (const [name, value] of Object.entries(headers || {})) {
      if (!isPlaceholder(value)) out[name] = value;
    }
    return out;
  }

  const baseFetcher = GraphiQL.createFetcher({ url: endpoint });
  function fetcher(graphQLParams, opts) {
    const headers = realHeaders(opts && opts.headers);
    return baseFetcher(graphQLParams, Object.assign({}, opts, { headers: headers }));
  }

  // Keep the editors in the address so that a reload or a shared link opens the same query.
  // Headers (tokens) never go into the address.
  function remember(name, value) {
    const next = new URLSearchParams(window.location.search);
    if (name === "query") next.delete("q"); // GraphiQL's own short name, read above
    if (value) next.set(name, value);
    else next.delete(name);
    window.history.replaceState(null, "", "?" + next.toString());
  }

  function App() {
    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: WELCOME,
      query: params.get("query") || params.get("q") || undefined,
      variables: params.get("variables") || undefined,
      operationName: params.get("operationName") || undefined,
      defaultHeaders: DEFAULT_HEADERS,
      headers: DEFAULT_HEADERS,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: true,
      inputValueDeprecation: true,
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
      onEditQuery: function (value) { remember("query", value); },
      onEditVariables: function (value) { remember("variables", value); },
      onEditOperationName: function (value) { remember("operationName", value); },
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(App));
})();
