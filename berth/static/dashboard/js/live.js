// Subscriptions over graphql-transport-ws, through the vendored graphql-ws client.
//
// The client reconnects by itself after a dropped connection and then sends each open
// subscription's request again, serialising it anew: a stream that resumes from a
// sequence number (afterSeq) passes a `variables` object it keeps up to date, so the
// new subscription starts right after the last item received.
import { createClient } from "./lib.js";
import { getToken, onSignOut, signOut, REFUSED_MESSAGE } from "./session.js";

const REFUSED_CLOSE_CODES = new Set([4401, 4403]);
const reconnectListeners = new Set();
let client = null;

function socketUrl() {
  const url = new URL("graphql", window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

function retryWait(retries) {
  const delay = Math.min(500 * 2 ** retries, 8000);
  return new Promise((resolve) => setTimeout(resolve, delay));
}

function liveClient() {
  if (client === null) {
    let connections = 0;
    client = createClient({
      url: socketUrl(),
      connectionParams: () => ({ authorization: `Bearer ${getToken()}` }),
      retryAttempts: Infinity,
      shouldRetry: () => true,
      retryWait,
      on: {
        connected: () => {
          connections += 1;
          if (connections > 1) for (const listener of reconnectListeners) listener();
        },
      },
    });
  }
  return client;
}

onSignOut(() => {
  client?.dispose();
  client = null;
});

// `listener` runs after the connection came back: what was missed meanwhile is refetched.
export function onReconnect(listener) {
  reconnectListeners.add(listener);
  return () => reconnectListeners.delete(listener);
}

// Subscribe to `request` ({query, variables}); returns the function that unsubscribes.
export function subscribe(request, { next, error = () => {}, complete = () => {} }) {
  return liveClient().subscribe(request, {
    next: (result) => {
      if (result.errors?.length) error(result.errors);
      if (result.data) next(result.data);
    },
    error: (problem) => {
      if (REFUSED_CLOSE_CODES.has(problem?.code)) {
        signOut(REFUSED_MESSAGE);
        return;
      }
      error(Array.isArray(problem) ? problem : [{ message: problem?.reason || problem?.message || "The live connection failed." }]);
    },
    complete,
  });
}
