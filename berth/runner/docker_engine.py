"""`DockerApi` over docker-py (engine API) and the compose CLI.

docker-py is blocking, so every call runs in a worker thread. The streaming calls
(pull, build, logs) are the delicate part: their generators cannot be interrupted from
another thread, so we get hold of the HTTP response itself and, on cancel, shut its
socket down from the event loop. The blocked read in the worker then sees EOF and the
thread ends; the daemon sees the connection drop, which cancels a pull or a classic
build (the build's intermediate container is removed as a backstop).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import tarfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import docker
import docker.errors
import requests
from docker import auth as docker_auth
from docker.utils import parse_repository_tag

from berth.domain.grammars import PortMapping, VolumeMount
from berth.runner.chunked_body import ChunkedBodyError
from berth.runner.compose_cli import ComposeCli
from berth.runner.container_logs import LogCursor, log_batches, read_lines
from berth.runner.docker_api import (
    COMPOSE_PROJECT_LABEL,
    COMPOSE_SERVICE_LABEL,
    STDOUT,
    SYSTEM,
    Canceled,
    CancelEvent,
    ComposeContainer,
    ComposeProject,
    ContainerInfo,
    ContainerSpec,
    DockerOperationError,
    EndpointError,
    EngineVersion,
    ExecResult,
    ImageInfo,
    LogLine,
    NetworkInfo,
    NotFound,
    OnLine,
    PortBinding,
    PullResult,
    StepTimeout,
    VolumeInfo,
    discard_line,
)
from berth.runner.docker_streams import StreamHandle, capture_hook, capturing, run_stream
from berth.runner.endpoints import DockerEndpoint
from berth.runner.process import LineSplitter

log = logging.getLogger(__name__)

T = TypeVar("T")

# How long a last read of a container's output, after following stopped, may take.
DRAIN_SECONDS = 10.0
# How long we keep removing a canceled build's intermediate containers.
_BUILD_CLEANUP_SECONDS = 5.0
_PULL_LAYER_DONE = ("Pull complete", "Already exists")


# --------------------------------------------------------------------------- errors


@contextlib.contextmanager
def _docker_errors(what: str) -> Iterator[None]:
    """Turn docker-py / requests exceptions into ours, keeping only the daemon's words."""
    try:
        yield
    except docker.errors.NotFound as exc:
        raise NotFound(f"{what}: {_explain(exc)}", status_code=404) from None
    except docker.errors.APIError as exc:
        raise DockerOperationError(f"{what}: {_explain(exc)}", status_code=exc.status_code) from None
    except requests.exceptions.ConnectionError as exc:
        raise EndpointError(f"{what}: cannot reach the Docker daemon ({_first_line(exc)})") from None
    except requests.exceptions.RequestException as exc:
        raise EndpointError(f"{what}: {_first_line(exc)}") from None
    except docker.errors.DockerException as exc:
        raise DockerOperationError(f"{what}: {_first_line(exc)}") from None


def _explain(exc: docker.errors.APIError) -> str:
    explanation = exc.explanation
    if isinstance(explanation, bytes):
        explanation = explanation.decode("utf-8", errors="replace")
    if not explanation and exc.response is not None:
        explanation = exc.response.reason
    return str(explanation or exc).strip()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:500]


# --------------------------------------------------------------------------- parsing


def port_arguments(mappings: Sequence[PortMapping]) -> tuple[list[tuple[int, str]], dict[str, list[dict[str, str]]]]:
    """docker-py's `ports` (what the container exposes) and `port_bindings` (where the
    host publishes it) for parsed port mappings; an empty HostPort lets Docker choose."""
    exposed: list[tuple[int, str]] = []
    bindings: dict[str, list[dict[str, str]]] = {}
    for mapping in mappings:
        for publish in mapping.publishes():
            key = f"{publish.container_port}/{publish.protocol}"
            if (publish.container_port, publish.protocol) not in exposed:
                exposed.append((publish.container_port, publish.protocol))
            bindings.setdefault(key, []).append(
                {"HostIp": publish.host_ip or "", "HostPort": publish.host_port or ""})
    return exposed, bindings


