"""The GraphQL operations behind the MCP tools and resources: the API's own fields, nothing else.

`planDeployment`, `approveDeployment`, `rejectDeployment` and `Deployment.approval` are
contract v2 (agents.graphql) fields.
"""

from __future__ import annotations

ERRORS = "errors { code message field }"

# What names a deployment for a person (`project/env/service #N`) and its state.
DEPLOYMENT = """
  id number status conclusion trigger queuePosition
  createdAt startedAt concludedAt cancelRequestedAt reason cancelReason
  actor { subject email role tokenKind tokenName }
  input { sourceType image imageTag imageDigest repository ref commitSha composeFiles }
  steps { kind status detail }
  error { step code message }
  rollbackOf { id number }
  service { id name } project { id name } environment { id name }
  approval { state required decisions { approved comment at actor { subject email role tokenKind } } }
"""

# The three views (CONTRACT: declared config, frozen input, last observed state).
VIEWS = """
  declaredConfig frozenInput
  lastObservedState {
    observedAt drift
    containers { name image imageDigest state health deploymentId startedAt }
    differences { field expected actual }
    comparedWith { id number }
  }
"""

VIEWER = "query McpViewer { viewer { subject role tokenKind scopes projectIds } }"

LIST_SERVICES = """
query McpServices {
  projects {
    id name
    services {
      id name sourceType deletedAt
      environment { id name }
      latestDeployment { id number status conclusion }
    }
  }
}
"""

LIST_DEPLOYMENTS = f"""
query McpDeployments($first: Int, $after: String, $filter: DeploymentFilter) {{
  deployments(first: $first, after: $after, filter: $filter) {{
    totalCount
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {DEPLOYMENT} }}
  }}
}}
"""

GET_DEPLOYMENT = f"query McpDeployment($id: ID!) {{ deployment(id: $id) {{ {DEPLOYMENT} }} }}"
GET_DEPLOYMENT_WITH_VIEWS = f"query McpDeploymentViews($id: ID!) {{ deployment(id: $id) {{ {DEPLOYMENT} {VIEWS} }} }}"
GET_DEPLOYMENT_WITH_APPROVAL = (
    f"query McpDeploymentApproval($id: ID!) {{ deployment(id: $id) {{ {DEPLOYMENT} }} }}"
)
ARTIFACT = "query McpArtifact($id: ID!) { deployment(id: $id) { id artifact } }"

LOGS_PAGE = """
query McpLogs($id: ID!, $first: Int, $after: String) {
  deployment(id: $id) {
    id number status conclusion
    service { name } project { name } environment { name }
    logs(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { node { seq timestamp stream step text } }
    }
  }
}
"""

SERVICE_OF = """
query McpService($id: ID!) {
  service(id: $id) {
    id name deletedAt project { id name } environment { id name }
    latestDeployment { id number status conclusion }
  }
}
"""

PLAN = f"""
query McpPlan($input: StartDeploymentInput!) {{
  planDeployment(input: $input) {{
    service {{ id name project {{ id name }} environment {{ id name }} }}
    changes {{ path before after }}
    wouldSupersede {{ {DEPLOYMENT} }}
    queueAhead requiresApproval
    problems {{ code message field }}
  }}
}}
"""

START = f"""
mutation McpStart($input: StartDeploymentInput!) {{
  startDeployment(input: $input) {{ deployment {{ {DEPLOYMENT} }} {ERRORS} }}
}}
"""

CANCEL = f"""
mutation McpCancel($input: CancelDeploymentInput!) {{
  cancelDeployment(input: $input) {{ deployment {{ {DEPLOYMENT} }} {ERRORS} }}
}}
"""

ROLLBACK = f"""
mutation McpRollback($input: RollbackDeploymentInput!) {{
  rollbackDeployment(input: $input) {{ deployment {{ {DEPLOYMENT} }} {ERRORS} }}
}}
"""

APPROVE = f"""
mutation McpApprove($input: DecideDeploymentInput!) {{
  approveDeployment(input: $input) {{ deployment {{ {DEPLOYMENT} }} {ERRORS} }}
}}
"""

REJECT = f"""
mutation McpReject($input: DecideDeploymentInput!) {{
  rejectDeployment(input: $input) {{ deployment {{ {DEPLOYMENT} }} {ERRORS} }}
}}
"""
