"""`python -m bench [--quick] [--only SECTION …] [--databases sqlite,postgres]`

Starts real servers on loopback with fresh databases, seeds them, measures, writes
`bench/results.json` and prints a Markdown table. Sections: read, enqueue, events, logs,
runner, webhooks, dashboard, notifications, traffic, retention, soak. A section that fails is recorded with its error and the run goes on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.config import DATABASES, RESULTS_PATH, SECTIONS, Plan, machine_info
from bench.database import pg_version

Section = Callable[[Plan, Path], Awaitable[dict[str, Any]]]


def _sections() -> dict[str, Section]:
    from bench import (
        dashboard,
        enqueue,
        events,
        logs,
        notifications,
        read,
        retention,
        runner_overhead,
        soak,
        traffic,
        webhooks,
    )

    return {
        "read": read.run,
        "enqueue": enqueue.run,
        "events": events.run,
        "logs": logs.run,
        "runner": runner_overhead.run,
        "webhooks": webhooks.run,
        "dashboard": dashboard.run,
        "notifications": notifications.run,
        "traffic": traffic.run,
        "retention": retention.run,
        "soak": soak.run,
    }


def _load() -> str:
    """The 1/5/15-minute load averages: other work on the machine skews every figure."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[1])
    parser.add_argument("--quick", action="store_true", help="smaller seeds, fewer iterations (< 5 min)")
    parser.add_argument("--only", action="append", choices=SECTIONS, metavar="SECTION",
                        help=f"run only this section (repeatable): {', '.join(SECTIONS)}")
    parser.add_argument("--databases", default=",".join(DATABASES),
                        help="comma-separated: sqlite,postgres (default both)")
    parser.add_argument("--soak-minutes", type=int, metavar="N",
                        help="how long the soak section runs (default 10, 1 with --quick)")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="where to write the JSON results")
    parser.add_argument("--keep-work", action="store_true", help="keep server logs and data files")
    parser.add_argument("--profile", action="store_true",
                        help="run every Berth server under cProfile; print each one's top functions "
                             "(figures of such a run are slowed down by the profiler)")
    return parser.parse_args(argv)


async def main_async(args: argparse.Namespace) -> int:
    from bench import report

    databases = tuple(d.strip() for d in args.databases.split(",") if d.strip())
    unknown = set(databases) - set(DATABASES)
    if unknown:
        print(f"unknown database(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    plan = Plan.make(args.quick)
    overrides: dict[str, Any] = {"databases": databases}
    if args.soak_minutes is not None:
        if args.soak_minutes < 1:
            print("--soak-minutes must be at least 1", file=sys.stderr)
            return 2
        overrides["soak_minutes"] = args.soak_minutes
    plan = Plan(**{**plan.as_dict(), **overrides})
    chosen = args.only or list(SECTIONS)
    sections = _sections()
    work = Path(tempfile.mkdtemp(prefix="berth-bench-"))
    # This process's own settings (it opens databases to seed them) stay inside the work dir.
    os.environ["BERTH_DATA_DIR"] = str(work / "driver-data")
    from berth.settings import reset_settings

    reset_settings()
    if args.profile:
        from bench import server

        server.PROFILE_DIR = work
    started = time.monotonic()
    results: dict[str, Any] = {
        "command": "python -m bench" + (" --quick" if args.quick else "")
                   + (f" --soak-minutes {args.soak_minutes}" if args.soak_minutes is not None else ""),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(await pg_version() if "postgres" in databases else None),
        "databases": list(databases),
        "plan": plan.as_dict(),
        "load_average": {"before": _load()},
        "sections": {},
    }
    print(f"berth bench: {', '.join(chosen)} on {', '.join(databases)}"
          f"{' (quick)' if args.quick else ''}; work dir {work}", file=sys.stderr)
    for name in chosen:
        section_started = time.monotonic()
        print(f"== {name}", file=sys.stderr)
        try:
            outcome = await sections[name](plan, work)
        except Exception as exc:  # a section that cannot run is reported, not fatal
            traceback.print_exc()
            outcome = {"error": f"{type(exc).__name__}: {exc}"}
        outcome["seconds"] = round(time.monotonic() - section_started, 1)
        results["sections"][name] = outcome
        print(f"   {name} took {outcome['seconds']} s", file=sys.stderr)
    results["seconds"] = round(time.monotonic() - started, 1)
    results["load_average"]["after"] = _load()
    args.output.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(report.markdown(results))
    if args.profile:
        from bench.profiles import print_all

        print_all(work)
    print(f"results: {args.output}; total {results['seconds']} s", file=sys.stderr)
    if args.keep_work:
        print(f"server logs and data kept in {work}", file=sys.stderr)
    else:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # One secret key for the run: the seeding process and every server hash tokens alike.
    os.environ["BERTH_SECRET_KEY"] = "bench-" + secrets.token_hex(16)
    args = parse_args(argv)

    def on_term(signum: int, frame: object) -> None:
        # SIGTERM unwinds like Ctrl-C, so every server started is stopped on the way out.
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        return asyncio.run(main_async(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
