// GraphQL over HTTP (POST /graphql) and the artifact download, with this tab's credential.
// A 401 means the credential is no longer accepted: the page goes back to sign-in.
import { getToken, signOut, REFUSED_MESSAGE } from "./session.js";

export class RequestFailed extends Error {
  constructor(message, errors = []) {
    super(message);
    this.errors = errors;
  }
}

// A request the browser could not complete (no answer at all) is tried again twice: a
// network change aborts every request in flight (Chromium does so whenever an interface comes
// or goes, as Docker's do with each container). Only requests safe to repeat are retried.
const RETRY_DELAYS_MS = [250, 750];

async function send(url, init, retry) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await fetch(url, init);
    } catch (problem) {
      if (!retry || attempt >= RETRY_DELAYS_MS.length) throw problem;
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[attempt]));
    }
  }
}

function authorization() {
  const token = getToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

// {data, errors}: partial data comes with the errors of the fields that failed
// (FORBIDDEN on a field the credential lacks a scope for); no data at all throws.
// `retry`: whether the request may be sent again (queries; mutations with an idempotency key).
export async function graphql(query, variables = {}, { retry = true } = {}) {
  let response;
  try {
    const init = {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", ...authorization() },
      body: JSON.stringify({ query, variables }),
    };
    response = await send("graphql", init, retry);
  } catch {
    throw new RequestFailed("The server cannot be reached.");
  }
  if (response.status === 401) {
    signOut(REFUSED_MESSAGE);
    throw new RequestFailed(REFUSED_MESSAGE);
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new RequestFailed(`The server answered HTTP ${response.status}.`);
  }
  const errors = body.errors ?? [];
  if (!body.data) throw new RequestFailed(errors[0]?.message ?? "The request failed.", errors);
  return { data: body.data, errors };
}

// The artifact exactly as GET /api/v1/deployments/{id}/artifact sends it.
export async function fetchArtifact(deploymentId) {
  const url = `api/v1/deployments/${encodeURIComponent(deploymentId)}/artifact`;
  let response;
  try {
    response = await send(url, { headers: authorization() }, true);
  } catch {
    throw new RequestFailed("The server cannot be reached.");
  }
  if (response.status === 401) {
    signOut(REFUSED_MESSAGE);
    throw new RequestFailed(REFUSED_MESSAGE);
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new RequestFailed(body.errors?.[0]?.message ?? `HTTP ${response.status}`, body.errors ?? []);
  }
  const disposition = response.headers.get("content-disposition") ?? "";
  const filename = /filename="([^"]+)"/.exec(disposition)?.[1] ?? "artifact.json";
  return { bytes: await response.arrayBuffer(), filename };
}
