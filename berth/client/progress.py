"""Progress of one deployment: its seven steps, from the deploymentEvents stream.

`Progress` is the state (built from the record, then moved by events). A renderer
draws it: `PlainRenderer` prints one line per change (pipes, files, CI logs),
`QuietRenderer` nothing (--json), and `berth.client.live.LiveRenderer` redraws a
block in place at a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

from berth.client.format import between, duration, first_line, scope_label

STEP_ORDER = ("CLONE", "BUILD", "PULL", "VOLUME", "START", "HEALTH", "FINALIZE")
TERMINAL_STEP = {"SUCCEEDED", "FAILED", "SKIPPED", "CANCELED"}


@dataclass
class Step:
    kind: str
    status: str = "PENDING"
    started_at: str | None = None
    completed_at: str | None = None
    detail: str | None = None

    def update(self, data: dict[str, Any]) -> None:
        self.status = str(data.get("status") or self.status)
        self.started_at = data.get("startedAt") or self.started_at
        self.completed_at = data.get("completedAt") or self.completed_at
        self.detail = data.get("detail") if data.get("detail") is not None else self.detail

    def seconds(self) -> float | None:
        if self.status == "SKIPPED" or not self.started_at:
            return None
        return between(self.started_at, self.completed_at if self.status in TERMINAL_STEP else None)


@dataclass
class Progress:
    id: str
    number: int
    label: str
    status: str
    conclusion: str | None
    created_at: str | None
    queue_position: int | None
    cancel_requested: bool = False
    concluded_at: str | None = None
    steps: dict[str, Step] = field(default_factory=lambda: {kind: Step(kind) for kind in STEP_ORDER})

    @classmethod
    def of(cls, record: dict[str, Any]) -> Progress:
        progress = cls(
            id=str(record["id"]),
            number=int(record.get("number") or 0),
            label=scope_label(record),
            status=str(record.get("status")),
            conclusion=record.get("conclusion"),
            created_at=record.get("createdAt"),
            queue_position=record.get("queuePosition"),
            cancel_requested=bool(record.get("cancelRequestedAt")),
            concluded_at=record.get("concludedAt"),
        )
        for step in record.get("steps") or []:
            progress.steps.setdefault(str(step["kind"]), Step(str(step["kind"]))).update(step)
        return progress

    def apply(self, event: dict[str, Any]) -> Step | None:
        """Move to the state right after `event`; returns the step it changed, if any."""
        self.status = str(event.get("status") or self.status)
        self.conclusion = event.get("conclusion")
        if self.status != "QUEUED":
            self.queue_position = None
        if event.get("type") == "CANCEL_REQUESTED":
            self.cancel_requested = True
        if event.get("type") == "CONCLUDED":
            self.concluded_at = event.get("at")
        data = event.get("step")
        if not data:
            return None
        step = self.steps.setdefault(str(data["kind"]), Step(str(data["kind"])))
        step.update(data)
        return step

    @property
    def outcome(self) -> str:
        return self.conclusion or self.status

    def elapsed(self) -> float | None:
        return between(self.created_at, self.concluded_at)


class Renderer(Protocol):
    def begin(self, progress: Progress) -> None: ...
    def changed(self, progress: Progress, event: dict[str, Any], step: Step | None) -> None: ...
    def log(self, line: dict[str, Any]) -> None: ...
    def notice(self, text: str) -> None: ...
    def tick(self) -> None: ...
    def suspend(self) -> None: ...
    def resume(self) -> None: ...
    def end(self, progress: Progress, record: dict[str, Any]) -> None: ...


class QuietRenderer:
    def begin(self, progress: Progress) -> None:
        pass

    def changed(self, progress: Progress, event: dict[str, Any], step: Step | None) -> None:
        pass

    def log(self, line: dict[str, Any]) -> None:
        pass

    def notice(self, text: str) -> None:
        pass

    def tick(self) -> None:
        pass

    def suspend(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def end(self, progress: Progress, record: dict[str, Any]) -> None:
        pass


def headline(progress: Progress) -> str:
    where = f" (position {progress.queue_position} in the queue)" if progress.queue_position else ""
    return f"deployment #{progress.number} of {progress.label} ({progress.id}): {progress.status}{where}"


def summary(record: dict[str, Any], progress: Progress) -> list[str]:
    """The closing lines: outcome, and for a failure the failing step and its whole error."""
    outcome = record.get("conclusion") or record.get("status")
    took = duration(between(record.get("createdAt"), record.get("concludedAt")))
    head = f"deployment #{progress.number} {outcome}"
    error = record.get("error") or {}
    if outcome == "SUCCEEDED":
        return [f"{head} in {took}"]
    if outcome == "SKIPPED":
        return [f"{head}: superseded by a newer deployment of {progress.label} before it started"]
    step = error.get("step") or next(
        (s.kind for s in progress.steps.values() if s.status in ("FAILED", "CANCELED")), None
    )
    message = str(error.get("message") or "")
    lines = message.strip().splitlines() or [""]
    code = f"{error['code']}: " if error.get("code") and error.get("code") != outcome else ""
    at = f" at {step}" if step else ""
    return [f"{head}{at} after {took}: {code}{lines[0]}".rstrip(": "), *(f"    {line}" for line in lines[1:])]


def log_text(line: dict[str, Any]) -> str:
    step = str(line.get("step") or "")
    return f"  {step:<8} | {line.get('text', '')}"


class PlainRenderer(QuietRenderer):
    """One line per change: for pipes, files and CI logs."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def _print(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def begin(self, progress: Progress) -> None:
        self._print(headline(progress))

    def changed(self, progress: Progress, event: dict[str, Any], step: Step | None) -> None:
        if event.get("type") == "CANCEL_REQUESTED":
            self._print("  cancel requested")
        if event.get("type") == "APPROVAL_DECIDED":
            # Protected environments: someone approved or rejected it (a rejection concludes it next).
            self._print("  approval decided")
        if step is None:
            return
        took = duration(step.seconds()) if step.status in TERMINAL_STEP else ""
        detail = first_line(step.detail) if step.status in ("FAILED", "CANCELED") else ""
        self._print(f"  {step.kind:<9} {step.status.lower():<10} {took:>7}  {detail}".rstrip())

    def log(self, line: dict[str, Any]) -> None:
        self._print(log_text(line))

    def notice(self, text: str) -> None:
        self._print(f"  ({text})")

    def end(self, progress: Progress, record: dict[str, Any]) -> None:
        for line in summary(record, progress):
            self._print(line)
