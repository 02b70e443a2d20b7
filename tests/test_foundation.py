"""The foundation on both databases: migrations, the server process, the `local` server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from berth.models import Server
from tests.conftest import Database
from tests.support.live_server import running_server, server_env
from tests.support.orm import run_with_orm

ROOT = Path(__file__).resolve().parent.parent


def test_migrations_match_the_models(database: Database) -> None:
    """The committed migrations, applied to an empty database, leave nothing pending."""
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "make_migrations.py"),
            "--check",
            "--database-url",
            database.url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no pending changes" in result.stdout


def test_serve_answers_readyz_and_registers_local_once(database: Database, tmp_path: Path) -> None:
    env = server_env(database.url, database.data_dir, DOCKER_HOST="unix:///var/run/docker.sock")
    for _ in range(2):  # a restart must not register `local` again
        with running_server(tmp_path / "server.log", env) as server:
            ready = httpx.get(server.url + "/readyz", timeout=5)
            assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
            assert httpx.get(server.url + "/healthz", timeout=5).json() == {"status": "ok"}

    async def count_local() -> list[tuple[str, str]]:
        return [(s.name, s.docker_host) for s in await Server.filter(name="local")]

    assert run_with_orm(database.url, count_local) == [("local", "unix:///var/run/docker.sock")]


def test_serve_on_embedded_defaults_with_no_configuration(tmp_path: Path) -> None:
    """No env at all: SQLite and the data dir under ./.berth of the working directory."""
    import os

    unset = {k for k in os.environ if k.startswith("BERTH_")}
    with running_server(tmp_path / "server.log", {}, unset=unset, cwd=tmp_path) as server:
        assert httpx.get(server.url + "/readyz", timeout=5).status_code == 200
        assert (tmp_path / ".berth" / "berth.sqlite3").exists()
        assert (tmp_path / ".berth" / "secret.key").stat().st_mode & 0o077 == 0
