// Berth's GraphiQL page, adapted from Strawberry's (MIT, see LICENSE.strawberry). A file of its
// own rather than an inline script, so the page runs under `script-src 'self'`.
//
// Queries and mutations POST to this page's own URL (/graphql); subscriptions open a WebSocket
// to the same URL (graphql-transport-ws). Put the credential in the Headers editor as
// {"Authorization": "Bearer berth_pat_…"}: GraphiQL sends those headers with every POST and as
// the WebSocket's connection_init payload, where Berth reads `Authorization` as well.
(function () {
  "use strict";

  const EXAMPLE_QUERY = `# Berth's GraphQL API. Add your credential in Headers below:
#   {"Authorization": "Bearer <token>"}
# Run with Ctrl-Enter; complete with Ctrl-Space.

query Me {
  viewer {
    subject
    role
    scopes
  }
}
`;

  // The editor's content is kept in the URL (q, variables) so a query can be shared as a
  // link; headers are not, since they carry the credential.
  const parameters = {};
  for (const entry of window.location.search.slice(1).split("&")) {
    const eq = entry.indexOf("=");
    if (eq >= 0) {
      parameters[decodeURIComponent(entry.slice(0, eq))] = decodeURIComponent(entry.slice(eq + 1));
    }
  }

  function updateURL(data) {
    Object.assign(parameters, data);
    const search = Object.keys(parameters)
      .filter((key) => Boolean(parameters[key]))
      .map((key) => encodeURIComponent(key) + "=" + encodeURIComponent(parameters[key]))
      .join("&");
    history.replaceState(null, "", "?" + search);
  }

  const fetchURL = window.location.href.split("?")[0].split("#")[0];

  function webSocketURL(url) {
    const parsed = new URL(url);
    parsed.protocol = parsed.protocol === "https:" ? "wss:" : "ws:";
    parsed.hash = "";
    return parsed.toString();
  }

  const fetcher = GraphiQL.createFetcher({ url: fetchURL, subscriptionUrl: webSocketURL(fetchURL) });

  function BerthGraphiQL() {
    const [query, setQuery] = React.useState(parameters.q || EXAMPLE_QUERY);
    const [variables, setVariables] = React.useState(parameters.variables);
    const explorerPlugin = GraphiQLPluginExplorer.explorerPlugin();

    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      plugins: [explorerPlugin],
      query: query,
      variables: variables,
      onEditQuery: (value) => {
        setQuery(value);
        updateURL({ q: value });
      },
      onEditVariables: (value) => {
        setVariables(value);
        updateURL({ variables: value });
      },
      inputValueDeprecation: true,
      isHeadersEditorEnabled: true,
      // Headers carry the credential: kept neither in the URL nor in the browser's storage,
      // where any script of this origin could read it later.
      shouldPersistHeaders: false,
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(BerthGraphiQL));
})();
