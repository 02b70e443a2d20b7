"""The live view at a terminal: a block redrawn in place (headline, then one line per step
with a spinner while it runs, its status and duration); log lines and notices scroll
above it."""

from __future__ import annotations

import shutil
import sys
from typing import Any, TextIO

from berth.client.format import Style, duration, first_line, wants_colour
from berth.client.progress import (
    PlainRenderer,
    Progress,
    QuietRenderer,
    Renderer,
    Step,
    log_text,
    summary,
)

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class LiveRenderer:
    """A block redrawn in place: headline, then one line per step with spinner and duration."""

    MARKS = {"SUCCEEDED": ("✓", "green"), "FAILED": ("✗", "red"), "CANCELED": ("⊘", "yellow"),
             "SKIPPED": ("–", "dim"), "PENDING": ("·", "dim")}  # fmt: skip

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.style = Style(wants_colour(stream))
        self.progress: Progress | None = None
        self.drawn = 0  # lines of the block currently on screen
        self.frame = 0
        self.paused = False

    def _width(self) -> int:
        return max(shutil.get_terminal_size((100, 24)).columns - 1, 20)

    def _block(self, progress: Progress) -> list[str]:
        s = self.style
        took = duration(progress.elapsed())
        flags = " · cancel requested" if progress.cancel_requested and not progress.conclusion else ""
        queue = f" (position {progress.queue_position})" if progress.queue_position else ""
        lines = [s(f"deployment #{progress.number}", "bold")
                 + f" · {progress.label} · {progress.outcome}{queue} · {took}{flags}"]  # fmt: skip
        for step in progress.steps.values():
            if step.status == "RUNNING":
                mark = s(SPINNER[self.frame % len(SPINNER)], "cyan")
            else:
                symbol, colour = self.MARKS.get(step.status, ("?", "dim"))
                mark = s(symbol, colour)
            took = duration(step.seconds())
            detail = first_line(step.detail) if step.status in ("FAILED", "CANCELED") else ""
            text = f"{step.kind:<9} {step.status.lower():<10} {took:>7}  {detail}".rstrip()
            lines.append(f"  {mark} {s(text, 'dim') if step.status in ('SKIPPED', 'PENDING') else text}")
        return [self._clip(line) for line in lines]

    def _clip(self, line: str) -> str:
        # Wrapped lines would break the count of lines to move up; the escapes take no width.
        visible = 0
        out = []
        escape = False
        for char in line:
            if char == "\x1b":
                escape = True
            if not escape:
                visible += 1
                if visible > self._width():
                    break
            out.append(char)
            if escape and char == "m":
                escape = False
        return "".join(out) + ("\x1b[0m" if self.style.enabled else "")

    def _erase(self) -> None:
        if self.drawn:
            self.stream.write(f"\x1b[{self.drawn}A\r\x1b[J")
            self.drawn = 0

    def _draw(self) -> None:
        if self.progress is None or self.paused:
            return
        self._erase()
        block = self._block(self.progress)
        self.stream.write("".join(line + "\n" for line in block))
        self.stream.flush()
        self.drawn = len(block)

    def begin(self, progress: Progress) -> None:
        self.progress = progress
        self._draw()

    def changed(self, progress: Progress, event: dict[str, Any], step: Step | None) -> None:
        self.progress = progress
        self._draw()

    def _above(self, text: str) -> None:
        if self.paused:
            return
        self._erase()
        self.stream.write(self._clip(text) + "\n")
        self._draw()

    def log(self, line: dict[str, Any]) -> None:
        self._above(self.style(log_text(line), "dim"))

    def notice(self, text: str) -> None:
        self._above(self.style(f"  ({text})", "yellow"))

    def tick(self) -> None:
        self.frame += 1
        if self.progress and any(step.status == "RUNNING" for step in self.progress.steps.values()):
            self._draw()
        elif self.progress and self.progress.status == "QUEUED":
            self._draw()  # the elapsed time in the headline

    def suspend(self) -> None:
        self.paused = True
        self.drawn = 0  # leave the block as it is; a prompt goes below it

    def resume(self) -> None:
        self.paused = False
        self._draw()

    def end(self, progress: Progress, record: dict[str, Any]) -> None:
        self.progress = progress
        self.paused = False
        self._draw()
        self.drawn = 0
        outcome = record.get("conclusion") or record.get("status")
        colour = {"SUCCEEDED": "green", "FAILED": "red", "CANCELED": "yellow"}.get(str(outcome), "bold")
        lines = summary(record, progress)
        self.stream.write(self.style(lines[0], colour, "bold") + "\n")
        self.stream.write("".join(line + "\n" for line in lines[1:]))
        self.stream.flush()


def renderer_for(stream: TextIO = sys.stdout, quiet: bool = False) -> Renderer:
    """Nothing for --json, the live block at a terminal, plain lines elsewhere."""
    if quiet:
        return QuietRenderer()
    return LiveRenderer(stream) if stream.isatty() else PlainRenderer(stream)
