// GraphQL over HTTP (POST /graphql) and the artifact download, with this tab's credential.
// A 401 means the credential is no longer accepted: the page goes back to sign-in.
import { getToken, signOut, REFUSED_MESSAGE } from "./session.js";

export class RequestFailed extends Error {
  constructor(message, errors = []) {
    super(message);
    this.errors = errors;
  }
}

function authorization() {
  const token = getToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

// {data, errors}: partial data comes with the errors of the fields that failed
// (FORBIDDEN on a field the credential lacks a scope for); no data at all throws.
export async function graphql(query, variables = {}) {
  let response;
  try {
    response = await fetch("graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", ...authorization() },
      body: JSON.stringify({ query, variables }),
    });
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
  const response = await fetch(`api/v1/deployments/${encodeURIComponent(deploymentId)}/artifact`, {
    headers: authorization(),
  });
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
