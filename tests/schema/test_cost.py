"""The query cost function (berth.schema.cost), by a table of documents and their costs."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse

from berth.client import queries
from berth.domain.queries import DEFAULT_PAGE, MAX_PAGE
from berth.schema import build_schema
from berth.schema.cost import DEFAULT_LIST_SIZE, FIELD_WEIGHTS, INTROSPECTION_WEIGHT, query_cost
from berth.schema.cost_limit import CostCache
from berth.settings import DEFAULT_MAX_QUERY_COST

SCHEMA = build_schema()._schema
ARTIFACT = FIELD_WEIGHTS["artifact"]
TOTAL = FIELD_WEIGHTS["totalCount"]

# The attack run's shape: a page of deployments with their artifacts, each with its service's
# page of deployments with theirs, under several aliases.
ATTACK = "{ " + " ".join(
    f"a{i}: deployments(first: 100) {{ nodes {{ artifact service {{ deployments(first: 100) "
    f"{{ nodes {{ id artifact }} }} }} }} }}"
    for i in range(5)
) + " }"

CASES: list[tuple[str, str, dict[str, Any], int]] = [
    ("one scalar", "{ viewer { subject } }", {}, 1 + 1),
    ("__typename is free", "{ __typename viewer { __typename subject } }", {}, 2),
    ("a page with first", "{ deployments(first: 5) { nodes { id } } }", {}, 1 + 1 + 5 * 1),
    ("a page with last", "{ deployments(last: 7) { nodes { id } } }", {}, 1 + 1 + 7),
    ("no first: the default page", "{ deployments { nodes { id } } }", {}, 2 + DEFAULT_PAGE),
    ("beyond the largest page: the largest", "{ deployments(first: 1000) { nodes { id } } }", {}, 2 + MAX_PAGE),
    ("first from a variable", "query($n: Int) { deployments(first: $n) { nodes { id } } }", {"n": 9}, 2 + 9),
    ("first from a variable's default", "query($n: Int = 3) { deployments(first: $n) { nodes { id } } }", {}, 2 + 3),
    ("a null variable: the default page", "query($n: Int) { deployments(first: $n) { nodes { id } } }",
     {"n": None}, 2 + DEFAULT_PAGE),
    ("edges and nodes both repeat", "{ deployments(first: 4) { edges { cursor node { id } } nodes { id } } }", {},
     1 + (1 + 4 * (1 + 1 + 1)) + (1 + 4 * 1)),
    ("pageInfo and totalCount are once", "{ deployments(first: 4) { totalCount pageInfo { hasNextPage } } }", {},
     1 + TOTAL + 1 + 1),
    ("a heavy field", "{ deployment(id: \"x\") { artifact } }", {}, 1 + ARTIFACT),
    ("the views", "{ deployment(id: \"x\") { declaredConfig frozenInput configSnapshot } }", {}, 1 + 30),
    ("an unpaged list", "{ servers { id name } }", {}, 1 + DEFAULT_LIST_SIZE * 2),
    ("aliases count as fields", "{ a: viewer { subject } b: viewer { subject } }", {}, 4),
    ("a named fragment is expanded",
     "query { deployments(first: 2) { nodes { ...F } } } fragment F on Deployment { id artifact }", {},
     2 + 2 * (1 + ARTIFACT)),
    ("an inline fragment is expanded", "{ node(id: \"x\") { ... on Deployment { id artifact } } }", {},
     1 + 1 + ARTIFACT),
    ("nested pages multiply",
     "{ deployments(first: 10) { nodes { service { deployments(first: 10) { nodes { artifact } } } } } }", {},
     1 + 1 + 10 * (1 + 1 + 1 + 10 * ARTIFACT)),
    ("log lines are a page", "{ deployment(id: \"x\") { logs(first: 50) { edges { node { seq } } } } }", {},
     1 + FIELD_WEIGHTS["logs"] + 1 + 50 * (1 + 1)),
    ("introspection weighs a constant", "{ __schema { types { name fields { name } } } }", {},
     INTROSPECTION_WEIGHT),
    ("the attack", ATTACK, {}, 5 * (1 + 1 + 100 * (ARTIFACT + 1 + 1 + 1 + 100 * (1 + ARTIFACT)))),
]


@pytest.mark.parametrize(("document", "variables", "expected"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_cost(document: str, variables: dict[str, Any], expected: int) -> None:
    assert query_cost(SCHEMA, parse(document), None, variables) == expected


def test_the_operation_named_is_the_one_costed() -> None:
    document = parse("query A { viewer { subject } } query B { servers { id } }")
    assert query_cost(SCHEMA, document, "A") == 2
    assert query_cost(SCHEMA, document, "B") == 1 + DEFAULT_LIST_SIZE
    assert query_cost(SCHEMA, document, None) == 0  # ambiguous: execution refuses it
    assert query_cost(SCHEMA, document, "C") == 0


def test_the_attack_is_far_over_the_limit_and_every_cli_query_far_under() -> None:
    assert query_cost(SCHEMA, parse(ATTACK)) > 10 * DEFAULT_MAX_QUERY_COST
    for name in dir(queries):
        text = getattr(queries, name)
        if isinstance(text, str) and ("query " in text or "mutation " in text):
            cost = query_cost(SCHEMA, parse(text), None, {"first": MAX_PAGE})
            assert cost < DEFAULT_MAX_QUERY_COST / 3, (name, cost)


def test_the_cache_keys_on_the_document_and_its_integer_variables() -> None:
    cache = CostCache()
    document = parse("query($n: Int, $id: ID) { deployments(first: $n) { nodes { id } } }")
    assert cache.cost(SCHEMA, document, None, {"n": 5, "id": "a"}) == 2 + 5
    assert cache.cost(SCHEMA, document, None, {"n": 5, "id": "b"}) == 2 + 5
    assert cache.cost(SCHEMA, document, None, {"n": 50}) == 2 + 50
    assert len(cache._costs) == 2
