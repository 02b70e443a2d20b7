// The credential of this tab: sessionStorage only (gone with the tab; never in a URL,
// never in storage that outlives the tab, never logged), and the sign-out anyone can ask for.
const KEY = "berth.credential";
const signOutListeners = new Set();

export function getToken() {
  return sessionStorage.getItem(KEY);
}

export function setToken(token) {
  sessionStorage.setItem(KEY, token);
}

export function onSignOut(listener) {
  signOutListeners.add(listener);
  return () => signOutListeners.delete(listener);
}

// Forget the credential and tell the page why (shown on the sign-in form).
export function signOut(message) {
  sessionStorage.removeItem(KEY);
  for (const listener of signOutListeners) listener(message);
}

export const REFUSED_MESSAGE = "Your credential was refused or has expired. Sign in again.";
