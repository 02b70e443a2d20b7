// Every GraphQL document the dashboard sends (names as in schema.graphql).

const DEPLOYMENT_ROW = `
  id number status conclusion trigger createdAt startedAt concludedAt queuePosition
  actor { subject email tokenName }
  project { id name } environment { id name } service { id name } server { id name }`;

const LIVE_FIELDS = `
  id status conclusion startedAt concludedAt cancelRequestedAt queuePosition
  error { step code message }
  steps { kind status startedAt completedAt detail }`;

export const VIEWER = `query Viewer { viewer { subject email role tokenKind scopes projectIds } }`;

export const DEPLOYMENTS = `
  query Deployments($first: Int, $after: String, $last: Int, $before: String, $filter: DeploymentFilter) {
    deployments(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      nodes { ${DEPLOYMENT_ROW} }
    }
  }`;

export const SERVICE_CHOICES = `
  query ServiceChoices { projects { id name services { id name environment { id name } } } }`;

export const DEPLOYMENT_FEED = `
  subscription Feed { deploymentFeed { seq type deployment { ${DEPLOYMENT_ROW} } } }`;

export const DEPLOYMENT = `
  query Deployment($id: ID!) {
    deployment(id: $id) {
      ${DEPLOYMENT_ROW}
      cancelRequestedAt reason cancelReason logsPrunedAt
      actor { subject email role tokenKind tokenName }
      input { sourceType image imageTag imageDigest repository ref commitSha }
      error { step code message }
      rollbackOf { id number }
      steps { kind status startedAt completedAt detail }
      declaredConfig frozenInput
      lastObservedState {
        observedAt drift
        containers { name image state health deploymentId }
        differences { field expected actual }
        comparedWith { id number }
      }
    }
  }`;

export const DEPLOYMENT_EVENTS = `
  subscription Events($deploymentId: ID!, $afterSeq: Int) {
    deploymentEvents(deploymentId: $deploymentId, afterSeq: $afterSeq) {
      seq type deployment { ${LIVE_FIELDS} }
    }
  }`;

// Lines in gap-free batches (one message per batch, not per line): a long log replays fast.
export const DEPLOYMENT_LOG_BATCHES = `
  subscription Logs($deploymentId: ID!, $afterSeq: Int) {
    deploymentLogBatches(deploymentId: $deploymentId, afterSeq: $afterSeq, maxLines: 1000) {
      lastSeq
      lines { seq timestamp stream step text }
    }
  }`;

export const PROJECTS = `
  query Projects {
    projects {
      id name
      environments { id name }
      services {
        id name sourceType deletedAt
        environment { id }
        server { id name }
        latestDeployment { id number status conclusion }
        lastObservedState { drift observedAt comparedWith { id number } }
      }
    }
  }`;

export const SERVICE = `
  query Service($id: ID!, $after: String) {
    service(id: $id) {
      id name sourceType deletedAt declaredConfig
      project { id name } environment { id name } server { id name }
      lastObservedState { drift observedAt differences { field expected actual } comparedWith { id number } }
      deployments(first: 20, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        nodes { ${DEPLOYMENT_ROW} }
      }
      previews {
        id pullRequest title headRef headSha author fork status addresses createdAt closedAt cleanedAt
        deployments(first: 1) { nodes { id number status conclusion } }
      }
      gitHooks {
        id provider repository branch previews allowForkPreviews
        deliveries(first: 10) {
          totalCount
          edges { node { id event receivedAt outcome reason commitSha deployment { id number } } }
        }
      }
    }
  }`;

export const SERVERS = `
  query Servers {
    servers {
      id name dockerHost maxConcurrentDeployments maxQueuedDeployments
      allowPrivileged reachable lastCheckedAt dockerVersion
    }
  }`;

// Queue depth and running deployments of each server: two counts per server, by alias.
export function serverLoad(serverIds) {
  const variables = {};
  const fields = serverIds.map((id, i) => {
    variables[`s${i}`] = id;
    return `
      queued${i}: deployments(first: 1, filter: {serverId: $s${i}, status: [QUEUED]}) { totalCount }
      running${i}: deployments(first: 1, filter: {serverId: $s${i}, status: [PREPARE, DEPLOY, FINALIZE]}) { totalCount }`;
  });
  const params = serverIds.map((_, i) => `$s${i}: ID!`).join(", ");
  return { query: `query ServerLoad(${params}) { ${fields.join("")} }`, variables };
}

const PAYLOAD = `errors { code message field }`;

export const START_DEPLOYMENT = `
  mutation Start($input: StartDeploymentInput!) {
    startDeployment(input: $input) { deployment { id number } ${PAYLOAD} }
  }`;

export const CANCEL_DEPLOYMENT = `
  mutation Cancel($input: CancelDeploymentInput!) {
    cancelDeployment(input: $input) { deployment { id status cancelRequestedAt } ${PAYLOAD} }
  }`;

export const CLOSE_PREVIEW = `
  mutation ClosePreview($id: ID!) {
    closePreview(id: $id) { preview { id status closedAt } ${PAYLOAD} }
  }`;

export const ROLLBACK_DEPLOYMENT = `
  mutation Rollback($input: RollbackDeploymentInput!) {
    rollbackDeployment(input: $input) { deployment { id number } ${PAYLOAD} }
  }`;
