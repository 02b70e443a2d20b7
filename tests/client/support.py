"""Running the installed `berth` client as a subprocess, and watching one while it runs."""

from __future__ import annotations

import codecs
import json
import os
import pty
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tests.support.polling import wait_until

TIMEOUT = 60.0


def berth_command() -> str:
    """The `berth` console script installed beside this interpreter (or on PATH)."""
    beside = Path(sys.executable).with_name("berth")
    found = str(beside) if beside.exists() else shutil.which("berth")
    assert found, "the `berth` command is not installed (pip install -e .)"
    return found


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def assert_one_line_error(self) -> str:
        """stderr is exactly one `berth: …` line (no traceback, no usage dump)."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        assert "Traceback" not in self.stderr, self.stderr
        assert len(lines) == 1 and lines[0].startswith("berth: "), self.stderr
        return lines[0]


class _Collector:
    """Reads a pipe in a thread so a test can wait for text without blocking on it."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self.text = ""
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._thread.start()

    def _read(self, pipe: IO[bytes]) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while True:
            try:
                chunk = os.read(pipe.fileno(), 4096)
            except OSError:  # a pseudo-terminal whose other side has closed
                break
            if not chunk:
                break
            with self._lock:
                self.text += decoder.decode(chunk)

    def value(self) -> str:
        with self._lock:
            return self.text

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


@dataclass
class Running:
    """A `berth` client process the test interacts with while it runs."""

    process: subprocess.Popen[bytes]
    stdout: _Collector
    stderr: _Collector
    terminal: int | None = None  # the pty master when started with tty=True

    def type(self, text: str) -> None:
        assert self.terminal is not None, "started without tty=True"
        os.write(self.terminal, text.encode())

    def wait_for(self, text: str, timeout: float = TIMEOUT, stream: str = "stdout") -> str:
        collector = self.stdout if stream == "stdout" else self.stderr

        def seen() -> bool:
            if text in collector.value():
                return True
            if self.process.poll() is not None:
                self.stdout.join(5)
                self.stderr.join(5)
                if text in collector.value():
                    return True
                raise AssertionError(
                    f"berth exited {self.process.returncode} before printing {text!r}:\n"
                    f"stdout:\n{self.stdout.value()}\nstderr:\n{self.stderr.value()}"
                )
            return False

        wait_until(seen, timeout, f"{text!r} on {stream}; so far:\n{collector.value()}")
        return collector.value()

    def interrupt(self) -> None:
        self.process.send_signal(signal.SIGINT)

    def finish(self, timeout: float = TIMEOUT) -> Result:
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(
                f"berth still running after {timeout}s:\nstdout:\n{self.stdout.value()}\n"
                f"stderr:\n{self.stderr.value()}"
            ) from None
        self.stdout.join(5)
        self.stderr.join(5)
        self._close_terminal()
        return Result(code, self.stdout.value(), self.stderr.value())

    def _close_terminal(self) -> None:
        if self.terminal is not None:
            os.close(self.terminal)
            self.terminal = None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._close_terminal()


@dataclass
class Cli:
    """`berth` client commands for one server URL and token, isolated from the user's config."""

    url: str | None  # None: no BERTH_URL (the config file or the default decides)
    token: str | None
    config_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    running: list[Running] = field(default_factory=list)

    def with_token(self, token: str | None) -> Cli:
        return Cli(self.url, token, self.config_dir, dict(self.extra_env), self.running)

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("BERTH_")}
        env["BERTH_CONFIG"] = str(self.config_dir / "config.json")
        if self.url:
            env["BERTH_URL"] = self.url
        if self.token:
            env["BERTH_TOKEN"] = self.token
        env["NO_COLOR"] = "1"
        env.update(self.extra_env)
        return env

    def run(self, *args: str, timeout: float = TIMEOUT, input: str | None = None) -> Result:
        proc = subprocess.run(
            [berth_command(), *args],
            env=self.env(),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, timeout: float = TIMEOUT) -> Result:
        result = self.run(*args, timeout=timeout)
        assert result.code == 0, (
            f"berth {' '.join(args)} exited {result.code}:\n{result.stdout}\n{result.stderr}"
        )
        return result

    def json(self, *args: str, timeout: float = TIMEOUT) -> Any:
        return self.ok(*args, "--json", timeout=timeout).json()

    def start(self, *args: str, tty: bool = False) -> Running:
        """Run in the background; with `tty` stdin and stdout are a pseudo-terminal, as in an
        interactive shell (stderr stays a pipe)."""
        terminal: int | None = None
        if tty:
            terminal, other_side = pty.openpty()
            stdin: int = other_side
            stdout: int = other_side
        else:
            stdin, stdout = subprocess.DEVNULL, subprocess.PIPE
        try:
            process = subprocess.Popen(
                [berth_command(), *args], env=self.env(), stdin=stdin, stdout=stdout, stderr=subprocess.PIPE
            )
        finally:
            if terminal is not None:
                os.close(other_side)
        assert process.stderr is not None
        if terminal is not None:
            out = _Collector(os.fdopen(os.dup(terminal), "rb", buffering=0))
        else:
            assert process.stdout is not None
            out = _Collector(process.stdout)
        running = Running(process, out, _Collector(process.stderr), terminal)
        self.running.append(running)
        return running

    def stop_all(self) -> None:
        for running in self.running:
            running.kill()


def step_lines(output: str) -> dict[str, list[str]]:
    """Plain progress output: each step's status words in the order they were printed."""
    kinds = ("CLONE", "BUILD", "PULL", "VOLUME", "START", "HEALTH", "FINALIZE")
    seen: dict[str, list[str]] = {kind: [] for kind in kinds}
    for line in output.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] in kinds and line.startswith("  ") and "|" not in line:
            seen[words[0]].append(words[1])
    return seen


def run_command(args: Sequence[str], env: dict[str, str], timeout: float = TIMEOUT) -> str:
    proc = subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout
