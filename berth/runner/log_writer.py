"""Deployment log lines on their way to the database: masked, buffered, written in batches.

Producers (git, build, pull, compose, probes, container output) call `line()` from the
event loop; it only appends to a buffer, so a container printing thousands of lines at
once never waits for the database. One flusher task writes the buffer through
`lifecycle.append_logs` every `flush_interval` seconds, or at once when `batch_lines`
are waiting, in buffer order, so `seq` follows the order the lines arrived in.
`close()` writes whatever is left: the executor calls it before concluding, because a
concluded deployment takes no more lines.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from urllib.parse import quote, quote_plus

from berth.models.enums import LogStream, StepKind
from berth.models.lifecycle import LogEntry, TransitionRefused, append_logs
from berth.runner.docker_api import OnLine

log = logging.getLogger(__name__)

MASK = "***"
# Secret values shorter than this are not masked on their own: masking every "1" or
# "on" in the logs would destroy them without protecting anything.
MIN_SECRET_CHARS = 3
# The part of a base64 form that only the secret decides is shorter than the secret: below
# this it would match unrelated base64 (digests, ids) by chance.
MIN_ENCODED_CHARS = 6
FLUSH_INTERVAL = 0.1
# Lines per statement: larger batches cost the database less per line (COPY on PostgreSQL).
BATCH_LINES = 2000
# Memory bound for a runaway producer while the database is slow or away.
MAX_BUFFERED_LINES = 200_000
RETRY_SECONDS = 1.0
# How long close() waits for the flusher's batch in flight before giving up on it (a
# database that hangs). The flusher stops between batches once closing, so this is one batch.
CLOSE_WAIT_SECONDS = 10.0


def base64_forms(secret: str) -> set[str]:
    """What a secret looks like inside base64 (standard and URL-safe alphabets) wherever it
    sits in the encoded data: `Authorization: Basic base64(user:secret)` puts it at any of
    three byte offsets. For each offset, only the characters made of the secret's bits alone
    (neighbours change the first and last ones)."""
    raw = secret.encode()
    whole = base64.b64encode(raw).decode()
    # The value encoded on its own, padding included, is masked whole.
    forms = {whole, whole.replace("+", "-").replace("/", "_")} if len(whole) >= MIN_ENCODED_CHARS else set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode()
        first = -(-8 * offset // 6)  # the first character holding none of the padding bytes
        last = 8 * (offset + len(raw)) // 6  # past the last character holding only secret bits
        inner = encoded[first:last]
        if len(inner) >= MIN_ENCODED_CHARS:
            forms.add(inner)
            forms.add(inner.replace("+", "-").replace("/", "_"))
    return forms


def encoded_forms(secret: str) -> set[str]:
    """The spellings of a secret that tools print: itself, URL-encoded (a token in a URL or
    a form body) and base64 (basic auth, Docker's auth config, Kubernetes-style values)."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret, safe="")}
    return forms | base64_forms(secret)


class SecretMasker:
    """Replaces every known secret value, in the forms tools print it, with `***`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            # A multi-line value (a key, a certificate) reaches the log line by line.
            for part in {secret, *(line.strip() for line in secret.splitlines())}:
                if len(part) >= MIN_SECRET_CHARS:
                    values.update(encoded_forms(part))
        # Longest first, so a secret containing another is masked whole.
        self._values = sorted((v for v in values if len(v) >= MIN_SECRET_CHARS), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return text


_STREAMS = {str(stream.value): stream for stream in LogStream}


def _stream(name: str) -> LogStream:
    return _STREAMS.get(name, LogStream.SYSTEM)


class LogWriter:
    """Buffers a deployment's log lines and writes them in batches, fenced by the attempt."""

    def __init__(
        self,
        deployment_id: int,
        attempt: int,
        masker: SecretMasker | None = None,
        *,
        flush_interval: float = FLUSH_INTERVAL,
        batch_lines: int = BATCH_LINES,
    ) -> None:
        self.deployment_id = deployment_id
        self.attempt = attempt
        self.mask = masker or SecretMasker()
        self.step: StepKind | None = None
        """The step lines are attributed to when the producer does not say."""
        self.lost = False
        """Set when the database refused a batch: the deployment is no longer ours."""
        self.on_lost: Callable[[], None] | None = None
        self._flush_interval = flush_interval
        self._batch_lines = batch_lines
        self._buffer: list[LogEntry] = []
        self._dropped = 0
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    # ---- producing

    def line(self, text: str, stream: LogStream | str = LogStream.SYSTEM, step: StepKind | None = None) -> None:
        if self._closed or self.lost:
            return
        if len(self._buffer) >= MAX_BUFFERED_LINES:
            self._dropped += 1
            return
        if self._dropped:
            self._buffer.append(LogEntry(f"[{self._dropped} lines dropped: the log buffer was full]",
                                         LogStream.SYSTEM, step or self.step, datetime.now(UTC)))
            self._dropped = 0
        self._buffer.append(LogEntry(self.mask(text), _stream(str(stream)), step or self.step, datetime.now(UTC)))
        if len(self._buffer) >= self._batch_lines:
            self._wake.set()

    def system(self, text: str, step: StepKind | None = None) -> None:
        """A line of the runner's own; a multi-line message becomes several lines."""
        for part in text.splitlines() or [""]:
            self.line(part, LogStream.SYSTEM, step)

    def on_line(self, step: StepKind | None = None) -> OnLine:
        """An `on_line(stream, text)` callback for the Docker seam, attributed to `step`
        (or, without one, to whichever step runs when the line arrives)."""

        def deliver(stream: str, text: str) -> None:
            self.line(text, stream, step)

        return deliver

    # ---- writing

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"logs-{self.deployment_id}")

    async def _run(self) -> None:
        while not self._closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._flush_interval)
            self._wake.clear()
            if not await self.flush(yield_to_close=True) and not self._closed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=RETRY_SECONDS)

    async def flush(self, *, yield_to_close: bool = False) -> bool:
        """Write everything buffered so far; False when the database failed (lines kept).

        yield_to_close (the flusher): stop between batches once close() began, so close()
        never has to cancel a batch that may already be committed (it would be written
        twice) however long the backlog is.
        """
        async with self._lock:
            while self._buffer and not self.lost:
                if yield_to_close and self._closed:
                    return True
                batch = self._buffer[: self._batch_lines]
                try:
                    await append_logs(self.deployment_id, batch, attempt=self.attempt)
                except TransitionRefused:
                    # Concluded by someone else, or claimed again: these lines have no home.
                    self.lost = True
                    self._buffer.clear()
                    if self.on_lost is not None:
                        self.on_lost()
                    return True
                except Exception:  # the database is unwell: keep the lines, try again later
                    log.warning("writing log lines of deployment %s failed", self.deployment_id,
                                exc_info=True)
                    return False
                del self._buffer[: len(batch)]
        return True

    async def close(self, attempts: int = 3) -> None:
        """Stop the flusher and write what is left (a few tries if the database hiccups)."""
        self._closed = True
        self._wake.set()
        if self._task is not None:
            # Let the flusher finish its batch rather than cancel it inside a transaction.
            task, self._task = self._task, None
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=CLOSE_WAIT_SECONDS)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for attempt in range(attempts):
            if await self.flush():
                return
            if attempt + 1 < attempts:
                await asyncio.sleep(RETRY_SECONDS)
        log.error("deployment %s: %d log lines could not be written", self.deployment_id, len(self._buffer))
        self._buffer.clear()

    def discard(self) -> None:
        """Forget buffered lines and stop (the claim is lost; nothing may be written)."""
        self._closed = True
        self._buffer.clear()
        if self._task is not None:
            self._task.cancel()
            self._task = None
