"""process.run_process: streaming, failures, and that cancel/timeout leave no process behind."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from berth.runner.docker_api import STDERR, STDOUT, Canceled, CommandFailed, StepTimeout
from berth.runner.process import LineSplitter, minimal_env, run_process
from tests.support.polling import poll


def process_gone(pid: int) -> bool:
    """Exited (a zombie waiting for a reaper counts as gone: it runs nothing)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def read_pids(path: Path) -> list[int] | None:
    try:
        pids = [int(x) for x in path.read_text().split()]
    except (FileNotFoundError, ValueError):
        return None
    return pids if len(pids) == 2 else None


# sh (child) starts a sleeping grandchild, records both pids, then waits forever.
FAMILY = 'sleep 300 & echo "$$ $!" > {pids}.tmp && mv {pids}.tmp {pids}; wait'


def collect() -> tuple[list[tuple[str, str]], Callable[[str, str], None]]:
    lines: list[tuple[str, str]] = []
    return lines, lambda stream, text: lines.append((stream, text))


async def test_streams_stdout_and_stderr_lines() -> None:
    lines, on_line = collect()
    result = await run_process(["sh", "-c", "echo one; echo two >&2; printf 'a\\rb\\nlast'"],
                               env=minimal_env(), on_line=on_line)
    assert result.returncode == 0
    assert (STDOUT, "one") in lines and (STDERR, "two") in lines
    # A carriage return ends a line (progress bars), and a final line without newline is kept.
    assert [t for s, t in lines if s == STDOUT] == ["one", "a", "b", "last"]


async def test_nonzero_exit_raises_with_output_tail() -> None:
    with pytest.raises(CommandFailed) as err:
        await run_process(["sh", "-c", "echo fatal: it broke >&2; exit 3"], env=minimal_env(), what="thing")
    assert err.value.returncode == 3
    assert str(err.value) == "thing failed (exit 3): fatal: it broke"
    assert err.value.output_tail == ["fatal: it broke"]


async def test_missing_binary_is_a_clear_error() -> None:
    with pytest.raises(CommandFailed, match="could not be started"):
        await run_process(["/nonexistent/berth-binary"], env=minimal_env())


async def test_capture_stdout() -> None:
    result = await run_process(["sh", "-c", "echo abc; echo def"], env=minimal_env(), capture_stdout=True)
    assert result.stdout_lines == ["abc", "def"]


async def test_cancel_kills_child_and_grandchild(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    cancel = asyncio.Event()
    task = asyncio.ensure_future(run_process(["sh", "-c", FAMILY.format(pids=pids_file)],
                                             env=minimal_env(), cancel=cancel))
    await poll(lambda: read_pids(pids_file), 5, "the processes to start")
    pids = read_pids(pids_file)
    assert pids is not None
    started = time.monotonic()
    cancel.set()
    with pytest.raises(Canceled):
        await asyncio.wait_for(task, 5)
    assert time.monotonic() - started < 5
    await poll(lambda: all(process_gone(pid) for pid in pids), 3, "child and grandchild to exit")


async def test_timeout_kills_even_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    script = "trap '' TERM; " + FAMILY.format(pids=pids_file)
    started = time.monotonic()
    with pytest.raises(StepTimeout, match="timed out after 1 s"):
        await run_process(["sh", "-c", script], env=minimal_env(), step_timeout=1, kill_grace=0.5)
    assert time.monotonic() - started < 5
    pids = read_pids(pids_file)
    assert pids is not None
    await poll(lambda: all(process_gone(pid) for pid in pids), 3, "child and grandchild to exit")


async def test_task_cancellation_kills_the_group(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    task = asyncio.ensure_future(run_process(["sh", "-c", FAMILY.format(pids=pids_file)], env=minimal_env()))
    await poll(lambda: read_pids(pids_file), 5, "the processes to start")
    pids = read_pids(pids_file)
    assert pids is not None
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await poll(lambda: all(process_gone(pid) for pid in pids), 3, "child and grandchild to exit")


async def test_straggler_holding_the_pipes_does_not_hang_a_finished_command(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    started = time.monotonic()
    script = f"sleep 300 & echo $! > {pid_file}; echo done"
    result = await run_process(["sh", "-c", script], env=minimal_env())
    assert result.returncode == 0
    assert time.monotonic() - started < 10
    await poll(lambda: process_gone(int(pid_file.read_text())), 3, "the straggler to be killed")


def test_minimal_env_keeps_secrets_of_this_process_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BERTH_SECRET_KEY", "s3cret")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    env = minimal_env({"A": "1"}, None, {"A": "2", "B": "3"})
    assert "BERTH_SECRET_KEY" not in env
    assert env["PATH"] == "/usr/bin:/bin"
    assert env["A"] == "2" and env["B"] == "3"


def test_line_splitter_handles_partial_lines_and_invalid_utf8() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"hel") == []
    assert splitter.feed(b"lo\r\nw\xff") == ["hello"]
    assert splitter.flush() == ["w\ufffd"]
