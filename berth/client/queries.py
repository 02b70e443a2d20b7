"""The GraphQL documents the CLI sends (schema: shared/contract/schema.graphql)."""

from __future__ import annotations

RECORD = """
fragment Record on Deployment {
  id number status conclusion trigger queuePosition
  createdAt startedAt concludedAt cancelRequestedAt reason cancelReason
  actor { subject email role tokenKind tokenName }
  service { id name }
  project { id name }
  environment { id name }
  server { id name }
  input {
    sourceType image imageTag imageDigest imageId repository ref commitSha
    composeFiles composeProfiles dockerfile
  }
  steps { kind status startedAt completedAt detail }
  error { step code message }
  rollbackOf { id number }
  approval { state required decisions { actor { subject email tokenName } approved comment at } }
}
"""

VIEWS = """
fragment Views on Deployment {
  declaredConfig
  frozenInput
  lastObservedState {
    observedAt drift
    containers { name image imageDigest state health deploymentId startedAt }
    differences { field expected actual }
    comparedWith { id number }
  }
}
"""

DEPLOYMENT = (
    RECORD
    + """
query Deployment($id: ID!) { deployment(id: $id) { ...Record } }
"""
)

DEPLOYMENT_WITH_VIEWS = (
    RECORD
    + VIEWS
    + """
query DeploymentViews($id: ID!) { deployment(id: $id) { ...Record ...Views } }
"""
)

# `berth logs` asks for one line first: a credential without logs:read is told so (exit 3)
# before anything is printed or a WebSocket is opened.
LOGS_ACCESS = """
query LogsAccess($id: ID!) { deployment(id: $id) { id status logsPrunedAt logs(first: 1) { edges { cursor } } } }
"""

ARTIFACT = """
query Artifact($id: ID!) { deployment(id: $id) { id artifact } }
"""

DEPLOYMENTS = (
    RECORD
    + """
query Deployments($first: Int, $filter: DeploymentFilter) {
  deployments(first: $first, filter: $filter) { totalCount nodes { ...Record } }
}
"""
)

LOGS_PAGE = """
query Logs($id: ID!, $first: Int, $after: String) {
  deployment(id: $id) {
    id
    logs(first: $first, after: $after) {
      edges { cursor node { seq timestamp stream step text } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

START = (
    RECORD
    + """
mutation Start($input: StartDeploymentInput!) {
  startDeployment(input: $input) { deployment { ...Record } errors { code message field } }
}
"""
)

CANCEL = (
    RECORD
    + """
mutation Cancel($input: CancelDeploymentInput!) {
  cancelDeployment(input: $input) { deployment { ...Record } errors { code message field } }
}
"""
)

ROLLBACK = (
    RECORD
    + """
mutation Rollback($input: RollbackDeploymentInput!) {
  rollbackDeployment(input: $input) { deployment { ...Record } errors { code message field } }
}
"""
)

APPROVE = (
    RECORD
    + """
mutation Approve($input: DecideDeploymentInput!) {
  approveDeployment(input: $input) { deployment { ...Record } errors { code message field } }
}
"""
)

REJECT = (
    RECORD
    + """
mutation Reject($input: DecideDeploymentInput!) {
  rejectDeployment(input: $input) { deployment { ...Record } errors { code message field } }
}
"""
)

PLAN = (
    RECORD
    + """
query Plan($input: StartDeploymentInput!) {
  planDeployment(input: $input) {
    service { id name project { id name } environment { id name } }
    changes { path before after }
    wouldSupersede { ...Record }
    queueAhead requiresApproval
    problems { code message field }
  }
}
"""
)

VIEWER = """
query Viewer { viewer { subject email role tokenKind scopes projectIds } }
"""

INVENTORY = """
query Inventory {
  projects {
    id name
    environments { id name }
    services { id name environment { id name } server { id name } }
  }
}
"""

SERVERS = """
query Servers { servers { id name } }
"""

SERVICE = """
query Service($id: ID!) {
  service(id: $id) { id name project { id name } environment { id name } server { id name } }
}
"""

CREATE_PROJECT = """
mutation CreateProject($input: CreateProjectInput!) {
  createProject(input: $input) { project { id name } errors { code message field } }
}
"""

SERVICE_RESULT = "service { id name project { id name } environment { id name } server { id name } }"

CREATE_SERVICE = f"""
mutation CreateService($input: CreateServiceInput!) {{
  createService(input: $input) {{ {SERVICE_RESULT} errors {{ code message field }} }}
}}
"""

UPDATE_SERVICE = f"""
mutation UpdateService($input: UpdateServiceInput!) {{
  updateService(input: $input) {{ {SERVICE_RESULT} errors {{ code message field }} }}
}}
"""

EVENTS = """
subscription Events($deploymentId: ID!, $afterSeq: Int) {
  deploymentEvents(deploymentId: $deploymentId, afterSeq: $afterSeq) {
    seq type at status conclusion
    step { kind status startedAt completedAt detail }
  }
}
"""

# Batches: a fast producer's lines cost one message per batch instead of one per line.
LOGS = """
subscription Logs($deploymentId: ID!, $afterSeq: Int) {
  deploymentLogBatches(deploymentId: $deploymentId, afterSeq: $afterSeq) {
    lastSeq lines { seq timestamp stream step text }
  }
}
"""
LOGS_SUBSCRIPTION_FIELD = "deploymentLogBatches"

SERVICE_LIST = """
query ServiceList($includeDeleted: Boolean!) {
  projects {
    id name
    services(includeDeleted: $includeDeleted) {
      id name sourceType deletedAt
      environment { id name }
      server { id name }
      latestDeployment { id number status conclusion createdAt }
    }
  }
}
"""

SERVER_LIST = """
query ServerList {
  servers {
    id name dockerHost reachable lastCheckedAt dockerVersion maxConcurrentDeployments maxQueuedDeployments
    proxy { state httpAddress routes upstreams { host pathPrefix upstream } }
  }
}
"""

TOKEN_LIST = """
query TokenList {
  apiTokens { id name prefix role scopes projectIds createdAt expiresAt lastUsedAt revokedAt createdBy }
}
"""

REVOKE_TOKEN = """
mutation RevokeToken($id: ID!) {
  revokeApiToken(id: $id) { apiToken { id name prefix role revokedAt } errors { code message field } }
}
"""

DELETE_SERVICE = """
mutation DeleteService($input: DeleteServiceInput!) {
  deleteService(input: $input) {
    service { id name deletedAt project { id name } environment { id name } server { id name } }
    errors { code message field }
  }
}
"""

AUDIT_EVENTS = """
query AuditEvents($first: Int, $filter: AuditFilter) {
  auditEvents(first: $first, filter: $filter) {
    edges { node {
      id at action outcome targetType targetId requestId remoteAddress details
      actor { subject email role tokenKind tokenName }
    } }
  }
}
"""
