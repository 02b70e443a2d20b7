"""LogWriter against the real database: batches in order, each line exactly once, masked."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from berth.models import LogLine
from berth.models.enums import LogStream
from berth.runner import log_writer
from berth.runner.claims import claim_next
from berth.runner.log_writer import LogWriter, SecretMasker
from tests.runner.runner_support import make_server, make_service, queue


async def running_deployment() -> int:
    deployment = await queue(await make_service(await make_server()))
    assert (await claim_next("writer-test:1:x", 30)) is not None
    return int(deployment.id)


async def stored(deployment_id: int) -> list[tuple[int, str]]:
    rows = await LogLine.filter(deployment_id=deployment_id).order_by("seq").values_list("seq", "text")
    return [(int(seq), str(text)) for seq, text in rows]


async def test_close_with_a_long_backlog_writes_every_line_exactly_once(db, monkeypatch: pytest.MonkeyPatch) -> None:
    """The flusher is mid-backlog when close() begins and the database is slow: close must not
    cut a batch that is already committed (it was written twice: +500 lines in the benchmark)."""
    deployment_id = await running_deployment()
    real_append = log_writer.append_logs

    async def slow_after_commit(*args: Any, **kwargs: Any) -> None:
        await real_append(*args, **kwargs)
        await asyncio.sleep(0.05)  # e.g. the wake-up after the commit, on a busy process

    monkeypatch.setattr(log_writer, "append_logs", slow_after_commit)
    monkeypatch.setattr(log_writer, "CLOSE_WAIT_SECONDS", 0.02)
    writer = LogWriter(deployment_id, attempt=1, batch_lines=100, flush_interval=0.01)
    writer.start()
    for i in range(3000):
        writer.line(f"line {i}", LogStream.STDOUT)
    await asyncio.sleep(0)  # let the flusher begin its first batch
    await writer.close()
    rows = await stored(deployment_id)
    assert [text for _, text in rows] == [f"line {i}" for i in range(3000)]
    assert [seq for seq, _ in rows] == list(range(1, 3001))


async def test_lines_are_masked_and_kept_in_order_across_flushes(db) -> None:
    deployment_id = await running_deployment()
    writer = LogWriter(deployment_id, 1, SecretMasker(["hunter2-secret"]), batch_lines=3)
    writer.start()
    writer.line("token=hunter2-secret", LogStream.STDOUT)
    assert await writer.flush()
    writer.system("two\nlines")
    await writer.close()
    assert [text for _, text in await stored(deployment_id)] == ["token=***", "two", "lines"]
    writer.line("after close")  # a concluded deployment takes no more lines
    assert await writer.flush()
    assert len(await stored(deployment_id)) == 3