def volume_binds(mounts: Sequence[VolumeMount]) -> list[str]:
    """HostConfig.Binds: the daemon reads these with the `-v` grammar the mounts were parsed
    with, so options such as z/Z (which the Mount API cannot express) keep their meaning."""
    return [mount.bind() for mount in mounts]


def _label_filter(labels: Mapping[str, str | None] | None) -> dict[str, list[str]]:
    if not labels:
        return {}
    return {"label": [key if value is None else f"{key}={value}" for key, value in labels.items()]}


def _container_info(attrs: Mapping[str, Any]) -> ContainerInfo:
    state = attrs.get("State") or {}
    config = attrs.get("Config") or {}
    host = attrs.get("HostConfig") or {}
    network = attrs.get("NetworkSettings") or {}
    health = state.get("Health") or {}
    health_log = health.get("Log") or []
    ip_address = network.get("IPAddress") or None
    if not ip_address:
        for net in (network.get("Networks") or {}).values():
            if net and net.get("IPAddress"):
                ip_address = net["IPAddress"]
                break
    ports: list[PortBinding] = []
    for key, bindings in sorted((network.get("Ports") or {}).items()):
        port, _, proto = key.partition("/")
        for binding in bindings or []:
            if binding.get("HostPort"):
                ports.append(PortBinding(int(port), proto or "tcp", binding.get("HostIp") or "",
                                         int(binding["HostPort"])))
    return ContainerInfo(
        id=attrs["Id"],
        name=str(attrs.get("Name") or "").lstrip("/"),
        image=config.get("Image") or "",
        image_id=attrs.get("Image") or "",
        state=state.get("Status") or "unknown",
        health=health.get("Status") or None,
        exit_code=int(state.get("ExitCode") or 0),
        restart_count=int(attrs.get("RestartCount") or 0),
        ip_address=ip_address,
        ports=tuple(ports),
        labels=dict(config.get("Labels") or {}),
        started_at=state.get("StartedAt") or "",
        finished_at=state.get("FinishedAt") or "",
        error=state.get("Error") or "",
        health_output=(health_log[-1].get("Output") or "").strip() if health_log else None,
        memory_bytes=int(host.get("Memory") or 0),
        nano_cpus=int(host.get("NanoCpus") or 0),
        # The daemon reports "no limit" as 0, -1 or null depending on its version.
        pids_limit=max(int(host.get("PidsLimit") or 0), 0),
    )


@contextlib.contextmanager
def _build_auths(api: Any, registry_auths: Mapping[str, Mapping[str, str]] | None) -> Iterator[None]:
    """docker-py's build takes no auth per call: it sends the client's whole auth config as
    X-Registry-Config, loading ~/.docker/config.json when it holds none. For a build with
    credentials the client holds exactly those, for this call (the engine is the deployment's
    own, so no other call shares it meanwhile); without any, what it did before is unchanged."""
    if not registry_auths:
        yield
        return
    saved = api._auth_configs
    config = docker_auth.AuthConfig({})
    for registry, auth in registry_auths.items():
        config.add_auth(registry, {"username": auth["username"], "password": auth["password"],
                                   "serveraddress": registry})
    api._auth_configs = config
    try:
        yield
    finally:
        api._auth_configs = saved


def restart_policy_argument(text: str) -> dict[str, Any] | None:
    """docker-py's restart_policy for "no" / "always" / "unless-stopped" / "on-failure[:N]"."""
    if text in ("", "no"):
        return None
    name, _, retries = text.partition(":")
    policy: dict[str, Any] = {"Name": name}
    if retries:
        policy["MaximumRetryCount"] = int(retries)
    return policy


def _image_info(attrs: Mapping[str, Any]) -> ImageInfo:
    config = attrs.get("Config") or {}
    check = (config.get("Healthcheck") or {}).get("Test") or []
    return ImageInfo(
        id=attrs["Id"],
        tags=tuple(attrs.get("RepoTags") or ()),
        repo_digests=tuple(attrs.get("RepoDigests") or ()),
        labels=dict(config.get("Labels") or {}),
        has_healthcheck=bool(check) and check[0] != "NONE",
        exposed_ports=tuple(sorted(config.get("ExposedPorts") or {})),
        created=attrs.get("Created") or "",
    )


