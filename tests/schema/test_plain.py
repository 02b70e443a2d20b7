"""Pages completed in one pass (berth.schema.plain) answer exactly what the ordinary,
field-by-field completion answers — data and errors — for every shape of selection; what
the pass does not take on it gives back to the ordinary completion."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from graphql import ExecutionResult
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from berth.auth.principal import Principal, make_principal
from berth.auth.scopes import SCOPE_NAMES
from berth.models import Service
from berth.models.enums import DeploymentStatus, LogStream, Role, TokenKind
from berth.models.lifecycle import LogEntry, append_logs, apply_change
from berth.schema import build_schema
from berth.schema.build import BerthSchema
from berth.schema.context import Context
from berth.schema.ids import to_global_id
from berth.schema.plain import COMPLETIONS, Plain
from tests.conftest import Database
from tests.models.factories import make_deployment, make_service


class OrdinaryCompletion(StrawberryGraphQLCoreExecutionContext):
    """Every value completed field by field, as graphql-core does: the reference."""

    def complete_value(self, return_type: Any, field_details_list: Any, info: Any, path: Any, result: Any,
                       position_context: Any) -> Any:
        if type(result) is Plain:
            result = result.value
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)


PLAIN = build_schema()
ORDINARY = build_schema()
ORDINARY.execution_context_class = OrdinaryCompletion

NODE = """
  id number status conclusion trigger createdAt startedAt concludedAt
  service { id name sourceType }
  server { id name }
  steps { kind status startedAt completedAt }
  actor { subject email role tokenKind tokenName }
