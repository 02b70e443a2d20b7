"""Summaries of the servers' cProfile stats (`python -m bench --profile`), or of any
stats file: `python -m bench.profiles FILE.prof [N]`."""

from __future__ import annotations

import io
import pstats
import sys
from pathlib import Path


def summarize(path: Path, top: int = 25) -> str:
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.strip_dirs()
    out.write(f"\n===== {path.name}: by own time\n")
    stats.sort_stats("tottime").print_stats(top)
    out.write(f"\n===== {path.name}: by cumulative time\n")
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def top_functions(path: Path, top: int = 12) -> list[dict[str, object]]:
    """The functions with the most own time: name, own share of the whole, cumulative share."""
    stats = pstats.Stats(str(path))
    table: dict[tuple[str, int, str], tuple[int, int, float, float, object]] = stats.stats  # type: ignore[attr-defined]
    total = sum(own for _calls, _prim, own, _cum, _callers in table.values()) or 1.0
    # The outermost frames (the event loop's run, where its idle waits land) say nothing.
    # A coroutine's own time can include its suspensions (more than its cumulative): also out.
    inner = [item for item in table.items() if item[1][3] < 0.9 * total and item[1][2] <= item[1][3]]
    ranked = sorted(inner, key=lambda item: item[1][2], reverse=True)[:top]
    return [{"function": f"{Path(file).name}:{line}({name})", "calls": calls,
             "own_share": round(own / total, 4), "cumulative_share": round(cum / total, 4)}
            for (file, line, name), (_prim, calls, own, cum, _callers) in ranked]


def print_all(directory: Path) -> None:
    for path in sorted(directory.glob("*.prof")):
        print(summarize(path), file=sys.stderr)


if __name__ == "__main__":
    print(summarize(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 25))
