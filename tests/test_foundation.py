"""The foundation on both databases: migrations, the server process, the `local` server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from berth.models import Server
from tests.conftest import TEST_SECRET_KEY, Database
from tests.live_server import LiveServer

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
    env = {
        "BERTH_DATABASE_URL": database.url,
        "BERTH_DATA_DIR": str(database.data_dir),
        "BERTH_SECRET_KEY": TEST_SECRET_KEY,
        "DOCKER_HOST": "unix:///var/run/docker.sock",
    }
    for _ in range(2):  # a restart must not register `local` again
        server = LiveServer(env=env, log_path=tmp_path / "server.log").start()
        try:
            ready = httpx.get(server.url + "/readyz", timeout=5)
            assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
            assert httpx.get(server.url + "/healthz", timeout=5).json() == {"status": "ok"}
        finally:
            server.stop()
    import asyncio

    from tortoise import Tortoise

    from berth.db import tortoise_config

    async def count_local() -> list[tuple[str, str]]:
        await Tortoise.init(config=tortoise_config(database.url))
        try:
            return [(s.name, s.docker_host) for s in await Server.filter(name="local")]
        finally:
            await Tortoise.close_connections()

    assert asyncio.run(count_local()) == [("local", "unix:///var/run/docker.sock")]


def test_serve_on_embedded_defaults_with_no_configuration(tmp_path: Path) -> None:
    """No env at all: SQLite and the data dir under ./.berth of the working directory."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("BERTH_")}
    server = LiveServer(env={}, log_path=tmp_path / "server.log")
    server.process = None
    port = server.port
    process = subprocess.Popen(
        [sys.executable, "-m", "berth", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server.process = process
    try:
        import time

        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code
                if status == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert status == 200
        assert (tmp_path / ".berth" / "berth.sqlite3").exists()
        assert (tmp_path / ".berth" / "secret.key").stat().st_mode & 0o077 == 0
    finally:
        server.stop()
