"""DockerEngine against the real daemon, and the behaviours the fake must share with it.

Docker state outlives a run and other tests use the same daemon at the same time:
everything made here carries a unique name and the label `berth.test.run=<RUN>`,
and is removed at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from berth.runner.docker_api import (
    STDERR,
    STDOUT,
    Canceled,
    ContainerSpec,
    DockerApi,
    DockerOperationError,
    NotFound,
    StepTimeout,
)
from berth.runner.docker_engine import DockerEngine, summarize_pull_event
from berth.runner.docker_fake import FakeDocker
from berth.runner.endpoints import EndpointConfig, open_endpoint
from tests.services import DOCKER_HOST, docker_available, skip_or_fail
from tests.support.names import unique
from tests.support.polling import poll

RUN = uuid.uuid4().hex[:10]
RUN_LABEL = {"berth.test.run": RUN}
BUSYBOX = Path("/bin/busybox")


def write_context(directory: Path, *dockerfile_lines: str) -> Path:
    """A FROM-scratch context with busybox installed in /bin, plus `dockerfile_lines`."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(BUSYBOX, directory / "busybox")
    (directory / "index.html").write_text("hello from berth\n")
    (directory / "Dockerfile").write_text("\n".join([
        "FROM scratch",
        "COPY busybox /bin/busybox",
        'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
        "COPY index.html /www/index.html",
        *dockerfile_lines,
    ]) + "\n")
    return directory


def http_get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return str(response.read().decode())
    except (OSError, urllib.error.URLError):
        return None


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def docker_low() -> Iterator[docker.APIClient]:
    reason = docker_available()
    if reason:
        skip_or_fail(reason)
    if not BUSYBOX.exists():
        skip_or_fail("busybox-static (/bin/busybox) is not installed")
    api = docker.APIClient(base_url=DOCKER_HOST, version="auto", timeout=120)
    yield api
    # Whatever a test left behind (a failed assertion skips its own cleanup).
    for container in api.containers(all=True, filters={"label": f"berth.test.run={RUN}"}):
        try:
            api.remove_container(container["Id"], force=True)
        except docker.errors.NotFound:
            pass
    for volume in (api.volumes(filters={"label": f"berth.test.run={RUN}"}) or {}).get("Volumes") or []:
        try:
            api.remove_volume(volume["Name"], force=True)
        except docker.errors.NotFound:
            pass
    api.close()


