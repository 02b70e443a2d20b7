"""Run a child process whose output streams line by line and which can always be stopped.

git and compose run through here. The child gets its own session (process group), so
stopping it also stops whatever it spawned (ssh, `docker build`, git-remote-https):
SIGTERM to the group, then SIGKILL after a short grace. That happens on the cancel
event, on the timeout, and when the awaiting task itself is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from berth.runner.docker_api import (
    STDERR,
    STDOUT,
    Canceled,
    CancelEvent,
    CommandFailed,
    OnLine,
    StepTimeout,
    discard_line,
)

KILL_GRACE_SECONDS = 2.0
# After the main process exits, how long its output pipes may stay open (held by a
# straggling grandchild) before the group is killed to release them.
DRAIN_SECONDS = 3.0
MAX_LINE_CHARS = 8192
TAIL_LINES = 40
_CHUNK = 65536
_POLL_SECONDS = 0.05

# Variables passed through from our own environment. Everything else (database URLs,
# Berth's secret key, cloud credentials) stays out of children that interpolate
# `${VAR}` from their environment, as compose does.
_INHERITED_ENV = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ",
                  "SSL_CERT_FILE", "SSL_CERT_DIR", "DOCKER_CONFIG", "HTTP_PROXY", "HTTPS_PROXY",
                  "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")


def minimal_env(*overlays: Mapping[str, str] | None) -> dict[str, str]:
    """A child environment: the harmless basics of ours, then each overlay in order."""
    env = {key: os.environ[key] for key in _INHERITED_ENV if key in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    for overlay in overlays:
        if overlay:
            env.update(overlay)
    return env


@dataclass
class ProcessResult:
    argv: list[str]
    returncode: int
    output_tail: list[str] = field(default_factory=list)
    stdout_lines: list[str] = field(default_factory=list)
    """Only filled with `capture_stdout=True`."""


class LineSplitter:
    """Bytes in, whole lines out; `\\r` also ends a line so progress bars become lines."""

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> list[str]:
        return [self.decode(line) for line in self.feed_raw(data)]

    def flush(self) -> list[str]:
        return [self.decode(line) for line in self.flush_raw()]

    def feed_raw(self, data: bytes) -> list[bytes]:
        self._buf += data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *lines, self._buf = self._buf.split(b"\n")
        if len(self._buf) > MAX_LINE_CHARS:  # a runaway line without newline
            lines.append(self._buf)
            self._buf = b""
        return lines

    def flush_raw(self) -> list[bytes]:
        rest, self._buf = self._buf, b""
        return [rest] if rest else []

    @staticmethod
    def decode(raw: bytes) -> str:
        return raw.decode("utf-8", errors="replace").rstrip()[:MAX_LINE_CHARS]


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs; zombies (exited, not yet reaped by
    whoever adopted them) do not count, though `killpg(pgid, 0)` would still see them."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        # After the command name: state, ppid, pgrp, ...
        if int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


class _ExitAwareProtocol(asyncio.subprocess.SubprocessStreamProtocol):
    """Tells when the child exits.

    `Process.wait()` only returns once the pipes are closed too, which a grandchild that
    inherited them can put off forever; this event is set at the exit itself.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=_CHUNK, loop=loop)
        self.exited = asyncio.Event()

    def process_exited(self) -> None:
        super().process_exited()
        self.exited.set()


async def _spawn(argv: Sequence[str], env: Mapping[str, str] | None,
                 cwd: Path | str | None) -> tuple[asyncio.subprocess.Process, _ExitAwareProtocol]:
    # asyncio.create_subprocess_exec, with our protocol.
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.subprocess_exec(
        lambda: _ExitAwareProtocol(loop),
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(env) if env is not None else None,
        cwd=str(cwd) if cwd is not None else None,
        start_new_session=True,  # its own process group, which we can signal as a whole
    )
    return asyncio.subprocess.Process(transport, protocol, loop), protocol


