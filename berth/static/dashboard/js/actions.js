// The mutations behind Deploy, Cancel and Roll back: {deployment} or {errors} in words.
import { graphql } from "./api.js";
import { errorsOf } from "./errors.js";
import { CANCEL_DEPLOYMENT, ROLLBACK_DEPLOYMENT, START_DEPLOYMENT } from "./queries.js";

async function run(mutation, field, input) {
  try {
    const { data, errors } = await graphql(mutation, { input });
    const payload = data[field];
    if (!payload) return { errors };
    if (payload.errors.length) return { errors: payload.errors };
    return { deployment: payload.deployment };
  } catch (problem) {
    return { errors: errorsOf(problem) };
  }
}

export function startDeployment(input) {
  return run(START_DEPLOYMENT, "startDeployment", input);
}

export function cancelDeployment(deploymentId, reason = null) {
  return run(CANCEL_DEPLOYMENT, "cancelDeployment", { deploymentId, reason });
}

export function rollbackDeployment(serviceId, toDeploymentId, reason = null) {
  return run(ROLLBACK_DEPLOYMENT, "rollbackDeployment", { serviceId, toDeploymentId, reason });
}