"""
BENCH_QUERY = f"""
query Page($first: Int!) {{
  deployments(first: $first) {{
    totalCount
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    nodes {{ {NODE} }}
  }}
}}
"""
SHAPES = """
query Shapes($first: Int!, $withSteps: Boolean!, $skipServer: Boolean!) {
  page: deployments(first: $first) {
    __typename
    edges { cursor node { ...Row ... on Node { id } } }
    nodes {
      __typename
      number
      serial: number
      service { id }
      service { name __typename }
      steps @include(if: $withSteps) { kind }
      server @skip(if: $skipServer) { name }
      ... on Deployment { reason cancelReason cancelRequestedAt logsPrunedAt }
    }
  }
}
fragment Row on Deployment { status trigger actor { subject } }
"""


def principal(scopes: set[str] | frozenset[str] = SCOPE_NAMES) -> Principal:
    return make_principal(subject="test:plain", email=None, role=Role.OWNER, token_kind=TokenKind.API_TOKEN,
                          credential_scopes=scopes, token_name="plain")


async def run(schema: BerthSchema, query: str, variables: dict[str, Any], who: Principal) -> dict[str, Any]:
    context = Context(request=None, principal=who, type_scopes=schema.type_scopes)
    result = await schema.execute(query, variables, context_value=context)
    return {"data": result.data, "errors": [error.formatted for error in result.errors or []]}


async def both(query: str, variables: dict[str, Any], who: Principal | None = None) -> tuple[dict[str, Any], Counter[str]]:
    """The plain answer (equal to the ordinary one) and how the plain schema completed it."""
    who = who or principal()
    before = Counter(COMPLETIONS)
    answer = await run(PLAIN, query, variables, who)
    completions = Counter(COMPLETIONS)
    completions.subtract(before)
    assert answer == await run(ORDINARY, query, variables, who)
    return answer, +completions


async def seeded(count: int) -> Service:
    service = await make_service()
    for number in range(count):
        await make_deployment(service, reason=f"reason {number}" if number % 2 else None)
    return service


async def test_a_page_completes_in_one_pass_as_the_ordinary_way_would(db: Database) -> None:
    await seeded(4)
    answer, completions = await both(BENCH_QUERY, {"first": 3})
    assert completions == Counter({"plain": 1})
    page = answer["data"]["deployments"]
    assert len(page["nodes"]) == 3 and page["pageInfo"]["hasNextPage"] is True and not answer["errors"]
    assert all(node["steps"] and node["service"]["name"] and node["actor"]["subject"] for node in page["nodes"])


@pytest.mark.parametrize("with_steps, skip_server", [(True, False), (False, True)])
async def test_aliases_fragments_directives_and_merged_fields(
    db: Database, with_steps: bool, skip_server: bool,
) -> None:
    await seeded(3)
    answer, completions = await both(SHAPES, {"first": 3, "withSteps": with_steps, "skipServer": skip_server})
    assert completions == Counter({"plain": 1})
    node = answer["data"]["page"]["nodes"][0]
    assert node["__typename"] == "Deployment" and node["serial"] == node["number"]
    assert set(node["service"]) == {"id", "name", "__typename"}
    assert ("steps" in node) is with_steps and ("server" in node) is not skip_server


async def test_a_service_page_completes_in_one_pass_too(db: Database) -> None:
    service = await seeded(2)
    query = "query($id: ID!) { service(id: $id) { deployments(first: 5) { nodes { number status } } } }"
    answer, completions = await both(query, {"id": to_global_id("Service", service.id)})
    assert completions == Counter({"plain": 1})
    assert [n["number"] for n in answer["data"]["service"]["deployments"]["nodes"]] == [2, 1]


@pytest.mark.parametrize("selection", [
    "queuePosition",  # an async resolver: batched by its loader the ordinary way
    "logs(first: 1) { edges { cursor } }",  # a field with arguments
    "approval { state }",
])
async def test_what_the_pass_does_not_take_on_is_given_back(db: Database, selection: str) -> None:
    await seeded(2)
    answer, completions = await both(f"{{ deployments(first: 2) {{ nodes {{ number {selection} }} }} }}", {})
    assert completions == Counter({"given back": 1}) and not answer["errors"]
    assert len(answer["data"]["deployments"]["nodes"]) == 2


async def test_a_field_the_scopes_refuse_gets_the_ordinary_refusal(db: Database) -> None:
    await seeded(2)
    reader = principal({"deploy:read"})
    answer, completions = await both(BENCH_QUERY, {"first": 2}, reader)
    assert completions == Counter({"given back": 1})
    # Refused edges are null with FORBIDDEN errors at their paths; the rest is there.
    codes = {error["extensions"]["code"] for error in answer["errors"]}
    assert codes == {"FORBIDDEN"}
    node = answer["data"]["deployments"]["nodes"][0]
    assert node["service"] is None and node["server"] is None and node["number"] == 2


async def first_message(schema: BerthSchema, query: str, variables: dict[str, Any]) -> Any:
    context = Context(request=None, principal=principal(), type_scopes=schema.type_scopes)
    stream = await schema.subscribe(query, variables, context_value=context)
    assert not isinstance(stream, ExecutionResult), stream
    try:
        result = await anext(stream)
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
    return {"data": result.data, "errors": [error.formatted for error in result.errors or []]}


@pytest.mark.parametrize("query", [
    "subscription($id: ID!) { deploymentEvents(deploymentId: $id, afterSeq: 0) { seq type at status } }",
    "subscription($id: ID!) { deploymentLogBatches(deploymentId: $id, afterSeq: 0) "
    "{ lastSeq lines { seq timestamp stream step text } } }",
    "subscription($id: ID!) { deploymentLogs(deploymentId: $id, afterSeq: 0) { seq stream text } }",
])
async def test_subscription_messages_complete_in_one_pass(db: Database, query: str) -> None:
    service = await make_service()
    deployment = await make_deployment(service)
    await apply_change(deployment.id, from_status=DeploymentStatus.QUEUED, to_status=DeploymentStatus.PREPARE)
    await append_logs(deployment.id, [LogEntry(f"line {n}", LogStream.STDOUT) for n in range(3)])
    variables = {"id": to_global_id("Deployment", deployment.id)}
    before = COMPLETIONS["plain"]
    message = await first_message(PLAIN, query, variables)
    assert COMPLETIONS["plain"] == before + 1 and not message["errors"]
    assert message == await first_message(ORDINARY, query, variables)