def summarize_pull_event(event: Mapping[str, Any]) -> str | None:
    """The log line for one pull progress event, or None for the ticks in between.

    Per layer only its end ("Pull complete" / "Already exists") is kept, plus the
    lines without a layer ("Digest: …", "Status: …").
    """
    status = str(event.get("status") or "")
    layer = event.get("id")
    if layer and status.startswith("Pulling from"):
        return f"{status} ({layer})"
    if layer:
        return f"{layer}: {status}" if status in _PULL_LAYER_DONE else None
    return status or None


def _docker_timestamp(moment: datetime) -> str:
    return f"{moment.timestamp():.9f}"


# --------------------------------------------------------------------------- engine


class DockerEngine:
    """The real `DockerApi`. Build it from an endpoint: `DockerEngine.from_endpoint(ep)`."""

    def __init__(
        self,
        api: docker.APIClient,
        *,
        compose: ComposeCli | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._api = api
        self._compose = compose or ComposeCli()
        self._on_close = on_close
        if capture_hook not in self._api.hooks["response"]:
            self._api.hooks["response"].append(capture_hook)

    @classmethod
    def from_endpoint(cls, endpoint: DockerEndpoint) -> DockerEngine:
        """The engine owns the endpoint from here on: `close()` closes it."""
        return cls(endpoint.api, compose=ComposeCli(endpoint.env), on_close=endpoint.close)

    async def close(self) -> None:
        await asyncio.to_thread(self._on_close or self._api.close)

    async def _call(self, what: str, fn: Callable[[], T]) -> T:
        def run() -> T:
            with _docker_errors(what):
                return fn()

        return await asyncio.to_thread(run)

    # ---- daemon

    async def version(self) -> EngineVersion:
        info = await self._call("docker version", self._api.version)
        return EngineVersion(version=str(info.get("Version", "")),
                             api_version=str(info.get("ApiVersion", "")),
                             os=str(info.get("Os", "")), arch=str(info.get("Arch", "")))

    # ---- images

    async def pull(
        self,
        image_ref: str,
        *,
        on_line: OnLine = discard_line,
        cancel: CancelEvent | None = None,
        step_timeout: float | None = None,
        auth_config: Mapping[str, str] | None = None,
    ) -> PullResult:
        repo, tag = parse_repository_tag(image_ref)
        tag = tag or "latest"
        what = f"pull {image_ref}"

        def work(handle: StreamHandle) -> str | None:
            digest: str | None = None
            with _docker_errors(what), capturing(handle.attach):
                events = self._api.pull(repo, tag=tag, stream=True, decode=True,
                                        auth_config=dict(auth_config) if auth_config else None)
                for event in events:
                    if "error" in event:
                        raise DockerOperationError(f"{what} failed: {str(event['error']).strip()}")
                    line = summarize_pull_event(event)
                    if line is not None:
                        handle.emit(STDOUT, line)
                    if line and line.startswith("Digest: "):
                        digest = line.removeprefix("Digest: ").strip()
            return digest

        handle = StreamHandle.for_lines(asyncio.get_running_loop(), on_line)
        digest = await run_stream(handle, work, cancel=cancel, step_timeout=step_timeout, what=what)
        try:
            image = await self.inspect_image(image_ref)
        except NotFound:
            raise DockerOperationError(f"{what} failed: the image is not there after the pull") from None
        if digest is None and "@" in image_ref:
            digest = image_ref.rpartition("@")[2]
        repo_digest = next((d for d in image.repo_digests if digest and d.endswith("@" + digest)), None)
        if repo_digest is None and image.repo_digests and digest is None:
            repo_digest = image.repo_digests[0]
            digest = repo_digest.rpartition("@")[2]
        return PullResult(image_ref=image_ref, image_id=image.id, digest=digest, repo_digest=repo_digest)

    async def build(
        self,
        context_dir: Path,
        *,
        tag: str,
        dockerfile: str = "Dockerfile",
        labels: Mapping[str, str] | None = None,
        build_args: Mapping[str, str] | None = None,
        on_line: OnLine = discard_line,
        cancel: CancelEvent | None = None,
        step_timeout: float | None = None,
        registry_auths: Mapping[str, Mapping[str, str]] | None = None,
    ) -> str:
        what = f"build {tag}"

        def work(handle: StreamHandle) -> str | None:
            image_id: str | None = None
            splitter = LineSplitter()
            with _docker_errors(what), capturing(handle.attach), _build_auths(self._api, registry_auths):
                # forcerm: the daemon removes intermediate containers even when a step fails.
                events = self._api.build(path=str(context_dir), dockerfile=dockerfile, tag=tag,
                                         labels=dict(labels or {}), buildargs=dict(build_args or {}),
                                         rm=True, forcerm=True, decode=True)
                for event in events:
                    if "error" in event:
                        raise DockerOperationError(f"{what} failed: {str(event['error']).strip()}")
                    if "stream" in event:
                        for line in splitter.feed(str(event["stream"]).encode()):
                            if line.startswith(" ---> Running in "):
                                handle.build_containers.append(line.rsplit(" ", 1)[-1])
                            if line:
                                handle.emit(STDOUT, line)
                    elif event.get("status"):
                        handle.emit(STDOUT, str(event["status"]))  # base image pull
                    aux = event.get("aux")
                    if isinstance(aux, dict) and aux.get("ID"):
                        image_id = str(aux["ID"])
            return image_id

        handle = StreamHandle.for_lines(asyncio.get_running_loop(), on_line)
        try:
            image_id = await run_stream(handle, work, cancel=cancel, step_timeout=step_timeout, what=what)
        except (Canceled, StepTimeout, asyncio.CancelledError):
            # Closing the connection makes the classic builder stop and remove its
            # container; make sure it is gone even if the daemon is slow about it.
            await asyncio.shield(self._remove_build_containers(list(handle.build_containers)))
            raise
        if image_id is None:
            image_id = (await self.inspect_image(tag)).id
        return image_id

    async def _remove_build_containers(self, container_ids: list[str]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _BUILD_CLEANUP_SECONDS
        pending = list(container_ids)
        while pending and loop.time() < deadline:
            for container_id in list(pending):
                try:
                    await self.remove_container(container_id, force=True)
                    pending.remove(container_id)
                except DockerOperationError:
                    pass  # e.g. "removal already in progress": look again shortly
            if pending:
                await asyncio.sleep(0.2)
        if pending:
            log.warning("build containers still present after cancel: %s", pending)

    async def inspect_image(self, ref: str) -> ImageInfo:
        attrs = await self._call(f"inspect image {ref}", lambda: self._api.inspect_image(ref))
        return _image_info(attrs)

    async def list_images(self, labels: Mapping[str, str | None] | None = None) -> list[ImageInfo]:
        def run() -> list[ImageInfo]:
            found = []
            for summary in self._api.images(filters=_label_filter(labels)):
                with contextlib.suppress(docker.errors.NotFound):
                    found.append(_image_info(self._api.inspect_image(summary["Id"])))
            return found

        return await self._call("list images", run)

    async def remove_image(self, ref: str, *, force: bool = False) -> bool:
        try:
            await self._call(f"remove image {ref}", lambda: self._api.remove_image(ref, force=force))
        except NotFound:
            return False
        return True

    async def tag_image(self, source: str, target: str) -> None:
        repo, tag = parse_repository_tag(target)
        await self._call(f"tag {source} as {target}", lambda: self._api.tag(source, repo, tag or "latest"))

    # ---- volumes

    async def create_volume(self, name: str, labels: Mapping[str, str] | None = None) -> VolumeInfo:
        attrs = await self._call(f"create volume {name}",
                                 lambda: self._api.create_volume(name=name, labels=dict(labels or {})))
        return VolumeInfo(name=attrs["Name"], labels=dict(attrs.get("Labels") or {}),
                          driver=attrs.get("Driver") or "local")

    async def volume_exists(self, name: str) -> bool:
        try:
            await self._call(f"inspect volume {name}", lambda: self._api.inspect_volume(name))
        except NotFound:
            return False
        return True

    async def inspect_volume(self, name: str) -> VolumeInfo | None:
        try:
            attrs = await self._call(f"inspect volume {name}", lambda: self._api.inspect_volume(name))
        except NotFound:
            return None
        return VolumeInfo(name=attrs["Name"], labels=dict(attrs.get("Labels") or {}),
                          driver=attrs.get("Driver") or "local")

    async def list_volumes(self, labels: Mapping[str, str | None] | None = None) -> list[VolumeInfo]:
        found = await self._call("list volumes", lambda: self._api.volumes(filters=_label_filter(labels)))
        return [VolumeInfo(name=v["Name"], labels=dict(v.get("Labels") or {}), driver=v.get("Driver") or "local")
                for v in (found or {}).get("Volumes") or []]

    async def remove_volume(self, name: str) -> bool:
        try:
            await self._call(f"remove volume {name}", lambda: self._api.remove_volume(name))
        except NotFound:
            return False
        return True

    async def list_networks(self, labels: Mapping[str, str | None] | None = None) -> list[NetworkInfo]:
        found = await self._call("list networks", lambda: self._api.networks(filters=_label_filter(labels)))
        return [NetworkInfo(name=str(n.get("Name") or n["Id"][:12]), labels=dict(n.get("Labels") or {}))
                for n in found or []]

    async def remove_idle_networks(self, labels: Mapping[str, str | None]) -> list[str]:
        def run() -> list[str]:
            removed: list[str] = []
            for network in self._api.networks(filters=_label_filter(labels)):
                try:
                    self._api.remove_network(network["Id"])
                except docker.errors.NotFound:
                    continue
                except docker.errors.APIError as exc:
                    if exc.status_code in (403, 409):  # containers still attached: in use
                        continue
                    raise
                removed.append(str(network.get("Name") or network["Id"][:12]))
            return removed

        return await self._call("remove networks", run)

    # ---- containers

    async def run_container(self, spec: ContainerSpec) -> str:
        exposed, port_bindings = port_arguments(spec.port_mappings())
        binds = volume_binds(spec.volume_mounts())
        what = f"run container {spec.name}"

        def run() -> str:
            host_config = self._api.create_host_config(
                port_bindings=port_bindings or None, binds=binds or None,
                restart_policy=restart_policy_argument(spec.restart_policy), network_mode=spec.network,
                mem_limit=spec.memory_bytes or None, nano_cpus=spec.nano_cpus or None,
                pids_limit=spec.pids_limit or None,
            )
            created = self._api.create_container(
                image=spec.image, command=list(spec.command) if spec.command is not None else None,
                name=spec.name, environment=dict(spec.env), labels=dict(spec.labels),
                ports=exposed or None, host_config=host_config, detach=True,
            )
            container_id = str(created["Id"])
            try:
                self._api.start(container_id)
            except BaseException:
                # A container that never started is of no use to anyone: leave nothing.
                with contextlib.suppress(Exception):
                    self._api.remove_container(container_id, force=True)
                raise
            return container_id

        return await self._call(what, run)

    async def exec_in_container(
        self, container_id: str, command: Sequence[str], *, step_timeout: float = 30.0
    ) -> ExecResult:
        what = f"exec in container {container_id[:12]}"

        def run() -> ExecResult:
            created = self._api.exec_create(container_id, list(command), stdout=True, stderr=True)
            output = self._api.exec_start(created["Id"], stream=False, demux=False)
            code = self._api.exec_inspect(created["Id"]).get("ExitCode")
            text = output.decode("utf-8", errors="replace") if isinstance(output, bytes) else str(output or "")
            return ExecResult(exit_code=int(code if code is not None else -1), output=text)

        try:
            return await asyncio.wait_for(self._call(what, run), timeout=step_timeout)
        except TimeoutError:
            raise StepTimeout(f"{what}: {' '.join(command)} did not finish within {step_timeout:g} s",
                              step_timeout) from None

    async def put_file(self, container_id: str, path: str, content: bytes, *, mode: int = 0o644) -> None:
        folder, _, name = path.rpartition("/")
        if not path.startswith("/") or not name:
            raise DockerOperationError(f"put file: {path!r} is not an absolute file path")
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            # The folders as tar entries: put_archive needs its target to exist.
            parts = [p for p in folder.split("/") if p]
            for depth in range(1, len(parts) + 1):
                entry = tarfile.TarInfo("/".join(parts[:depth]))
                entry.type, entry.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(entry)
            entry = tarfile.TarInfo(path.lstrip("/"))
            entry.size, entry.mode, entry.mtime = len(content), mode, int(datetime.now().timestamp())
            tar.addfile(entry, io.BytesIO(content))
        data = archive.getvalue()
        await self._call(f"copy {path} into container {container_id[:12]}",
                         lambda: self._api.put_archive(container_id, "/", data))

    async def ensure_network(self, name: str, labels: Mapping[str, str] | None = None) -> None:
        def run() -> None:
            if any(n.get("Name") == name for n in self._api.networks(names=[name])):
                return
            try:
                self._api.create_network(name, driver="bridge", labels=dict(labels or {}))
            except docker.errors.APIError as exc:
                if exc.status_code != 409:  # created meanwhile by someone else
                    raise

        await self._call(f"create network {name}", run)

    async def start_container(self, container_id: str) -> None:
        await self._call(f"start container {container_id}", lambda: self._api.start(container_id))

    async def stop_container(self, container_id: str, *, grace_seconds: int = 10) -> None:
        await self._call(f"stop container {container_id}",
                         lambda: self._api.stop(container_id, timeout=grace_seconds))

    async def remove_container(self, container_id: str, *, force: bool = False) -> bool:
        try:
            await self._call(f"remove container {container_id}",
                             lambda: self._api.remove_container(container_id, force=force))
        except NotFound:
            return False
        return True

    async def inspect_container(self, container_id: str) -> ContainerInfo:
        attrs = await self._call(f"inspect container {container_id}",
                                 lambda: self._api.inspect_container(container_id))
        return _container_info(attrs)

    async def list_containers(
        self, labels: Mapping[str, str | None] | None = None, *, all: bool = True
    ) -> list[ContainerInfo]:
        def run() -> list[ContainerInfo]:
            found = []
            for summary in self._api.containers(all=all, filters=_label_filter(labels)):
                with contextlib.suppress(docker.errors.NotFound):  # removed meanwhile
                    found.append(_container_info(self._api.inspect_container(summary["Id"])))
            return found

        return await self._call("list containers", run)

    # ---- logs

    def _read_logs(self, handle: StreamHandle, container_id: str, *, follow: bool,
                   since: str | None, tail: int | None) -> None:
        with _docker_errors(f"logs of {container_id}"):
            tty = bool((self._api.inspect_container(container_id).get("Config") or {}).get("Tty"))
            params: dict[str, Any] = {"stdout": 1, "stderr": 1, "follow": int(follow), "timestamps": 1,
                                      "tail": "all" if tail is None else str(tail)}
            if since is not None:
                params["since"] = since
            url = self._api._url("/containers/{0}/logs", container_id)
            # timeout=None: a quiet container must not turn into a read timeout.
            response = self._api._get(url, params=params, stream=True, timeout=None)
            handle.attach(response)
            self._api._raise_for_status(response)
            try:
                read_lines(log_batches(self._api, response, tty, follow), tty=tty, emit=handle.emit_many,
                           closed=lambda: handle.closed)
            except (ChunkedBodyError, ConnectionError) as exc:  # read from the connection itself
                raise EndpointError(f"logs of {container_id}: the connection to the Docker daemon broke"
                                    f" ({_first_line(exc)})") from None

    async def container_logs(
        self,
        container_id: str,
        *,
        on_line: OnLine,
        stop: asyncio.Event | None = None,
        since: datetime | None = None,
        follow: bool = True,
        drain_seconds: float = DRAIN_SECONDS,
    ) -> None:
        loop = asyncio.get_running_loop()
        cursor = LogCursor(on_line)
        start = None if since is None else _docker_timestamp(since)
        what = f"logs of {container_id}"
        await run_stream(StreamHandle(loop, cursor.deliver),
                         lambda h: self._read_logs(h, container_id, follow=follow, since=start, tail=None),
                         cancel=stop, step_timeout=None, what=what, quiet_cancel=True)
        if not follow or stop is None or not stop.is_set():
            return  # the stream ended by itself: the container stopped, all was sent
        # Told to stop while following: the daemon may have logged lines it had not sent
        # us yet. Ask once more, without following, from the last line delivered on.
        resume_at = cursor.resume() or start
        try:
            await run_stream(StreamHandle(loop, cursor.deliver_unseen),
                             lambda h: self._read_logs(h, container_id, follow=False, since=resume_at, tail=None),
                             cancel=None, step_timeout=drain_seconds, what=what)
        except NotFound:
            pass  # removed meanwhile: its output ends with what was delivered
        except StepTimeout:
            on_line(SYSTEM, f"output of {container_id[:12]} after this point was not collected "
                            f"(still reading after {drain_seconds:g} s)")

    async def tail_logs(self, container_id: str, n: int = 50) -> list[LogLine]:
        lines: list[LogLine] = []
        handle = StreamHandle.for_lines(asyncio.get_running_loop(),
                                        lambda stream, text: lines.append(LogLine(stream, text)))
        await run_stream(handle,
                         lambda h: self._read_logs(h, container_id, follow=False, since=None, tail=n),
                         cancel=None, step_timeout=30.0, what=f"logs of {container_id}")
        return lines  # delivered on the loop before the worker's completion was

    # ---- compose

    async def compose_up(self, project: ComposeProject, *, on_line: OnLine = discard_line,
                         cancel: CancelEvent | None = None, step_timeout: float | None = None) -> None:
        await self._compose.up(project, on_line=on_line, cancel=cancel, step_timeout=step_timeout)

    async def compose_down(self, project: ComposeProject, *, remove_volumes: bool = False,
                           on_line: OnLine = discard_line, cancel: CancelEvent | None = None,
                           step_timeout: float | None = None) -> None:
        await self._compose.down(project, remove_volumes=remove_volumes, on_line=on_line, cancel=cancel,
                                 step_timeout=step_timeout)
        # compose only removes what the given files declare; sweep by label whatever is
        # left (e.g. `down` without the original files, as v1 needs a file).
        await self._sweep_compose_project(project.name, remove_volumes, on_line)

    async def _sweep_compose_project(self, name: str, remove_volumes: bool, on_line: OnLine) -> None:
        label = {COMPOSE_PROJECT_LABEL: name}
        for container in await self.list_containers(label):
            on_line(SYSTEM, f"removing leftover container {container.name}")
            await self.remove_container(container.id, force=True)

        def sweep_networks_and_volumes() -> None:
            for network in self._api.networks(filters=_label_filter(label)):
                with contextlib.suppress(docker.errors.NotFound):
                    self._api.remove_network(network["Id"])
            if remove_volumes:
                for volume in (self._api.volumes(filters=_label_filter(label)) or {}).get("Volumes") or []:
                    with contextlib.suppress(docker.errors.NotFound):
                        self._api.remove_volume(volume["Name"], force=True)

        await self._call(f"compose down {name}", sweep_networks_and_volumes)

    async def compose_pull(self, project: ComposeProject, *, on_line: OnLine = discard_line,
                           cancel: CancelEvent | None = None, step_timeout: float | None = None) -> None:
        await self._compose.pull(project, on_line=on_line, cancel=cancel, step_timeout=step_timeout)

    async def compose_build(self, project: ComposeProject, *, on_line: OnLine = discard_line,
                            cancel: CancelEvent | None = None, step_timeout: float | None = None) -> None:
        await self._compose.build(project, on_line=on_line, cancel=cancel, step_timeout=step_timeout)

    async def compose_ps(self, project_name: str) -> list[ComposeContainer]:
        # By label rather than `compose ps`: same answer for v1 and v2, no files needed.
        containers = await self.list_containers({COMPOSE_PROJECT_LABEL: project_name})
        return [ComposeContainer(service=c.labels.get(COMPOSE_SERVICE_LABEL, ""), container=c)
                for c in containers if c.labels.get("com.docker.compose.oneoff", "False") != "True"]