@pytest.fixture(scope="module")
def app_image(docker_low: docker.APIClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An image serving /www on 8080 with busybox httpd; built once per module."""
    tag = f"berth-rt-app:{RUN}"
    context = write_context(tmp_path_factory.mktemp("app"), 'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]')
    for event in docker_low.build(path=str(context), tag=tag, rm=True, forcerm=True, decode=True,
                                  labels=RUN_LABEL):
        if "error" in event:
            raise AssertionError(event["error"])
    yield tag
    try:
        docker_low.remove_image(tag, force=True)
    except docker.errors.APIError:
        pass


@pytest.fixture
async def engine(docker_low: docker.APIClient) -> AsyncIterator[DockerEngine]:
    endpoint = open_endpoint(EndpointConfig(docker_host=DOCKER_HOST))
    engine = DockerEngine.from_endpoint(endpoint)
    yield engine
    await engine.close()


@pytest.fixture(params=["engine", "fake"])
async def any_docker(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[DockerApi, str]]:
    """(implementation, an image it can run): the same behaviour tests run on both."""
    if request.param == "fake":
        fake = FakeDocker()
        fake.add_local_image("app:1", logs=["hello"])
        yield fake, "app:1"
        return
    image = request.getfixturevalue("app_image")
    engine = DockerEngine.from_endpoint(open_endpoint(EndpointConfig(docker_host=DOCKER_HOST)))
    yield engine, image
    await engine.close()


# --------------------------------------------------------------------------- shared behaviour


async def test_a_volume_is_listed_by_label_and_removed_only_when_unused(any_docker: tuple[DockerApi, str]) -> None:
    impl, image = any_docker
    name = unique("berth-rt-vol")
    mine = {**RUN_LABEL, "berth.test.volume": name}
    await impl.create_volume(name, labels=mine)
    container_id = await impl.run_container(ContainerSpec(name=unique("berth-rt-volc"), image=image, labels=RUN_LABEL,
                                                          volumes=[f"{name}:/data"]))
    try:
        assert [v.name for v in await impl.list_volumes({"berth.test.volume": name})] == [name]
        with pytest.raises(DockerOperationError, match="in use"):
            await impl.remove_volume(name)
        assert await impl.volume_exists(name)
    finally:
        await impl.remove_container(container_id, force=True)
    assert await impl.remove_volume(name) is True
    assert await impl.list_volumes({"berth.test.volume": name}) == []
    assert await impl.remove_volume(name) is False


async def test_pull_of_unknown_image_raises_clear_error(any_docker: tuple[DockerApi, str]) -> None:
    impl, _ = any_docker
    with pytest.raises(DockerOperationError) as err:
        await impl.pull("127.0.0.1:5999/nope:1", step_timeout=60)
    message = str(err.value)
    assert message.startswith("pull 127.0.0.1:5999/nope:1")
    assert "Traceback" not in message and "docker.errors" not in message


async def test_run_inspect_stop_remove(any_docker: tuple[DockerApi, str]) -> None:
    impl, image = any_docker
    name = unique("berth-rt-life")
    labels = {**RUN_LABEL, "berth.test.case": name}
    container_id = await impl.run_container(ContainerSpec(
        name=name, image=image, ports=["127.0.0.1::8080"], labels=labels, env={"SECRET": "x"}))
    info = await impl.inspect_container(container_id)
    assert info.running and info.name == name and info.labels["berth.test.case"] == name
    assert info.restart_count == 0 and info.ip_address
    assert [(p.container_port, p.host_ip) for p in info.ports] == [(8080, "127.0.0.1")]
    assert [c.id for c in await impl.list_containers({"berth.test.case": name})] == [container_id]
    assert await impl.list_containers({"berth.test.case": "other"}) == []

    await impl.stop_container(container_id, grace_seconds=1)
    assert (await impl.inspect_container(container_id)).state == "exited"
    assert await impl.list_containers({"berth.test.case": name}, all=False) == []
    assert await impl.remove_container(container_id) is True
    assert await impl.remove_container(container_id) is False
    with pytest.raises(NotFound):
        await impl.inspect_container(container_id)


async def test_fixed_port_conflict_fails_and_leaves_nothing(any_docker: tuple[DockerApi, str]) -> None:
    impl, image = any_docker
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    first = await impl.run_container(ContainerSpec(name=unique("berth-rt-a"), image=image, labels=RUN_LABEL,
                                                   ports=[f"127.0.0.1:{port}:8080"]))
    second = unique("berth-rt-b")
    try:
        with pytest.raises(DockerOperationError, match="already allocated|address already in use"):
            await impl.run_container(ContainerSpec(name=second, image=image, labels=RUN_LABEL,
                                                   ports=[f"127.0.0.1:{port}:8080"]))
        with pytest.raises(NotFound):
            await impl.inspect_container(second)
    finally:
        await impl.remove_container(first, force=True)


async def test_anonymous_volumes_are_refused(any_docker: tuple[DockerApi, str]) -> None:
    impl, image = any_docker
    name = unique("berth-rt-anon")
    with pytest.raises(DockerOperationError, match="anonymous volumes"):
        await impl.run_container(ContainerSpec(name=name, image=image, volumes=["/data"]))
    with pytest.raises(NotFound):
        await impl.inspect_container(name)


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


async def test_ipv6_loopback_port_and_host_bind_as_the_api_accepts_them(
    engine: DockerEngine, app_image: str, docker_low: docker.APIClient, tmp_path: Path
) -> None:
    """Strings the API accepts (the bind on an allowPrivileged server) run as written."""
    if not _ipv6_loopback():
        pytest.skip("this host has no IPv6 loopback")
    (tmp_path / "index.html").write_text("served from the host\n")
    tmp_path.chmod(0o755)
    container_id = await engine.run_container(ContainerSpec(
        name=unique("berth-rt-v6"), image=app_image, labels=RUN_LABEL, ports=["[::1]::8080"],
        volumes=[f"{tmp_path}:/www:ro"]))
    try:
        info = await engine.inspect_container(container_id)
        [port] = info.ports
        assert (port.container_port, port.host_ip) == (8080, "::1")
        page = await poll(lambda: http_get(f"http://[::1]:{port.host_port}/index.html"), 20, "the page over ::1")
        assert page == "served from the host\n"
        [mount] = docker_low.inspect_container(container_id)["Mounts"]
        assert (mount["Type"], mount["Source"], mount["RW"]) == ("bind", str(tmp_path), False)
    finally:
        await engine.remove_container(container_id, force=True)


async def test_a_named_volume_with_options(engine: DockerEngine, app_image: str,
                                           docker_low: docker.APIClient) -> None:
    volume = unique("berth-rt-optvol")
    await engine.create_volume(volume, labels=RUN_LABEL)
    container_id = await engine.run_container(ContainerSpec(
        name=unique("berth-rt-optc"), image=app_image, labels=RUN_LABEL, volumes=[f"{volume}:/data:ro,nocopy"]))
    try:
        [mount] = docker_low.inspect_container(container_id)["Mounts"]
        assert (mount["Type"], mount["Name"], mount["Destination"], mount["RW"]) == ("volume", volume, "/data", False)
    finally:
        await engine.remove_container(container_id, force=True)
        await engine.remove_volume(volume)


async def test_volumes(any_docker: tuple[DockerApi, str]) -> None:
    impl, _ = any_docker
    name = unique("berth-rt-vol")
    assert await impl.volume_exists(name) is False
    volume = await impl.create_volume(name, labels=RUN_LABEL)
    assert volume.name == name and volume.labels == RUN_LABEL
    assert await impl.volume_exists(name) is True
    assert (await impl.create_volume(name, labels=RUN_LABEL)).name == name  # idempotent


async def test_inspect_missing_image_is_not_found(any_docker: tuple[DockerApi, str]) -> None:
    impl, image = any_docker
    assert (await impl.inspect_image(image)).id.startswith("sha256:")
    with pytest.raises(NotFound):
        await impl.inspect_image(f"berth-rt-missing:{RUN}")


# --------------------------------------------------------------------------- engine only


async def test_version(engine: DockerEngine) -> None:
    version = await engine.version()
    assert version.api_version and version.version


async def test_build_run_and_probe_over_http(engine: DockerEngine, tmp_path: Path) -> None:
    tag = f"berth-rt-built:{uuid.uuid4().hex[:8]}"
    context = write_context(tmp_path / "ctx", 'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]',
                            "HEALTHCHECK --interval=1s CMD test -f /www/index.html")
    lines: list[tuple[str, str]] = []
    image_id = await engine.build(context, tag=tag, labels={**RUN_LABEL, "berth.test.build": "1"},
                                  on_line=lambda s, t: lines.append((s, t)), step_timeout=120)
    try:
        assert image_id.startswith("sha256:")
        assert any(t.startswith("Step 1/") for _, t in lines)
        image = await engine.inspect_image(tag)
        assert image.id == image_id and image.has_healthcheck and image.labels["berth.test.build"] == "1"
        assert image.exposed_ports == ()

        name = unique("berth-rt-http")
        container_id = await engine.run_container(ContainerSpec(name=name, image=tag, labels=RUN_LABEL,
                                                                ports=["127.0.0.1::8080"]))
        try:
            info = await engine.inspect_container(container_id)
            assert info.image_id == image_id
            url = f"http://127.0.0.1:{info.ports[0].host_port}/index.html"
            body = await poll(lambda: http_get(url), 15, f"{url} to answer")
            assert body == "hello from berth\n"
            healthy = await poll(
                lambda: engine.inspect_container(container_id), 20, "health",
            )
            assert healthy.health in ("starting", "healthy")
        finally:
            await engine.remove_container(container_id, force=True)
    finally:
        await engine.remove_image(tag, force=True)


async def test_build_failure_carries_the_daemon_message(engine: DockerEngine, tmp_path: Path) -> None:
    context = write_context(tmp_path / "ctx", "RUN echo going down; exit 3")
    with pytest.raises(DockerOperationError) as err:
        await engine.build(context, tag=f"berth-rt-fail:{uuid.uuid4().hex[:8]}", labels=RUN_LABEL)
    assert "returned a non-zero code: 3" in str(err.value)
    assert str(err.value).startswith("build berth-rt-fail:")


async def test_build_cancel_stops_the_build_and_removes_its_container(
    engine: DockerEngine, docker_low: docker.APIClient, tmp_path: Path
) -> None:
    marker = f"berthmark-{uuid.uuid4().hex}"
    # --no-cache equivalent: the marker makes the step unique, so it really runs.
    context = write_context(tmp_path / "ctx", f"RUN sleep 60; echo {marker}")
    cancel = asyncio.Event()

    def on_line(stream: str, text: str) -> None:
        if text.startswith(" ---> Running in ") and seen_sleep_step[0]:
            cancel.set()
        if marker in text:
            seen_sleep_step[0] = True

    seen_sleep_step = [False]
    task = asyncio.ensure_future(engine.build(context, tag=f"berth-rt-cancel:{RUN}", on_line=on_line,
                                              cancel=cancel, labels=RUN_LABEL))
    await poll(cancel.is_set, 60, "the sleep step to start")
    started = time.monotonic()
    with pytest.raises(Canceled, match="was canceled"):
        await asyncio.wait_for(task, 5)
    assert time.monotonic() - started < 5

    def build_containers() -> list[Any]:
        return [c for c in docker_low.containers(all=True) if marker in (c.get("Command") or "")]

    await poll(lambda: not build_containers(), 5, "the build container to be gone")
    with pytest.raises(NotFound):
        await engine.inspect_image(f"berth-rt-cancel:{RUN}")


async def test_build_timeout(engine: DockerEngine, tmp_path: Path) -> None:
    context = write_context(tmp_path / "ctx", f"RUN sleep 60; echo berthmark-{uuid.uuid4().hex}")
    started = time.monotonic()
    with pytest.raises(StepTimeout, match="timed out after 1 s"):
        await engine.build(context, tag=f"berth-rt-timeout:{RUN}", step_timeout=1, labels=RUN_LABEL)
    assert time.monotonic() - started < 6


LOGGER = 'i=0; while true; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); sleep 0.1; done'


async def test_logs_stream_then_stop_closes_the_stream(engine: DockerEngine, app_image: str) -> None:
    container_id = await engine.run_container(ContainerSpec(name=unique("berth-rt-logs"), image=app_image,
                                                            command=["sh", "-c", LOGGER], labels=RUN_LABEL))
    finished = threading.Event()
    original = engine._read_logs

    def tracked(*args: Any, **kwargs: Any) -> None:
        try:
            original(*args, **kwargs)
        finally:
            finished.set()  # the worker thread has left the blocking read

    engine._read_logs = tracked  # type: ignore[method-assign]
    lines: list[tuple[str, str]] = []
    stop = asyncio.Event()
    try:
        task = asyncio.ensure_future(
            engine.container_logs(container_id, on_line=lambda s, t: lines.append((s, t)), stop=stop))
        await poll(lambda: sum(1 for s, _ in lines if s == STDERR) >= 3, 10, "stderr lines")
        assert (STDOUT, "out 0") in lines and (STDERR, "err 0") in lines
        started = time.monotonic()
        stop.set()
        await asyncio.wait_for(task, 2)  # returns quietly: stopping is how following ends
        assert await asyncio.to_thread(finished.wait, 2), "the reader thread is still blocked"
        assert time.monotonic() - started < 2
        count = len(lines)
        await asyncio.sleep(0.3)  # nothing more arrives once stopped
        assert len(lines) == count

        tail = await engine.tail_logs(container_id, 4)
        assert len(tail) == 4 and {line.stream for line in tail} == {STDOUT, STDERR}
    finally:
        await engine.remove_container(container_id, force=True)


async def test_stopping_delivers_what_the_daemon_logged_but_had_not_sent(engine: DockerEngine,
                                                                         app_image: str) -> None:
    # `seq` logs its lines far faster than a follow stream delivers them.
    container_id = await engine.run_container(ContainerSpec(
        name=unique("berth-rt-burst"), image=app_image, command=["sh", "-c", "seq 1 50000; echo done; sleep 600"],
        labels=RUN_LABEL))
    lines: list[tuple[str, str]] = []
    stop = asyncio.Event()
    try:
        task = asyncio.ensure_future(
            engine.container_logs(container_id, on_line=lambda s, t: lines.append((s, t)), stop=stop))
        await poll(lambda: lines, 10, "the first line")

        async def all_logged() -> bool:
            return [line.text for line in await engine.tail_logs(container_id, 1)] == ["done"]

        await poll(all_logged, 20, "the burst to be logged")
        stop.set()
        await asyncio.wait_for(task, 12)
        assert lines == [(STDOUT, str(i)) for i in range(1, 50001)] + [(STDOUT, "done")]
    finally:
        await engine.remove_container(container_id, force=True)


async def test_only_networks_without_containers_are_removed(engine: DockerEngine, docker_low: docker.APIClient,
                                                            app_image: str) -> None:
    project = unique("berth-rt-net")
    label = {"com.docker.compose.project": project}
    busy, idle = f"{project}_busy", f"{project}_idle"
    for network in (busy, idle):
        docker_low.create_network(network, labels={**RUN_LABEL, **label})
    container_id = await engine.run_container(ContainerSpec(name=unique("berth-rt-netc"), image=app_image,
                                                            labels=RUN_LABEL, network=busy))
    try:
        assert await engine.remove_idle_networks(label) == [idle]
        assert [n["Name"] for n in docker_low.networks(names=[busy])] == [busy]
    finally:
        await engine.remove_container(container_id, force=True)
    assert await engine.remove_idle_networks(label) == [busy]
    assert docker_low.networks(filters={"label": f"com.docker.compose.project={project}"}) == []


async def test_cancelling_the_awaiting_task_also_closes_the_stream(engine: DockerEngine, app_image: str) -> None:
    container_id = await engine.run_container(ContainerSpec(name=unique("berth-rt-wf"), image=app_image,
                                                            command=["sh", "-c", LOGGER], labels=RUN_LABEL))
    finished = threading.Event()
    original = engine._read_logs

    def tracked(*args: Any, **kwargs: Any) -> None:
        try:
            original(*args, **kwargs)
        finally:
            finished.set()

    engine._read_logs = tracked  # type: ignore[method-assign]
    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(engine.container_logs(container_id, on_line=lambda s, t: None), 0.5)
        assert await asyncio.to_thread(finished.wait, 2), "the reader thread is still blocked"
    finally:
        await engine.remove_container(container_id, force=True)


async def test_logs_follow_ends_when_the_container_exits(engine: DockerEngine, app_image: str) -> None:
    container_id = await engine.run_container(ContainerSpec(
        name=unique("berth-rt-exit"), image=app_image, command=["sh", "-c", "sleep 1; echo bye; exit 4"],
        labels=RUN_LABEL, restart_policy="no"))
    lines: list[tuple[str, str]] = []
    try:
        follow = engine.container_logs(container_id, on_line=lambda s, t: lines.append((s, t)))
        await asyncio.wait_for(follow, 20)
        assert lines == [(STDOUT, "bye")]
        info = await poll(lambda: _exited(engine, container_id), 5, "the exit to be recorded")
        assert info.exit_code == 4
    finally:
        await engine.remove_container(container_id, force=True)


async def _exited(engine: DockerEngine, container_id: str) -> Any:
    info = await engine.inspect_container(container_id)
    return info if info.state == "exited" else None


async def test_logs_of_missing_container(engine: DockerEngine) -> None:
    with pytest.raises(NotFound):
        await engine.tail_logs(f"berth-rt-missing-{RUN}")


async def test_pull_cancel_returns_promptly(engine: DockerEngine) -> None:
    """A registry that accepts connections and never answers: the pull hangs until canceled."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop_accepting = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop_accepting.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    cancel = asyncio.Event()
    task = asyncio.ensure_future(engine.pull(f"127.0.0.1:{server.getsockname()[1]}/hang:1", cancel=cancel))
    try:
        await poll(lambda: held, 10, "the daemon to contact the registry")
        started = time.monotonic()
        cancel.set()
        with pytest.raises(Canceled):
            await asyncio.wait_for(task, 5)
        assert time.monotonic() - started < 5
    finally:
        stop_accepting.set()
        acceptor.join()
        for conn in held:  # let the daemon's request fail so its pull (and our thread) ends
            conn.close()
        server.close()


def test_pull_progress_is_summarised_per_layer() -> None:
    events: list[dict[str, Any]] = [
        {"status": "Pulling from library/app", "id": "1"},
        {"status": "Pulling fs layer", "id": "aaa"},
        {"status": "Downloading", "progressDetail": {"current": 1, "total": 9}, "id": "aaa"},
        {"status": "Download complete", "id": "aaa"},
        {"status": "Extracting", "id": "aaa"},
        {"status": "Pull complete", "id": "aaa"},
        {"status": "Already exists", "id": "bbb"},
        {"status": "Digest: sha256:abc"},
        {"status": "Status: Downloaded newer image for app:1"},
    ]
    assert [line for e in events if (line := summarize_pull_event(e))] == [
        "Pulling from library/app (1)",
        "aaa: Pull complete",
        "bbb: Already exists",
        "Digest: sha256:abc",
        "Status: Downloaded newer image for app:1",
    ]


# --------------------------------------------------------------------------- fake only


async def test_fake_honours_cancel_and_injected_failures() -> None:
    fake = FakeDocker()
    fake.add_remote_image("app:2", health="healthy")
    fake.delay("pull", 30)
    cancel = asyncio.Event()
    task = asyncio.ensure_future(fake.pull("app:2", cancel=cancel))
    await asyncio.sleep(0)
    cancel.set()
    with pytest.raises(Canceled):
        await asyncio.wait_for(task, 1)
    with pytest.raises(StepTimeout):
        await fake.pull("app:2", step_timeout=0.05)
    fake.delay("pull", 0)
    result = await fake.pull("app:2")
    assert result.digest and result.repo_digest and result.repo_digest.endswith(result.digest)

    fake.fail("run_container", DockerOperationError("boom"))
    with pytest.raises(DockerOperationError, match="boom"):
        await fake.run_container(ContainerSpec(name="x", image="app:2"))
    container_id = await fake.run_container(ContainerSpec(name="x", image="app:2"))
    assert (await fake.inspect_container(container_id)).health == "healthy"
    fake.set_state(container_id, state="exited", exit_code=1)
    assert (await fake.inspect_container(container_id)).health is None
    assert ("pull", "app:2") in fake.calls


def test_both_implementations_satisfy_the_protocol() -> None:
    # mypy checks the signatures of these assignments; isinstance the method names.
    fake: DockerApi = FakeDocker()
    real: type[DockerApi] = DockerEngine
    assert isinstance(fake, DockerApi)
    assert all(callable(getattr(real, name)) for name in dir(DockerApi) if not name.startswith("_"))


# ---------------------------------------------------------------- exec, file copy, networks


async def test_exec_put_file_and_networks(engine: DockerEngine, docker_client: docker.DockerClient,
                                          busybox_image: Any) -> None:
    name = unique("exec")
    network = f"{name}-net"
    try:
        await engine.ensure_network(network, {"berth.test.run": RUN})
        await engine.ensure_network(network)  # there already: nothing to do
        assert [n.name for n in docker_client.networks.list(names=[network])] == [network]
        container_id = await engine.run_container(ContainerSpec(
            name=name, image=busybox_image.ref("v1"), network=network, restart_policy="no"))
        await engine.put_file(container_id, "/berth/test/hello.txt", b"hi there\n")
        shown = await engine.exec_in_container(container_id, ["cat", "/berth/test/hello.txt"])
        assert (shown.exit_code, shown.output) == (0, "hi there\n")
        failed = await engine.exec_in_container(container_id, ["sh", "-c", "echo nope >&2; exit 3"])
        assert (failed.exit_code, failed.output) == (3, "nope\n")
        with pytest.raises(StepTimeout):
            await engine.exec_in_container(container_id, ["sleep", "5"], step_timeout=0.5)
    finally:
        with contextlib.suppress(docker.errors.APIError):
            docker_client.api.remove_container(name, force=True)
        for found in docker_client.networks.list(names=[network]):
            found.remove()
