"""What a run measures (quick or full), where the services are, and what machine it ran on."""

from __future__ import annotations

import os
import platform
import re
import sqlite3
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_PATH = Path(__file__).resolve().parent / "results.json"

# The services `scripts/test-services` starts (same variables and defaults as the tests).
PG_DSN = os.environ.get("BERTH_TEST_PG_DSN", "postgres://berth:berth@127.0.0.1:5432/postgres")
REGISTRY = os.environ.get("BERTH_TEST_REGISTRY", "127.0.0.1:5000")
DOCKER_HOST = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"

SECTIONS = ("read", "enqueue", "events", "logs", "runner", "webhooks", "dashboard", "notifications", "traffic",
            "retention", "soak")
DATABASES = ("sqlite", "postgres")


@dataclass(frozen=True)
class Plan:
    """Sizes and repetitions; `--quick` takes the small one."""

    quick: bool
    # read
    read_sizes: tuple[int, ...] = (10_000, 100_000)
    read_rounds: int = 10
    read_round_seconds: float = 3.0
    read_concurrency: int = 4
    read_warmup_seconds: float = 1.0
    # enqueue
    enqueue_requests: int = 1000
    # events
    event_subscribers: tuple[int, ...] = (1, 100, 500)
    event_changes: int = 56  # step changes per (configuration, subscriber count)
    # logs
    log_lines: int = 100_000
    # runner overhead
    runner_pairs: int = 10
    # webhooks: signed deliveries one at a time, then a paced rate for some seconds
    webhook_requests: int = 1000
    webhook_rate: float = 100.0
    webhook_seconds: float = 20.0
    # traffic: requests/s through consecutive deployments of each source, then latency
    traffic_deployments: int = 10
    traffic_rate: float = 200.0
    traffic_latency_requests: int = 2000
    # retention: log lines pruned by `berth prune` while reads run, and the reads' phases
    prune_log_lines: int = 1_000_000
    prune_deployments: int = 1000
    prune_read_seconds: float = 10.0
    # soak: mixed load on one process for this long (`--soak-minutes N` overrides it)
    soak_minutes: int = 10
    soak_deployments_per_minute: float = 20.0
    soak_subscribers: int = 100
    soak_read_rate: float = 50.0
    databases: tuple[str, ...] = DATABASES
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def make(cls, quick: bool) -> Plan:
        if not quick:
            return cls(quick=False)
        return cls(
            quick=True,
            read_rounds=6,
            read_round_seconds=1.2,
            read_warmup_seconds=0.5,
            enqueue_requests=300,
            event_changes=14,
            runner_pairs=3,
            webhook_requests=200,
            webhook_seconds=5.0,
            traffic_deployments=3,
            traffic_latency_requests=500,
            prune_log_lines=100_000,
            prune_deployments=200,
            prune_read_seconds=3.0,
            soak_minutes=1,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _first_line(argv: list[str]) -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if out.returncode == 0 and text else None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return re.sub(r"\s+", " ", line.split(":", 1)[1]).strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def machine_info(pg_version: str | None = None) -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "memory_gib": memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "postgres": pg_version,
        "docker": _first_line(["docker", "version", "--format", "{{.Server.Version}}"]),
    }
