"""Compose through DockerEngine / ComposeCli with the real CLIs: every test that runs compose
runs twice, with `docker-compose` (v1, what is on PATH, found by falling back) and with
`docker compose` (the v2+ plugin, found through DOCKER_CONFIG in the endpoint's
environment), and checks that detection picked that one."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from berth.runner import compose_cli
from berth.runner.compose_cli import ComposeCli, detect_compose_command, pullable_services
from berth.runner.docker_api import SYSTEM, Canceled, ComposeError, ComposeProject
from berth.runner.docker_engine import DockerEngine
from berth.runner.endpoints import EndpointConfig, open_endpoint
from tests.services import (
    COMPOSE_V2_CONFIG,
    DOCKER_HOST,
    compose_v1_available,
    compose_v2_available,
    docker_available,
    skip_or_fail,
)
from tests.support.polling import poll

RUN = uuid.uuid4().hex[:10]
BUSYBOX = Path("/bin/busybox")


def busybox_context(directory: Path, *lines: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(BUSYBOX, directory / "busybox")
    (directory / "Dockerfile").write_text("\n".join([
        "FROM scratch",
        "COPY busybox /bin/busybox",
        'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
        *lines,
    ]) + "\n")
    return directory


@pytest.fixture(scope="module")
def docker_low() -> Iterator[docker.APIClient]:
    reason = docker_available()
    if reason:
        skip_or_fail(reason)
    if not BUSYBOX.exists():
        skip_or_fail("busybox-static (/bin/busybox) is not installed")
    if not (shutil.which("docker-compose") or shutil.which("docker")):
        skip_or_fail("neither docker compose nor docker-compose is installed")
    api = docker.APIClient(base_url=DOCKER_HOST, version="auto", timeout=120)
    yield api
    api.close()


@pytest.fixture(scope="module")
def image(docker_low: docker.APIClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tag = f"berth-rt-compose:{RUN}"
    context = busybox_context(tmp_path_factory.mktemp("img"), 'CMD ["sleep", "3600"]')
    for event in docker_low.build(path=str(context), tag=tag, rm=True, forcerm=True, decode=True):
        if "error" in event:
            raise AssertionError(event["error"])
    yield tag
    try:
        docker_low.remove_image(tag, force=True)
    except docker.errors.APIError:
        pass


@dataclass(frozen=True)
class Compose:
    """One compose CLI: the variables an endpoint's environment needs for it to be the one
    detected, and the command detection must then pick."""

    version: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def shown(self) -> str:
        return " ".join(self.command)


V1 = Compose("v1", ["docker-compose"])
V2 = Compose("v2", ["docker", "compose"], {"DOCKER_CONFIG": str(COMPOSE_V2_CONFIG)})


def require(compose: Compose) -> Compose:
    reason = compose_v1_available() if compose is V1 else compose_v2_available()
    if reason:
        skip_or_fail(reason)
    return compose


@pytest.fixture(params=[V1, V2], ids=lambda c: c.version)
def compose(request: pytest.FixtureRequest) -> Compose:
    return require(request.param)


@pytest.fixture
async def engine(docker_low: docker.APIClient, compose: Compose) -> AsyncIterator[DockerEngine]:
    """An engine for the first daemon, as the runner makes one, whose compose is `compose`."""
    endpoint = open_endpoint(EndpointConfig(docker_host=DOCKER_HOST))
    endpoint.env.update(compose.env)
    engine = DockerEngine.from_endpoint(endpoint)
    try:
        assert await engine._compose.command() == compose.command, f"detection did not pick {compose.version}"
        yield engine
    finally:
        await engine.close()


@pytest.fixture
def project_name(docker_low: docker.APIClient) -> Iterator[str]:
    name = f"berth-rt-{uuid.uuid4().hex[:8]}"
    yield name
    label = f"com.docker.compose.project={name}"
    for container in docker_low.containers(all=True, filters={"label": label}):
        try:
            docker_low.remove_container(container["Id"], force=True)
        except docker.errors.NotFound:
            pass
    for network in docker_low.networks(filters={"label": label}):
        try:
            docker_low.remove_network(network["Id"])
        except docker.errors.NotFound:
            pass


def compose_file(image: str) -> str:
    return (
        "services:\n"
        "  web:\n"
        f"    image: {image}\n"
        "    stop_grace_period: 1s\n"  # sleep as PID 1 ignores SIGTERM
        "    environment:\n"
        "      GREETING: ${GREETING}\n"
        "  worker:\n"
        f"    image: {image}\n"
        "    stop_grace_period: 1s\n"
        "    profiles: [jobs]\n"
    )


async def test_detects_the_compose_its_environment_has(compose: Compose) -> None:
    assert await detect_compose_command(compose.env) == compose.command
    assert await ComposeCli(compose.env).command() == compose.command
    assert await detect_compose_command(compose.env) == compose.command  # cached


async def test_detection_is_cached_per_docker_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """v1 and v2 in one process: neither answer is served for the other's environment, and
    each environment is detected only once."""
    require(V1)
    require(V2)
    monkeypatch.setattr(compose_cli, "_detected", {})
    real_run_process = compose_cli.run_process
    runs: list[str | None] = []

    async def counting_run_process(argv: list[str], **kwargs: Any) -> Any:
        runs.append(kwargs["env"].get("DOCKER_CONFIG"))
        return await real_run_process(argv, **kwargs)

    monkeypatch.setattr(compose_cli, "run_process", counting_run_process)
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    # An SSH endpoint puts a dir of its own holding an `ssh` wrapper first on PATH.
    (tmp_path / "ssh").touch(mode=0o755)
    ssh_like = {"PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    for _ in range(2):
        assert await detect_compose_command(V2.env) == V2.command
        assert await detect_compose_command() == V1.command
        assert await detect_compose_command({**V2.env, **ssh_like}) == V2.command
        assert await ComposeCli(ssh_like).command() == V1.command
    assert runs == [V2.env["DOCKER_CONFIG"], None]
    # DOCKER_CONFIG in our own environment reaches the child (the runner passes it on).
    monkeypatch.setenv("DOCKER_CONFIG", str(COMPOSE_V2_CONFIG))
    assert await detect_compose_command() == V2.command
    assert await ComposeCli({"DOCKER_CONFIG": str(tmp_path)}).command() == V1.command
    assert runs == [V2.env["DOCKER_CONFIG"], None, str(tmp_path)]


async def test_up_ps_down(engine: DockerEngine, compose: Compose, docker_low: docker.APIClient, image: str,
                          project_name: str) -> None:
    project = ComposeProject(name=project_name, files={"compose.yaml": compose_file(image)},
                             env={"GREETING": "s3cret-greeting"})
    lines: list[tuple[str, str]] = []
    await engine.compose_up(project, on_line=lambda s, t: lines.append((s, t)), step_timeout=120)
    assert lines[0] == (SYSTEM, f"{compose.shown} -p {project_name} up -d --remove-orphans")
    assert "s3cret-greeting" not in " ".join(t for _, t in lines)

    ps = await engine.compose_ps(project_name)
    assert [entry.service for entry in ps] == ["web"]  # the worker's profile is not active
    web = ps[0].container
    assert web.running
    env = docker_low.inspect_container(web.id)["Config"]["Env"]
    assert "GREETING=s3cret-greeting" in env  # variables reach compose through its environment

    with_jobs = ComposeProject(name=project_name, files=project.files, env=project.env, profiles=["jobs"])
    await engine.compose_up(with_jobs, step_timeout=120)
    assert sorted(entry.service for entry in await engine.compose_ps(project_name)) == ["web", "worker"]

    await engine.compose_down(with_jobs, step_timeout=120)
    assert await engine.compose_ps(project_name) == []
    assert docker_low.networks(filters={"label": f"com.docker.compose.project={project_name}"}) == []


async def test_down_without_the_original_files(engine: DockerEngine, docker_low: docker.APIClient,
                                               image: str, project_name: str) -> None:
    await engine.compose_up(ComposeProject(name=project_name, files={"compose.yaml": compose_file(image)},
                                           env={"GREETING": "x"}), step_timeout=120)
    assert len(await engine.compose_ps(project_name)) == 1
    lines: list[str] = []
    await engine.compose_down(ComposeProject(name=project_name, files={}), on_line=lambda s, t: lines.append(t),
                              step_timeout=120)
    assert await engine.compose_ps(project_name) == []
    # The stand-in file suits the version: v2+ would warn that v1's `version:` is obsolete.
    assert not any("obsolete" in line for line in lines), lines
    assert docker_low.networks(filters={"label": f"com.docker.compose.project={project_name}"}) == []


async def test_invalid_file_is_a_compose_error(engine: DockerEngine, project_name: str) -> None:
    project = ComposeProject(name=project_name, files={"compose.yaml": "services:\n  web:\n    imagee: x\n"})
    with pytest.raises(ComposeError) as err:
        await engine.compose_up(project, step_timeout=120)
    assert str(err.value).startswith("compose up failed (exit 1): ")
    assert "imagee" in str(err.value)


async def test_bad_project_names_and_file_names_are_refused() -> None:
    cli = ComposeCli(command=["docker-compose"])
    with pytest.raises(ComposeError, match="invalid compose project name"):
        await cli.up(ComposeProject(name="Bad Name", files={"compose.yaml": ""}))
    with pytest.raises(ComposeError, match="invalid compose file name"):
        await cli.up(ComposeProject(name="ok", files={"../compose.yaml": ""}))


async def test_files_are_written_privately(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    async def fake_run_process(argv: list[str], **kwargs: Any) -> None:
        files = [Path(argv[i + 1]) for i, arg in enumerate(argv) if arg == "-f"]
        seen["dir_mode"] = stat.S_IMODE(files[0].parent.stat().st_mode)
        seen["file_modes"] = [stat.S_IMODE(f.stat().st_mode) for f in files]
        seen["argv"] = argv
        seen["env"] = kwargs["env"]

    monkeypatch.setattr(compose_cli, "run_process", fake_run_process)
    cli = ComposeCli(env={"DOCKER_HOST": "unix:///x.sock"}, command=["docker", "compose"])
    project = ComposeProject(name="p1", files={"a.yaml": "services: {}\n", "b.yaml": "services: {}\n"},
                             env={"TOKEN": "hunter2", "DOCKER_HOST": "tcp://evil:2375"}, profiles=["x"],
                             project_dir=tmp_path)
    await cli.up(project)
    assert seen["dir_mode"] == 0o700 and seen["file_modes"] == [0o600, 0o600]
    assert "hunter2" not in " ".join(seen["argv"])
    assert seen["env"]["TOKEN"] == "hunter2"
    assert seen["env"]["DOCKER_HOST"] == "unix:///x.sock"  # the endpoint wins over project variables
    assert seen["argv"][:6] == ["docker", "compose", "--ansi", "never", "-p", "p1"]
    assert ["--project-directory", str(tmp_path)] == seen["argv"][10:12]
    assert seen["argv"][-5:] == ["--profile", "x", "up", "-d", "--remove-orphans"]


def test_pull_skips_built_services_and_inactive_profiles() -> None:
    files = {
        "a.yaml": "services:\n  web: {image: x}\n  app: {build: ., image: y}\n"
                  "  job: {image: z, profiles: [jobs]}\n",
        "b.yaml": "services:\n  web: {build: ./web}\n  db: {image: postgres}\n",
    }
    assert pullable_services(ComposeProject(name="p", files=files)) == ["db"]
    assert pullable_services(ComposeProject(name="p", files=files, profiles=["jobs"])) == ["job", "db"]
    assert pullable_services(ComposeProject(name="p", files={"a.yaml": "[unclosed"})) is None


async def test_pull_of_only_built_services_runs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    async def must_not_run(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("compose ran")

    monkeypatch.setattr(compose_cli, "run_process", must_not_run)
    lines: list[str] = []
    await ComposeCli(command=["docker-compose"]).pull(
        ComposeProject(name="p", files={"a.yaml": "services:\n  app: {build: .}\n"}),
        on_line=lambda s, t: lines.append(t))
    assert lines == ["compose pull: every service is built, nothing to pull"]


async def test_cancel_kills_compose_during_a_build(engine: DockerEngine, docker_low: docker.APIClient,
                                                   tmp_path: Path, project_name: str) -> None:
    marker = f"berthmark-{uuid.uuid4().hex}"
    busybox_context(tmp_path / "app", f"RUN sleep 60; echo {marker}")
    (tmp_path / "compose.yaml").write_text(f"services:\n  app:\n    build: ./app\n"
                                           f"    image: berth-rt-compose-build:{RUN}\n")
    project = ComposeProject.from_checkout(project_name, tmp_path, ["compose.yaml"])
    assert project.project_dir == tmp_path
    cancel = asyncio.Event()
    lines: list[str] = []

    def on_line(stream: str, text: str) -> None:
        lines.append(text)
        if text.startswith(" ---> Running in ") and any(marker in line for line in lines):
            cancel.set()

    task = asyncio.ensure_future(engine.compose_build(project, on_line=on_line, cancel=cancel))
    await poll(cancel.is_set, 90, "the sleeping build step to start")
    started = time.monotonic()
    with pytest.raises(Canceled, match="compose build was canceled"):
        await asyncio.wait_for(task, 5)
    assert time.monotonic() - started < 5

    def compose_processes() -> list[str]:
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if project_name in cmdline or f"berth-rt-compose-build:{RUN}" in cmdline:  # compose or its build
                found.append(cmdline)
        return found

    def build_containers() -> list[Any]:
        return [c for c in docker_low.containers(all=True) if marker in (c.get("Command") or "")]

    await poll(lambda: not compose_processes(), 3, "the compose processes to exit")
    # The killed CLI dropped its connection, so the daemon stops the build too.
    await poll(lambda: not build_containers(), 10, "the build container to be gone")
