// How times, durations and a deployment's service are written on the page.

const pad = (n) => String(n).padStart(2, "0");

export function formatTime(value) {
  if (!value) return "—";
  const t = new Date(value);
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
}

export function formatDuration(start, end) {
  if (!start) return "—";
  const ms = (end ? new Date(end) : new Date()) - new Date(start);
  if (ms < 0) return "—";
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)} m ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} m`;
}

export function servicePath(deployment) {
  const name = (node) => node?.name ?? "?";
  return `${name(deployment.project)}/${name(deployment.environment)}/${name(deployment.service)}`;
}

export function actorName(actor) {
  if (!actor) return "—";
  return actor.email ?? actor.tokenName ?? actor.subject;
}

export function isActive(deployment) {
  return deployment.status !== "COMPLETED" && deployment.status !== "FAILED";
}

export function prettyJson(value) {
  return JSON.stringify(value, null, 2);
}
