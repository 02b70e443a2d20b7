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


def print_all(directory: Path) -> None:
    for path in sorted(directory.glob("*.prof")):
        print(summarize(path), file=sys.stderr)


if __name__ == "__main__":
    print(summarize(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 25))
