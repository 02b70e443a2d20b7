// Sign-in by pasting an API token (or an OAuth access token): kept in sessionStorage only.
import { html, useState } from "./lib.js";
import { startSignIn } from "./oauth.js";

function issuerName(issuer) {
  try {
    return new URL(issuer).host;
  } catch {
    return issuer;
  }
}

export function SignIn({ message, oauth, onToken }) {
  const [token, setToken] = useState("");
  const submit = (event) => {
    event.preventDefault();
    const value = token.trim();
    if (value) onToken(value);
  };
  return html`<main class="signin">
    <h1>Berth</h1>
    <form onSubmit=${submit} aria-labelledby="signin-title">
      <h2 id="signin-title">Sign in</h2>
      ${message && html`<p class="notice" role="status">${message}</p>`}
      <label for="token">API token</label>
      <input
        id="token"
        name="token"
        type="password"
        autocomplete="off"
        spellcheck="false"
        placeholder="berth_pat_…"
        value=${token}
        onInput=${(event) => setToken(event.currentTarget.value)}
        required
      />
      <p class="hint">Kept in this tab only (sessionStorage); make one with <code>berth token create</code>.</p>
      <button type="submit">Sign in</button>
      ${oauth &&
      html`<p class="or">or</p>
        <button type="button" class="secondary" onClick=${() => startSignIn(oauth)}>Sign in with ${issuerName(oauth.issuer)}</button>`}
    </form>
  </main>`;
}
