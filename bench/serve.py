"""The server process under test: `python -m bench.serve --port N [--runner] [--ceiling DATA]`.

Berth mode builds the app exactly as `berth serve` does (`create_app` with the background
services and readiness probes, `uvicorn.run` with the same options) — but runs the embedded
runner only with `--runner`, so read and enqueue figures are taken with the runner stopped
(`berth serve --no-runner` refuses SQLite, which is why this is not `berth serve` itself).
It adds routes the benchmarks drive, none of them on the GraphQL path:

* `GET /_bench/sql` — SQL statements counted (and the first 200, abridged) since
  `POST /_bench/sql {"on": true}` (Tortoise's `tortoise.db_client` logger; off, it costs
  nothing).
* `POST /_bench/audit {"on": false}` — Mutation resolvers without the audit trail (and
  `{"on": true}` with it again), for the cost of auditing `startDeployment`.
* `GET /_bench/gc` — garbage-collector pauses by generation (`POST` also resets them).
* `GET /_bench/objects[?collect=1]` — objects the collector tracks, by type (what a full
  collection walks); with `collect`, after a full collection.
* `POST /_bench/step {"deployment": id, "kind": "PULL", "status": "RUNNING"}` — one step
  change through `lifecycle.apply_change` in this process, as the embedded runner makes
  them; answers `{"committed": unix time}` taken as soon as the commit returned.

Ceiling mode serves bench/ceiling.py's bare Strawberry schema under the same uvicorn setup.
Both modes call `berth.heap.freeze_startup_objects()` before serving, as `berth serve` does.
`--profile FILE` runs the whole process under cProfile and writes the stats on shutdown
(the main thread's to FILE, every other thread's merged into FILE.threads.prof).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import logging
import pstats
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from berth.heap import freeze_startup_objects


class StatementCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if len(self.statements) < 200:
            # Tortoise logs ("%s: %s", sql, values): keep the statement.
            args = record.args if isinstance(record.args, tuple) else ()
            self.statements.append(str(args[0] if args else record.msg)[:160])


class GcPauses:
    """Pauses of the garbage collector, by generation (gc.callbacks), since the last reset."""

    def __init__(self) -> None:
        self.started = 0.0
        self.reset()
        gc.callbacks.append(self._callback)

    def reset(self) -> None:
        self.count = [0, 0, 0]
        self.total = [0.0, 0.0, 0.0]
        self.longest = [0.0, 0.0, 0.0]

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        generation = info.get("generation", 0)
        pause = time.perf_counter() - self.started
        self.count[generation] += 1
        self.total[generation] += pause
        self.longest[generation] = max(self.longest[generation], pause)

    def report(self) -> dict[str, object]:
        return {f"gen{g}": {"collections": self.count[g], "total_ms": round(self.total[g] * 1000, 1),
                            "longest_ms": round(self.longest[g] * 1000, 1)} for g in range(3)}


def add_bench_routes(app: Starlette) -> None:
    from berth.models.enums import StepKind, StepStatus
    from berth.models.lifecycle import StepChange, apply_change

    counter = StatementCounter()
    sql_logger = logging.getLogger("tortoise.db_client")

    async def sql(request: Request) -> Response:
        if request.method == "POST":
            body = await request.json()
            counter.count = 0
            counter.statements.clear()
            if body.get("on"):
                sql_logger.addHandler(counter)
                sql_logger.setLevel(logging.DEBUG)
                sql_logger.propagate = False
            else:
                sql_logger.removeHandler(counter)
                sql_logger.setLevel(logging.NOTSET)
                sql_logger.propagate = True
        return JSONResponse({"count": counter.count, "statements": counter.statements})

    async def step(request: Request) -> Response:
        body = await request.json()
        change = StepChange(StepKind(body["kind"]), StepStatus(body["status"]))
        result = await apply_change(int(body["deployment"]), steps=[change])
        return JSONResponse({"committed": time.time(), "seq": result.last_event_seq})

    pauses = GcPauses()

    async def gc_pauses(request: Request) -> Response:
        report = pauses.report()
        if request.method == "POST":
            pauses.reset()
        return JSONResponse(report)

    async def objects(request: Request) -> Response:
        if request.query_params.get("collect"):
            gc.collect()  # what stays is alive, not garbage waiting for a collection
        counts = Counter(type(obj).__qualname__ for obj in gc.get_objects())
        return JSONResponse({"tracked": sum(counts.values()), "frozen": gc.get_freeze_count(),
                             "top": counts.most_common(25)})

    async def audit(request: Request) -> Response:
        """Bench-only: the audited Mutation resolvers on (the default) or off, to measure what
        the trail costs. Not a setting: a production server always audits."""
        on = bool((await request.json()).get("on"))
        swapped = 0
        for schema in AUDITED_SCHEMAS:
            mutation = schema.mutation_type
            for field in (mutation.fields.values() if mutation is not None else ()):
                audited = AUDITED_RESOLVERS.setdefault(id(field), field.resolve)
                inner = getattr(audited, "__wrapped__", audited)
                field.resolve = audited if on else inner
                swapped += 1
        return JSONResponse({"on": on, "fields": swapped})

    app.add_route("/_bench/audit", audit, methods=["POST"])
    app.add_route("/_bench/objects", objects, methods=["GET"])
    app.add_route("/_bench/sql", sql, methods=["GET", "POST"])
    app.add_route("/_bench/gc", gc_pauses, methods=["GET", "POST"])
    app.add_route("/_bench/step", step, methods=["POST"])


# The schemas the app built, recorded as their audit wrappers are installed (for /_bench/audit).
AUDITED_SCHEMAS: list[Any] = []
AUDITED_RESOLVERS: dict[int, Any] = {}


def _record_audited_schemas() -> None:
    from berth.schema import build

    install = build.install_audit_trail

    def recording(schema: Any) -> list[str]:
        AUDITED_SCHEMAS.append(schema)
        return install(schema)

    build.install_audit_trail = recording  # type: ignore[assignment]


def berth_app(runner: bool) -> Starlette:
    _record_audited_schemas()
    from berth.app import create_app
    from berth.runner.service import background_services, readiness_probes
    from berth.settings import get_settings

    settings = get_settings()
    services = background_services(settings, runner=runner)
    app = create_app(settings, background=services)
    app.state.readiness_probes.update(readiness_probes(services))
    add_bench_routes(app)
    return app


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


class ThreadProfiles:
    """cProfile sees one thread: this profiles every other thread the process starts (the
    loop's executor threads run Docker streams and SQLite) and merges them at exit."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done: list[cProfile.Profile] = []
        self.running: list[cProfile.Profile] = []

    def install(self) -> None:
        original = threading.Thread.run
        profiles = self

        def run(thread: threading.Thread) -> None:
            profile = cProfile.Profile()
            with profiles.lock:
                profiles.running.append(profile)
            profile.enable()
            try:
                original(thread)
            finally:
                profile.disable()
                with profiles.lock:
                    profiles.running.remove(profile)
                    profiles.done.append(profile)

        threading.Thread.run = run  # type: ignore[method-assign,assignment]

    def dump(self, path: Path) -> None:
        with self.lock:
            profiles = self.done + self.running
        if not profiles:
            return
        for profile in profiles:
            profile.create_stats()
        stats = pstats.Stats(profiles[0])
        for profile in profiles[1:]:
            stats.add(profile)
        stats.dump_stats(str(path))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.serve")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--runner", action="store_true", help="run the embedded runner and observer")
    parser.add_argument("--ceiling", type=Path, help="serve the bare Strawberry schema with this data")
    parser.add_argument("--profile", type=Path, help="write cProfile stats here on shutdown")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args()
    # As `berth` does before serving.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app: Any
    if args.ceiling is not None:
        from bench.ceiling import ceiling_app

        app = ceiling_app(args.ceiling)
    else:
        app = berth_app(args.runner)
    # As `berth serve` does just before serving (both sides: the same process setup).
    freeze_startup_objects()
    profiler = cProfile.Profile() if args.profile else None
    threads = ThreadProfiles()
    if profiler is not None:
        threads.install()
        # uvicorn shuts down on SIGTERM, then raises it again with the handler it found:
        # make that handler an exit that unwinds through `finally`, so the stats get written.
        signal.signal(signal.SIGTERM, _exit_on_signal)
        profiler.enable()
    try:
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level=args.log_level, ws="websockets-sansio")
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(args.profile))
            threads.dump(args.profile.with_suffix(".threads.prof"))


if __name__ == "__main__":
    main()
