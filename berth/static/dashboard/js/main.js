// The dashboard: sign-in until a credential is accepted, then the pages.
import { graphql } from "./api.js";
import { errorsOf } from "./errors.js";
import { html, render, useEffect, useState } from "./lib.js";
import { completeSignIn, isSignInReturn, loadOAuthConfig } from "./oauth.js";
import { VIEWER } from "./queries.js";
import { getToken, onSignOut, setToken, signOut, REFUSED_MESSAGE } from "./session.js";
import { Shell } from "./shell.js";
import { SignIn } from "./signin.js";
import { ViewerContext } from "./viewer.js";

async function loadViewer() {
  const { data } = await graphql(VIEWER);
  if (!data.viewer) throw new Error(REFUSED_MESSAGE);
  return data.viewer;
}

function App() {
  const [viewer, setViewer] = useState(null);
  const [message, setMessage] = useState(null);
  const [checking, setChecking] = useState(Boolean(getToken()) || isSignInReturn());
  const [oauth, setOAuth] = useState(null);

  useEffect(
    () =>
      onSignOut((why) => {
        setViewer(null);
        setChecking(false);
        setMessage(why ?? null);
      }),
    [],
  );

  const check = async () => {
    setChecking(true);
    try {
      setViewer(await loadViewer());
      setMessage(null);
    } catch (problem) {
      if (getToken()) signOut(errorsOf(problem)[0].message);
    } finally {
      setChecking(false);
    }
  };

  useEffect(() => {
    (async () => {
      const config = await loadOAuthConfig();
      setOAuth(config);
      if (isSignInReturn()) {
        try {
          setToken(await completeSignIn(config));
        } catch (problem) {
          setChecking(false);
          setMessage(problem.message);
          return;
        }
      }
      if (getToken()) check();
    })();
  }, []);

  if (checking) return html`<p class="loading">Checking the credential…</p>`;
  if (!viewer) {
    return html`<${SignIn}
      message=${message}
      oauth=${oauth}
      onToken=${(token) => {
        setToken(token);
        check();
      }}
    />`;
  }
  return html`<${ViewerContext.Provider} value=${viewer}>
    <${Shell} onSignOut=${() => signOut("Signed out.")} />
  <//>`;
}

const root = document.getElementById("app");
root.replaceChildren(); // the "Loading…" placeholder
render(html`<${App} />`, root);
