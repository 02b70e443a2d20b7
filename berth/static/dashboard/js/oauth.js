// "Sign in with <issuer>": the authorization code flow with PKCE (RFC 7636) as a public
// client. The verifier and state wait in sessionStorage during the round trip; the code
// that comes back in the URL is taken out of it at once and exchanged for the access token.
const PENDING_KEY = "berth.oauth-pending";

function base64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(size) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

function redirectUri() {
  return `${window.location.origin}${window.location.pathname}`;
}

// {oauth: {issuer, clientId, authorizationEndpoint, tokenEndpoint, scope}} or {oauth: null}.
export async function loadOAuthConfig() {
  try {
    const response = await fetch("dashboard/config.json");
    return response.ok ? (await response.json()).oauth : null;
  } catch {
    return null;
  }
}

export async function startSignIn(config) {
  const verifier = randomString(32);
  const state = randomString(16);
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state }));
  const params = new URLSearchParams({
    response_type: "code",
    client_id: config.clientId,
    redirect_uri: redirectUri(),
    code_challenge: challenge,
    code_challenge_method: "S256",
    state,
  });
  if (config.scope) params.set("scope", config.scope);
  window.location.assign(`${config.authorizationEndpoint}?${params}`);
}

// Whether this page load is the issuer sending the browser back.
export function isSignInReturn() {
  const params = new URLSearchParams(window.location.search);
  return params.has("code") || params.has("error");
}

// The access token from the issuer's answer; throws with the reason in words.
export async function completeSignIn(config) {
  const params = new URLSearchParams(window.location.search);
  window.history.replaceState(null, "", window.location.pathname + window.location.hash);
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? "null");
  sessionStorage.removeItem(PENDING_KEY);
  if (params.has("error")) {
    throw new Error(`The sign-in was not completed: ${params.get("error_description") || params.get("error")}.`);
  }
  if (!config || !pending || params.get("state") !== pending.state) {
    throw new Error("The sign-in answer does not belong to this tab; sign in again.");
  }
  let response;
  try {
    response = await fetch(config.tokenEndpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: params.get("code"),
        redirect_uri: redirectUri(),
        client_id: config.clientId,
        code_verifier: pending.verifier,
      }),
    });
  } catch {
    throw new Error("The issuer's token endpoint cannot be reached.");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok || typeof body.access_token !== "string") {
    throw new Error(`The issuer refused the sign-in: ${body.error_description || body.error || `HTTP ${response.status}`}.`);
  }
  return body.access_token;
}
