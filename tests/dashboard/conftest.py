"""Dashboard tests: Debian's chromium driven by Playwright for Python against a real
`berth serve`.

One browser for all of them (package scope: Playwright's sync API keeps its event loop
marked as running in this thread while the browser is open, so it is closed before the
rest of the suite's async tests run). Each test gets a fresh context and page whose console
is collected: a console error or an uncaught exception fails the test.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import docker
import docker.errors
import pytest

from tests.databases import DatabaseTemplates
from tests.services import skip_or_fail
from tests.support.live_server import LiveServer, running_server, server_env

from .support import Api, run_command

T = TypeVar("T")


def off_thread(action: Callable[..., T], *args: Any) -> T:
    """Run `action` in another thread: work that starts an event loop of its own
    (asyncio.run) cannot run beside Playwright's in this one."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(action, *args).result()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    chromium = os.environ.get("BERTH_TEST_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        skip_or_fail("chromium is not installed (Debian package `chromium`, see scripts/test-services)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"], headless=True)
        try:
            yield browser
        finally:
            browser.close()


# Chromium aborts every request in flight when a network interface comes or goes, and says so
# on the console; Docker adds and removes one (a veth) with every container the tests start.
# That is the machine, not the page: the page retries what it may, and such reports are not
# counted as the page's errors.
NETWORK_CHANGED = "net::ERR_NETWORK_CHANGED"


@dataclass
class Console:
    """What the page said on its console, and the errors a test expects (by substring)."""

    messages: list[tuple[str, str]] = field(default_factory=list)
    allowed: list[str] = field(default_factory=lambda: [NETWORK_CHANGED])

    def allow(self, fragment: str) -> None:
        self.allowed.append(fragment)

    def errors(self) -> list[str]:
        return [
            text
            for kind, text in self.messages
            if kind in ("error", "pageerror") and not any(fragment in text for fragment in self.allowed)
        ]


@dataclass
class Browsing:
    context: Any
    page: Any
    console: Console

    def new_page(self) -> Any:
        page = self.context.new_page()
        watch_console(page, self.console)
        return page


def watch_console(page: Any, console: Console) -> None:
    page.on("console", lambda message: console.messages.append((message.type, message.text)))
    page.on("pageerror", lambda error: console.messages.append(("pageerror", str(error))))


def open_browsing(browser: Any, width: int = 1280, height: int = 900) -> Browsing:
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    context.set_default_timeout(20_000)
    console = Console()
    page = context.new_page()
    watch_console(page, console)
    return Browsing(context, page, console)


@pytest.fixture
def browsing(browser: Any) -> Iterator[Browsing]:
    """A fresh browser context (its own sessionStorage) and page; no console errors allowed."""
    session = open_browsing(browser)
    try:
        yield session
    finally:
        session.context.close()
    assert session.console.errors() == [], session.console.messages


@pytest.fixture
def second_browsing(browser: Any) -> Iterator[Browsing]:
    """Another user at the same time (a context of their own)."""
    session = open_browsing(browser)
    try:
        yield session
    finally:
        session.context.close()
    assert session.console.errors() == [], session.console.messages


@dataclass
class Served:
    server: LiveServer
    database_url: str

    @property
    def url(self) -> str:
        return self.server.url

    def token(self, role: str = "owner", name: str = "dashboard", scopes: tuple[str, ...] = ()) -> str:
        args = [sys.executable, "-m", "berth", "token", "create", "--name", name, "--role", role]
        for scope in scopes:
            args += ["--scope", scope]
        return run_command(args, env={**os.environ, **self.server.env}).strip()

    def api(self, role: str = "owner") -> Api:
        return Api(self.url, self.token(role, f"api {role}"))


def _serve(templates: DatabaseTemplates, dialect: str, directory: Path, args: list[str],
           extra_env: dict[str, str]) -> Iterator[Served]:  # fmt: skip
    url = off_thread(templates.new_database, dialect, directory)
    env = server_env(url, directory / "berth-data", **extra_env)
    try:
        with running_server(directory / "server.log", env, args=args) as server:
            yield Served(server, url)
    finally:
        off_thread(_drop, templates, url)


def _drop(templates: DatabaseTemplates, url: str) -> None:
    import asyncio

    asyncio.run(templates.drop(url))


@pytest.fixture(scope="module")
def runner_server(
    database_templates: DatabaseTemplates,
    tmp_path_factory: pytest.TempPathFactory,
    docker_client: docker.DockerClient,
) -> Iterator[Served]:
    """SQLite and `berth serve` with its embedded runner on the test Docker daemon."""
    yield from _serve(
        database_templates, "sqlite", tmp_path_factory.mktemp("dashboard-runner"), [],
        {"BERTH_STABLE_SECONDS": "1"},
    )  # fmt: skip


@pytest.fixture(scope="module")
def observing_server(
    database_templates: DatabaseTemplates,
    tmp_path_factory: pytest.TempPathFactory,
    docker_client: docker.DockerClient,
) -> Iterator[Served]:
    """As runner_server, with the observer looking every second."""
    yield from _serve(
        database_templates, "sqlite", tmp_path_factory.mktemp("dashboard-observing"), [],
        {"BERTH_STABLE_SECONDS": "1", "BERTH_OBSERVER_INTERVAL_SECONDS": "1"},
    )  # fmt: skip


@pytest.fixture(scope="module")
def queue_server(database_templates: DatabaseTemplates, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """PostgreSQL and `berth serve --no-runner`: deployments stay QUEUED, and log lines the
    test stores wake the server's subscribers (LISTEN/NOTIFY)."""
    yield from _serve(database_templates, "postgres", tmp_path_factory.mktemp("dashboard-queue"), ["--no-runner"], {})


@pytest.fixture
def docker_cleanup(docker_client: docker.DockerClient) -> Iterator[list[str]]:
    """Names (services) whose containers the test's deployments left behind."""
    names: list[str] = []
    yield names
    for summary in docker_client.api.containers(all=True):
        labels = summary.get("Labels") or {}
        text = " ".join([*summary.get("Names", []), labels.get("com.docker.compose.project", "")])
        if any(name in text for name in names):
            with contextlib.suppress(docker.errors.NotFound):
                docker_client.api.remove_container(summary["Id"], force=True)


@pytest.fixture(scope="module")
def plain_server(database_templates: DatabaseTemplates, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """SQLite and `berth serve`, for what needs no deployment to run."""
    yield from _serve(database_templates, "sqlite", tmp_path_factory.mktemp("dashboard-plain"), [], {})
