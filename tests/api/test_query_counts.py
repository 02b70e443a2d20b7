"""No N+1: the SQL statements of a deployments page do not grow with the page size."""

from __future__ import annotations

import logging

from berth.auth.principal import make_principal
from berth.auth.scopes import ALL_SCOPES
from berth.models import Observation
from berth.models.enums import DriftStatus, Role, TokenKind
from berth.schema import build_schema
from berth.schema.context import Context
from tests.models.factories import make_deployment, make_service

QUERY = """
query Page($first: Int!) {
  deployments(first: $first) {
    totalCount
    nodes {
      id number status
      service { name lastObservedState { drift } }
      server { name }
      project { name }
      environment { name }
      steps { kind status }
      actor { email }
      rollbackOf { id }
      queuePosition
    }
  }
}
"""


class StatementCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


async def statements_for(first: int) -> int:
    schema = build_schema()
    principal = make_principal(subject="owner", email="o@example.com", role=Role.OWNER,
                               token_kind=TokenKind.API_TOKEN, credential_scopes=ALL_SCOPES)
    logger = logging.getLogger("tortoise.db_client")
    counter = StatementCounter()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        result = await schema.execute(
            QUERY, variable_values={"first": first},
            context_value=Context(request=None, principal=principal, type_scopes=schema.type_scopes),
        )
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous)
    assert result.errors is None, result.errors
    assert len(result.data["deployments"]["nodes"]) == first
    return counter.count


async def test_statement_count_is_the_same_for_5_and_50_deployments(db) -> None:
    # Spread the page over several services and servers so every loader has many keys.
    services = [await make_service() for _ in range(10)]
    for index in range(60):
        service = services[index % len(services)]
        await make_deployment(service)
    for service in services:
        from datetime import UTC, datetime

        await Observation.create(service=service, observed_at=datetime.now(UTC), drift=DriftStatus.IN_SYNC)
    small = await statements_for(5)
    large = await statements_for(50)
    assert small == large
    assert 3 < large < 20, large
