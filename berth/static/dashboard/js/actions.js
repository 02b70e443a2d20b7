// The mutations behind Deploy, Cancel and Roll back: {deployment} or {errors} in words.
import { graphql } from "./api.js";
import { errorsOf } from "./errors.js";
import { CANCEL_DEPLOYMENT, ROLLBACK_DEPLOYMENT, START_DEPLOYMENT } from "./queries.js";

// A fresh key per click: the request may then be sent again after a network failure and
// still start (or roll back) once.
function idempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `dashboard-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

async function run(mutation, field, input, retry) {
  try {
    const { data, errors } = await graphql(mutation, { input }, { retry });
    const payload = data[field];
    if (!payload) return { errors };
    if (payload.errors.length) return { errors: payload.errors };
    return { deployment: payload.deployment };
  } catch (problem) {
    return { errors: errorsOf(problem) };
  }
}

export function startDeployment(input) {
  return run(START_DEPLOYMENT, "startDeployment", { ...input, idempotencyKey: idempotencyKey() }, true);
}

export function cancelDeployment(deploymentId, reason = null) {
  return run(CANCEL_DEPLOYMENT, "cancelDeployment", { deploymentId, reason }, false);
}

export function rollbackDeployment(serviceId, toDeploymentId, reason = null) {
  const input = { serviceId, toDeploymentId, reason, idempotencyKey: idempotencyKey() };
  return run(ROLLBACK_DEPLOYMENT, "rollbackDeployment", input, true);
}