async def _terminate_group(proc: asyncio.subprocess.Process, exited: asyncio.Event, grace: float) -> None:
    """SIGTERM the whole group, SIGKILL whatever is left after `grace` seconds."""
    pgid = proc.pid  # start_new_session: the child leads its own group
    _signal_group(pgid, signal.SIGTERM)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while loop.time() < deadline:
        if proc.returncode is not None and not _group_alive(pgid):
            return
        await asyncio.sleep(_POLL_SECONDS)
    _signal_group(pgid, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(exited.wait(), timeout=grace)


async def run_process(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None,
    on_line: OnLine = discard_line,
    cancel: CancelEvent | None = None,
    step_timeout: float | None = None,
    check: bool = True,
    capture_stdout: bool = False,
    what: str | None = None,
    error_cls: type[CommandFailed] = CommandFailed,
    kill_grace: float = KILL_GRACE_SECONDS,
) -> ProcessResult:
    """Run `argv`, streaming its lines; raise `Canceled` / `StepTimeout` after killing it.

    env is the complete environment (default: `minimal_env()`). With `check`, a non-zero exit
    raises `error_cls` whose message ends with the last output lines. With
    `capture_stdout`, stdout lines are collected instead of streamed.
    """
    what = what or os.path.basename(argv[0])
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    result = ProcessResult(argv=list(argv), returncode=-1)

    try:
        proc, protocol = await _spawn(argv, env if env is not None else minimal_env(), cwd)
    except OSError as exc:
        raise error_cls(f"{what} could not be started: {exc.strerror or exc}", returncode=-1) from None

    async def pump(reader: asyncio.StreamReader, stream: str) -> None:
        splitter = LineSplitter()
        while True:
            chunk = await reader.read(_CHUNK)
            lines = splitter.feed(chunk) if chunk else splitter.flush()
            for line in lines:
                if not line:
                    continue
                tail.append(line)
                if capture_stdout and stream == STDOUT:
                    result.stdout_lines.append(line)
                else:
                    on_line(stream, line)
            if not chunk:
                return

    assert proc.stdout is not None and proc.stderr is not None
    pumps = asyncio.gather(pump(proc.stdout, STDOUT), pump(proc.stderr, STDERR))
    exited = asyncio.ensure_future(protocol.exited.wait())
    waiters: set[asyncio.Future[Any]] = {exited}
    cancel_wait: asyncio.Future[Any] | None = None
    if cancel is not None:
        cancel_wait = asyncio.ensure_future(cancel.wait())
        waiters.add(cancel_wait)

    try:
        done, _ = await asyncio.wait(waiters, timeout=step_timeout, return_when=asyncio.FIRST_COMPLETED)
        if exited not in done:
            await _terminate_group(proc, protocol.exited, kill_grace)
            if cancel is not None and cancel.is_set():
                raise Canceled(f"{what} was canceled")
            raise StepTimeout(f"{what} timed out after {step_timeout:g} s", step_timeout or 0.0)
        # Exited: let the pipes drain, but a grandchild holding them open must not
        # keep us waiting, and must not outlive the command.
        try:
            await asyncio.wait_for(asyncio.shield(pumps), timeout=DRAIN_SECONDS)
        except TimeoutError:
            _signal_group(proc.pid, signal.SIGKILL)
            with contextlib.suppress(TimeoutError):  # held by something outside the group
                await asyncio.wait_for(asyncio.shield(pumps), timeout=DRAIN_SECONDS)
    except BaseException:
        # Includes task cancellation: never leave the group running behind us.
        if proc.returncode is None or _group_alive(proc.pid):
            _signal_group(proc.pid, signal.SIGKILL)
        raise
    finally:
        if cancel_wait is not None:
            cancel_wait.cancel()
        if not exited.done():
            exited.cancel()
        pumps.cancel()
        with contextlib.suppress(BaseException):
            await pumps

    result.returncode = proc.returncode if proc.returncode is not None else -1
    result.output_tail = list(tail)
    if check and result.returncode != 0:
        last = "\n".join(list(tail)[-10:])
        message = f"{what} failed (exit {result.returncode})"
        raise error_cls(f"{message}: {last}" if last else message,
                        returncode=result.returncode, output_tail=list(tail))
    return result
