"""A real `berth serve` (uvicorn) in its own process on a free loopback port, and the one way
a test or a module runs one: `running_server(log_path, server_env(url, data_dir, ...))`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
# The key of every test installation: token hashes made in the test process match the server's.
TEST_SECRET_KEY = "berth-test-secret-key-not-for-production"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The settings of a test server on `database_url`, plus `extra` (e.g. BERTH_PRODUCTION="1")."""
    return {
        "BERTH_DATABASE_URL": database_url,
        "BERTH_DATA_DIR": str(data_dir),
        "BERTH_SECRET_KEY": TEST_SECRET_KEY,
        **extra,
    }


@dataclass
class LiveServer:
    env: dict[str, str]
    log_path: Path
    args: list[str] = field(default_factory=list)
    # Variables of the test process's environment not to pass on (e.g. a developer's BERTH_*).
    unset: set[str] = field(default_factory=set)
    # Where the server runs; the checkout by default (relative defaults land under `cwd`).
    cwd: Path = ROOT
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def start(self, timeout: float = 30) -> LiveServer:
        env = {**{k: v for k, v in os.environ.items() if k not in self.unset}, **self.env}
        # Run from the checkout even where the package is not installed.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "berth", "serve", "--port", str(self.port), *self.args],
                env=env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"berth serve exited with {self.process.returncode}:\n{self.log()}")
            with suppress(httpx.HTTPError):
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"berth serve not ready within {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextmanager
def running_server(
    log_path: Path,
    env: dict[str, str],
    *,
    args: Iterable[str] = (),
    unset: Iterable[str] = (),
    cwd: Path = ROOT,
) -> Iterator[LiveServer]:
    """`berth serve` with `env` (over the test process's environment, minus `unset`) and
    `args`, ready on entry and stopped on exit."""
    server = LiveServer(env=env, log_path=log_path, args=list(args), unset=set(unset), cwd=cwd).start()
    try:
        yield server
    finally:
        server.stop()
