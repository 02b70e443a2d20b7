"""Gap-free log seq under two OS processes writing at once (PostgreSQL: real row locks)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from berth.models import LogLine
from tests.models.factories import make_deployment, make_service


# One process owns an SQLite database: concurrent writers are a PostgreSQL matter.
@pytest.mark.parametrize("database", ["postgres"], indirect=True)
async def test_two_processes_append_without_gap_or_duplicate(db) -> None:
    deployment = await make_deployment(await make_service())
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.models.append_worker", db.url, str(deployment.id), "1000", tag]
        )
        for tag in ("a", "b")
    ]
    for worker in workers:
        assert worker.wait(timeout=240) == 0
    seqs = await LogLine.filter(deployment_id=deployment.id).order_by("seq").values_list("seq", flat=True)
    assert list(seqs) == list(range(1, 2001))
    texts = await LogLine.filter(deployment_id=deployment.id).values_list("text", flat=True)
    assert sum(t.startswith("a ") for t in texts) == 1000 and sum(t.startswith("b ") for t in texts) == 1000
