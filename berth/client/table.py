"""Plain-text tables and side-by-side columns for the terminal."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(header) for header in headers]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def terminal_width() -> int:
    return shutil.get_terminal_size((120, 24)).columns


def side_by_side(sections: Sequence[tuple[str, str]], width: int | None = None, gap: int = 3) -> str:
    """Sections (title, text) as columns when there is room for them, else one after another."""
    width = width or terminal_width()
    column = (width - gap * (len(sections) - 1)) // len(sections)
    if column < 30:
        return "\n\n".join(f"{title}\n{'-' * len(title)}\n{text}" for title, text in sections)
    columns = []
    for title, text in sections:
        wrapped = [title, "-" * min(len(title), column)]
        for line in text.splitlines():
            indent = len(line) - len(line.lstrip())
            wrapped += textwrap.wrap(
                line, column, subsequent_indent=" " * min(indent + 2, column // 2),
                drop_whitespace=False, break_on_hyphens=False,
            ) or [""]  # fmt: skip
        columns.append(wrapped)
    height = max(len(lines) for lines in columns)
    rows = []
    for index in range(height):
        cells = [(lines[index] if index < len(lines) else "").ljust(column) for lines in columns]
        rows.append((" " * gap).join(cells).rstrip())
    return "\n".join(rows)
