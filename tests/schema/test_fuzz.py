"""Property-based fuzzing of the live server over HTTP with every role's token.

hypothesis-graphql generates queries and mutations from the printed schema (fixed seed,
no shrinking, a bounded count per role and dialect); each is sent to a real `berth serve`
whose database holds the scope walk's world. Every answer must be free of server errors
(no HTTP 5xx, no INTERNAL_SERVER_ERROR) and of leaks: no value of a field whose scopes the
credential lacks (see tests/schema/fuzz.py). A crash it finds becomes a regression test
beside the code it broke.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from graphql import StringValueNode
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import strategies as gql_st

from berth.auth.scopes import ROLE_SCOPES
from berth.models.enums import Role
from berth.schema import build_schema
from tests.schema.conftest import Stack
from tests.schema.fuzz import leaks, prepared
from tests.schema.walk import scope_map
from tests.schema.world import node_ids

# Per role and dialect: 6 roles × 2 dialects × (queries + mutations) ≈ 2,500 operations.
QUERY_EXAMPLES = 140
MUTATION_EXAMPLES = 70
# Problems shown when the test fails (all are counted).
SHOWN = 5

# Scalars of our own: values the server accepts as well as ones it refuses.
def _literal(text: str) -> StringValueNode:
    return StringValueNode(value=text)


CUSTOM_SCALARS = {
    "DateTime": st.sampled_from(["2026-01-01T00:00:00Z", "2026-12-04T10:00:00+02:00", "yesterday", ""]).map(_literal),
    "JSON": st.sampled_from(["{}", "null", "[1, 2]"]).map(_literal),
}


@dataclass
class Findings:
    sent: int = 0
    problems: list[str] = field(default_factory=list)

    def check(self, role: Role, operation: str, response: httpx.Response, held: frozenset[str],
              document: Any) -> None:
        self.sent += 1
        where = f"{role.value}: {operation[:600]}"
        if response.status_code >= 500:
            self.problems.append(f"HTTP {response.status_code} for {where}\n{response.text[:400]}")
            return
        try:
            body = response.json()
        except json.JSONDecodeError:
            self.problems.append(f"not JSON (HTTP {response.status_code}) for {where}: {response.text[:200]}")
            return
        for error in body.get("errors") or []:
            if (error.get("extensions") or {}).get("code") == "INTERNAL_SERVER_ERROR":
                self.problems.append(f"INTERNAL_SERVER_ERROR for {where}\n{error}")
        for leak in leaks(scope_map(), document, body.get("data"), held):
            self.problems.append(f"leak of {leak} for {where}")


def _fuzz(stack: Stack, role: Role, kind: str, examples: int, findings: Findings) -> None:
    held = frozenset(str(scope) for scope in ROLE_SCOPES[role])
    token = stack.token(held, role)
    ids = list(node_ids(stack.seeded()).values())
    sdl = build_schema().as_str()
    strategy = (gql_st.queries if kind == "query" else gql_st.mutations)(sdl, custom_scalars=CUSTOM_SCALARS)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    with httpx.Client(timeout=30) as http:
        @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(strategy)
        def send(operation: str) -> None:
            text, document = prepared(operation, ids)
            response = http.post(stack.base_url + "/graphql", headers=headers, content=json.dumps({"query": text}))
            findings.check(role, text, response, held, document)

        send()


@pytest.mark.parametrize("role", list(Role), ids=lambda role: role.value)
def test_generated_operations_never_crash_or_leak(stack: Stack, role: Role) -> None:
    findings = Findings()
    _fuzz(stack, role, "query", QUERY_EXAMPLES, findings)
    _fuzz(stack, role, "mutation", MUTATION_EXAMPLES, findings)
    assert findings.sent >= QUERY_EXAMPLES + MUTATION_EXAMPLES - 10  # the fuzz really ran
    assert not findings.problems, f"{len(findings.problems)} of {findings.sent}:\n\n" + "\n\n".join(
        findings.problems[:SHOWN])


def test_the_leak_check_finds_values_the_scopes_forbid() -> None:
    """The check itself can fail: a value under a field the viewer may not read is found,
    directly and behind `node(id:)`, and the same answer with that field null is clean."""
    viewer = frozenset(str(scope) for scope in ROLE_SCOPES[Role.VIEWER])  # no logs:read
    _, direct = prepared('{ deployment(id: "d") { id logs { edges { node { text } } } } }', ["x"])
    logs = {"edges": [{"node": {"text": "hello", "__typename": "LogLine"}, "__typename": "LogLineEdge"}],
            "__typename": "LogLineConnection"}
    answer = {"deployment": {"id": "d", "logs": logs, "__typename": "Deployment"}}
    assert leaks(scope_map(), direct, answer, viewer) == ["deployment.logs (needs logs:read)"]
    assert leaks(scope_map(), direct, {"deployment": {"id": "d", "logs": None, "__typename": "Deployment"}},
                 viewer) == []
    _, behind_node = prepared('{ node(id: "t") { id ... on ApiToken { name } } }', ["x"])
    token = {"node": {"id": "t", "name": "ci", "__typename": "ApiToken"}}
    assert leaks(scope_map(), behind_node, token, viewer) == ["node as ApiToken (needs tokens:manage)"]
