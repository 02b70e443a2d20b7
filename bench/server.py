"""Servers under test, each in its own process on a free loopback port.

`berth` servers run `python -m bench.serve`: the same app `berth serve` builds
(`create_app` with its background services, uvicorn with the same options), optionally
without the runner, plus a few `/_bench/…` routes (see bench/serve.py). The `ceiling`
server runs the bare Strawberry schema of bench/ceiling.py under the same uvicorn setup.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.config import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _proc_status(pid: int) -> dict[str, str]:
    fields: dict[str, str] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    except OSError:
        pass
    return fields


def _kib(value: str | None) -> int | None:
    return int(value.split()[0]) if value else None


@dataclass
class ServerProcess:
    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def spawn(self) -> None:
        log = self.log_path.open("ab")
        # A developer's own BERTH_* settings must not leak into the server under test.
        base = {k: v for k, v in os.environ.items() if not k.startswith("BERTH_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.serve", "--port", str(self.port), *self.args],
            env={**base, **self.env},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    async def start(self, within: float = 60) -> ServerProcess:
        """Spawn the process and wait until /readyz answers 200."""
        self.spawn()
        assert self.process is not None
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")
                try:
                    if (await client.get(self.url + "/readyz")).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} not ready within {within}s:\n{self.tail()}")

    def stop(self, timeout: float = 30) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def rss_kib(self) -> int | None:
        return _kib(_proc_status(self.pid).get("VmRSS"))

    def peak_rss_kib(self) -> int | None:
        """The process's high-water mark of resident memory (VmHWM)."""
        return _kib(_proc_status(self.pid).get("VmHWM"))

    def tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


# Set by `python -m bench --profile`: every Berth server runs under cProfile, stats here.
PROFILE_DIR: Path | None = None


def berth_server(
    name: str,
    database_url: str,
    data_dir: Path,
    log_dir: Path,
    *,
    runner: bool = False,
    extra_env: dict[str, str] | None = None,
    profile: Path | None = None,
) -> ServerProcess:
    args = ["--runner"] if runner else []
    if profile is None and PROFILE_DIR is not None:
        profile = PROFILE_DIR / f"{name}.prof"
    if profile is not None:
        args += ["--profile", str(profile)]
    env = {
        "BERTH_DATABASE_URL": database_url,
        "BERTH_DATA_DIR": str(data_dir),
        "BERTH_SECRET_KEY": os.environ["BERTH_SECRET_KEY"],
        **(extra_env or {}),
    }
    return ServerProcess(name=name, args=args, env=env, log_path=log_dir / f"{name}.log")


def ceiling_server(name: str, data_file: Path, log_dir: Path) -> ServerProcess:
    return ServerProcess(name=name, args=["--ceiling", str(data_file)], env={},
                         log_path=log_dir / f"{name}.log")


async def bench_call(server: ServerProcess, path: str, body: dict[str, Any] | None = None) -> Any:
    """GET (no body) or POST one of the server's /_bench routes; returns the JSON answer."""
    async with httpx.AsyncClient(timeout=30) as client:
        if body is None:
            response = await client.get(server.url + path)
        else:
            response = await client.post(server.url + path, json=body)
        response.raise_for_status()
        return response.json()
