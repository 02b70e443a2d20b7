"""Test support for the runner: builders through the domain API, a stand-in executor, and
`berth runner`-like OS processes (tests/runner/run_runner.py).

The stand-in executor moves a claimed deployment through the lifecycle rules with its
attempt as fencing token, as the real one does, but without touching Docker; the
deployment's `reason` steers it:

* no reason: PREPARE → DEPLOY → FINALIZE → COMPLETED/SUCCEEDED, a short pause per status
  (BERTH_FAKE_STEP_SECONDS, default 0.05), one log line naming the attempt and the pid;
* "hold:<path>": the same, but it waits in PREPARE (PULL running) until the file <path>
  exists.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from berth.auth.principal import Principal, make_principal
from berth.auth.scopes import ALL_SCOPES
from berth.domain.deployments import start_deployment
from berth.domain.inventory import create_project, create_server, create_service
from berth.domain.specs import HealthCheckSpec, ProjectSpec, ServerSpec, ServiceSpec, SourceSpec, StartSpec
from berth.models import Deployment, DeploymentEvent, LogLine, Server, Service
from berth.models.enums import (
    DeploymentConclusion,
    DeploymentEventType,
    DeploymentStatus,
    LogStream,
    Role,
    SourceType,
    StepKind,
    StepStatus,
    TokenKind,
)
from berth.models.lifecycle import LogEntry, StepChange, append_logs, apply_change
from berth.models.sql import dialect, get_connection
from berth.settings import Settings
from tests.support.names import unique

S = DeploymentStatus
REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_LABEL = "berth.test.runner"
RAN_MARKER = "fake executor ran"


# ----------------------------------------------------------------------------- builders


def owner() -> Principal:
    return make_principal(
        subject="token-1", email="owner@example.test", role=Role.OWNER, token_kind=TokenKind.API_TOKEN,
        credential_scopes=ALL_SCOPES, token_name="runner tests", token_id=1,
    )


async def make_server(docker_host: str = "unix:///var/run/docker.sock", **fields: Any) -> Server:
    return await create_server(owner(), ServerSpec(name=unique("srv"), docker_host=docker_host, **fields))


async def make_service(target: Server, image: str = "127.0.0.1:5000/berth-test/app:v1",
                       health_check: HealthCheckSpec | None = None, volumes: list[str] | None = None) -> Service:
    project = await create_project(owner(), ProjectSpec(name=unique("proj")))
    return await create_service(owner(), ServiceSpec(
        project_id=project.id, environment="production", name=unique("svc"), server_id=target.id,
        source=SourceSpec(type=SourceType.IMAGE, image=image, volumes=volumes or []), health_check=health_check,
    ))


async def queue(service: Service, reason: str | None = None) -> Deployment:
    return await start_deployment(owner(), StartSpec(service_id=service.id, reason=reason))


async def succeed(deployment_id: int, attempt: int | None = None, **resolved: Any) -> Deployment:
    """Run a QUEUED deployment to COMPLETED/SUCCEEDED through the rules, recording `resolved`
    frozen-input fields (a digest) on the way, as a runner does."""
    for source, target in ((S.QUEUED, S.PREPARE), (S.PREPARE, S.DEPLOY), (S.DEPLOY, S.FINALIZE)):
        await apply_change(deployment_id, from_status=source, to_status=target, attempt=attempt)
    current = await Deployment.get(id=deployment_id)
    await apply_change(
        deployment_id, from_status=S.FINALIZE, to_status=S.COMPLETED, conclusion=DeploymentConclusion.SUCCEEDED,
        steps=[StepChange(kind, StepStatus.SKIPPED) for kind in StepKind], attempt=attempt,
        updates={"frozen_input": {**current.frozen_input, **resolved}} if resolved else None,
    )
    return await Deployment.get(id=deployment_id)


async def spread_ids() -> None:
    """Start this database's ids at a random offset.

    Containers carry service, environment and deployment ids in their labels, and other
    test databases (other tests, other sessions) share the Docker daemon: with ids from 1
    their labels would collide with ours.
    """
    conn = get_connection()
    postgres = dialect(conn) == "postgres"
    for table in ("project", "environment", "service", "deployment"):
        start = 1_000_000 + secrets.randbelow(2_000_000_000)
        if postgres:
            await conn.execute_query(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {start})")
        else:
            await conn.execute_query(f"DELETE FROM sqlite_sequence WHERE name = '{table}'")
            await conn.execute_query(f"INSERT INTO sqlite_sequence (name, seq) VALUES ('{table}', {start})")


# ----------------------------------------------------------------------------- stand-in executor


def step_seconds() -> float:
    return float(os.environ.get("BERTH_FAKE_STEP_SECONDS", "0.05"))


async def fake_execute(deployment_id: int, attempt: int, settings: Settings) -> None:
    deployment = await Deployment.get(id=deployment_id)
    reason = deployment.reason or ""
    pause = step_seconds()

    async def change(**kwargs: Any) -> None:
        await apply_change(deployment_id, attempt=attempt, **kwargs)

    await change(from_status=S.QUEUED, to_status=S.PREPARE)
    await change(from_status=S.PREPARE, steps=[
        StepChange(StepKind.CLONE, StepStatus.SKIPPED), StepChange(StepKind.BUILD, StepStatus.SKIPPED),
        StepChange(StepKind.PULL, StepStatus.RUNNING),
    ])
    await append_logs(deployment_id, [LogEntry(f"{RAN_MARKER}: attempt {attempt} pid {os.getpid()}",
                                               LogStream.SYSTEM, StepKind.PULL)], attempt=attempt)
    if reason.startswith("hold:"):
        release = Path(reason.removeprefix("hold:"))
        while not release.exists():
            await asyncio.sleep(0.05)
    await asyncio.sleep(pause)
    await change(from_status=S.PREPARE, steps=[StepChange(StepKind.PULL, StepStatus.SUCCEEDED)])
    await change(from_status=S.PREPARE, to_status=S.DEPLOY)
    await change(from_status=S.DEPLOY, steps=[
        StepChange(StepKind.VOLUME, StepStatus.SKIPPED), StepChange(StepKind.START, StepStatus.RUNNING),
    ])
    await asyncio.sleep(pause)
    await change(from_status=S.DEPLOY, steps=[StepChange(StepKind.START, StepStatus.SUCCEEDED)])
    await change(from_status=S.DEPLOY, to_status=S.FINALIZE)
    await change(from_status=S.FINALIZE, steps=[StepChange(StepKind.HEALTH, StepStatus.SKIPPED),
                                                StepChange(StepKind.FINALIZE, StepStatus.RUNNING)])
    await asyncio.sleep(pause)
    await change(from_status=S.FINALIZE, to_status=S.COMPLETED, conclusion=DeploymentConclusion.SUCCEEDED,
                 steps=[StepChange(StepKind.FINALIZE, StepStatus.SUCCEEDED)])


# ----------------------------------------------------------------------------- record checks


async def status_moves(deployment_id: int) -> list[str]:
    events = await DeploymentEvent.filter(
        deployment_id=deployment_id, type=DeploymentEventType.STATUS_CHANGED
    ).order_by("seq")
    return [str(event.status) for event in events]


async def ran_lines(deployment_id: int) -> list[str]:
    lines = await LogLine.filter(deployment_id=deployment_id).order_by("seq")
    return [line.text for line in lines if line.text.startswith(RAN_MARKER)]


async def concluded(ids: Iterable[int]) -> list[Deployment] | None:
    wanted = list(ids)
    rows = await Deployment.filter(id__in=wanted).order_by("id")
    return rows if all(row.conclusion is not None for row in rows) and len(rows) == len(wanted) else None


# ----------------------------------------------------------------------------- processes


@dataclass
class RunnerProcess:
    """`tests/runner/run_runner.py` (the runner service, stand-in executor) as an OS process."""

    database_url: str
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> RunnerProcess:
        env = {
            **os.environ,
            "BERTH_DATABASE_URL": self.database_url,
            "BERTH_DATA_DIR": str(self.log_path.parent / "berth-data"),
            "BERTH_RUNNER_POLL_SECONDS": "0.2",
            "BERTH_OBSERVER_INTERVAL_SECONDS": "3600",
            **self.env,
        }
        self.log_path.write_bytes(b"")
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.runner.run_runner"], cwd=REPO_ROOT, env=env,
            stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while "started" not in self.log():
            if self.process.poll() is not None:
                raise AssertionError(f"runner exited with {self.process.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"runner did not start within {timeout}s:\n{self.log()}")
            time.sleep(0.05)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"runner still running after {timeout}s:\n{self.log()}") from None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.kill()
            self.process.wait()

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time (teardown)."""
        if not self.alive():
            return
        self.signal(signal.SIGTERM)
        try:
            self.wait(timeout)
        except AssertionError:
            self.kill()
