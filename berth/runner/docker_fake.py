"""An in-memory `DockerApi` for unit tests of runner logic: no daemon, no threads.

It keeps images, containers and volumes in dicts and behaves like the engine where the
runner can tell: pulls of unknown images fail, fixed host ports conflict, names are
unique, `run_container` leaves nothing behind when it fails, compose projects become
labelled containers. Tests steer it:

    fake = FakeDocker()
    fake.add_remote_image("app:1", health="healthy", logs=["listening"])
    fake.fail("run_container", DockerOperationError("boom"))   # next call raises
    fake.delay("pull", 30)        # pull hangs 30 s unless canceled / timed out
    fake.set_state(container_id, state="exited", exit_code=1)

`calls` records (method, subject) pairs in order.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from berth.runner.docker_api import (
    COMPOSE_PROJECT_LABEL,
    COMPOSE_SERVICE_LABEL,
    STDOUT,
    SYSTEM,
    Canceled,
    CancelEvent,
    ComposeContainer,
    ComposeError,
    ComposeProject,
    ContainerInfo,
    ContainerSpec,
    DockerOperationError,
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
    port_mappings,
    volume_mount,
)


def _normalize(ref: str) -> str:
    """'app' -> 'app:latest'; digests and tags are kept."""
    last = ref.rsplit("/", 1)[-1]
    return ref if ("@" in ref or ":" in last) else f"{ref}:latest"


def _sha(*parts: object) -> str:
    return "sha256:" + hashlib.sha256("\0".join(map(str, parts)).encode()).hexdigest()


@dataclass
class FakeImage:
    id: str
    tags: set[str] = field(default_factory=set)
    repo_digests: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    health: str | None = None
    """Health its containers report: None (no HEALTHCHECK), healthy, unhealthy, starting."""
    exit_code: int | None = None
    """When set, its containers exit at once with this code."""
    logs: list[str] = field(default_factory=list)

    def info(self) -> ImageInfo:
        return ImageInfo(id=self.id, tags=tuple(sorted(self.tags)), repo_digests=tuple(self.repo_digests),
                         labels=dict(self.labels), has_healthcheck=self.health is not None)


@dataclass
class FakeContainer:
    id: str
    name: str
    image: str
    image_id: str
    labels: dict[str, str]
    env: dict[str, str]
    command: list[str] | None
    port_specs: list[str]
    volumes: list[str]
    ports: list[PortBinding] = field(default_factory=list)
    state: str = "created"
    health: str | None = None
    exit_code: int = 0
    restart_count: int = 0
    ip_address: str = ""
    logs: list[LogLine] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    restart_policy: str = "unless-stopped"
    memory_bytes: int = 0
    nano_cpus: int = 0
    pids_limit: int = 0

    def info(self) -> ContainerInfo:
        return ContainerInfo(id=self.id, name=self.name, image=self.image, image_id=self.image_id,
                             state=self.state, health=self.health if self.state == "running" else None,
                             exit_code=self.exit_code, restart_count=self.restart_count,
                             ip_address=self.ip_address or None, ports=tuple(self.ports),
                             labels=dict(self.labels), memory_bytes=self.memory_bytes,
                             nano_cpus=self.nano_cpus, pids_limit=self.pids_limit)


class FakeDocker:
    """In-memory implementation of `DockerApi`."""

    def __init__(self) -> None:
        self.images: dict[str, FakeImage] = {}
        self.registry: dict[str, FakeImage] = {}
        self.containers: dict[str, FakeContainer] = {}
        self.volumes: dict[str, VolumeInfo] = {}
        self.networks: dict[str, dict[str, str]] = {}  # name -> labels (compose projects')
        self.calls: list[tuple[str, str]] = []
        self.files: dict[tuple[str, str], bytes] = {}  # (container id, path) -> content (put_file)
        # Answers exec_in_container: (container, command) -> result; by default exit 0, no output.
        self.exec_handler: Callable[[FakeContainer, Sequence[str]], ExecResult] = (
            lambda container, command: ExecResult(0, ""))
        self._failures: dict[str, list[BaseException]] = {}
        self._delays: dict[str, float] = {}
        self._ids = itertools.count(1)
        self._host_ports = itertools.count(32768)
        self.closed = False

    # ---- steering

    def add_remote_image(self, ref: str, *, labels: Mapping[str, str] | None = None,
                         health: str | None = None, exit_code: int | None = None,
                         logs: Sequence[str] = ()) -> FakeImage:
        """An image a pull of `ref` will find."""
        ref = _normalize(ref)
        digest = _sha("manifest", ref)
        repo = ref.rsplit(":", 1)[0]
        image = FakeImage(id=_sha("image", ref), tags={ref}, repo_digests=[f"{repo}@{digest}"],
                          labels=dict(labels or {}), health=health, exit_code=exit_code, logs=list(logs))
        self.registry[ref] = image
        return image

    def add_local_image(self, ref: str, **kwargs: Any) -> FakeImage:
        """An image already on the host (as if pulled or built earlier)."""
        image = self.add_remote_image(ref, **kwargs)
        del self.registry[_normalize(ref)]
        self.images[image.id] = image
        return image

    def fail(self, method: str, error: BaseException, times: int = 1) -> None:
        """The next `times` calls of `method` raise `error`."""
        self._failures.setdefault(method, []).extend([error] * times)

    def delay(self, method: str, seconds: float) -> None:
        """Calls of `method` take `seconds` (until canceled or past their step_timeout)."""
        self._delays[method] = seconds

    def set_state(self, container_id: str, **changes: Any) -> None:
        """Change a container behind the runner's back (crash, health flip, restart)."""
        container = self._container(container_id)
        for key, value in changes.items():
            setattr(container, key, value)
        container.changed.set()

    def emit_log(self, container_id: str, text: str, stream: str = STDOUT) -> None:
        container = self._container(container_id)
        container.logs.append(LogLine(stream, text))
        container.changed.set()

    # ---- internals

    async def _enter(self, method: str, subject: str, cancel: CancelEvent | None = None,
                     step_timeout: float | None = None) -> None:
        self.calls.append((method, subject))
        failures = self._failures.get(method)
        if failures:
            raise failures.pop(0)
        seconds = self._delays.get(method)
        if not seconds:
            return
        waits = [seconds] + ([step_timeout] if step_timeout is not None else [])
        try:
            await asyncio.wait_for((cancel or asyncio.Event()).wait(), timeout=min(waits))
        except TimeoutError:
            if step_timeout is not None and step_timeout < seconds:
                message = f"{method} {subject} timed out after {step_timeout:g} s"
                raise StepTimeout(message, step_timeout) from None
            return
        raise Canceled(f"{method} {subject} was canceled")

    def _image(self, ref: str) -> FakeImage:
        if ref in self.images:
            return self.images[ref]
        wanted = _normalize(ref)
        for image in self.images.values():
            if wanted in image.tags or ref in image.repo_digests or image.id.startswith(ref):
                return image
        raise NotFound(f"inspect image {ref}: No such image: {ref}", status_code=404)

    def _container(self, ref: str) -> FakeContainer:
        for container in self.containers.values():
            if ref in (container.id, container.name) or (len(ref) >= 12 and container.id.startswith(ref)):
                return container
        raise NotFound(f"No such container: {ref}", status_code=404)

    def _bind_ports(self, specs: Sequence[str], owner: str = "") -> list[PortBinding]:
        bindings = []
        for mapping in port_mappings(specs):
            for publish in mapping.publishes():
                host_ip = publish.host_ip or "0.0.0.0"
                # A host range (one container port) takes its first port here: enough for a fake.
                host_port = int(publish.host_port.split("-")[0]) if publish.host_port else None
                if host_port is not None:
                    for other in self.containers.values():
                        if other.id != owner and other.state == "running" and any(
                                p.host_port == host_port for p in other.ports):
                            raise DockerOperationError(
                                f"driver failed programming external connectivity: Bind for "
                                f"{host_ip}:{host_port} failed: port is already allocated",
                                status_code=500)
                bindings.append(PortBinding(publish.container_port, publish.protocol, host_ip,
                                            host_port or next(self._host_ports)))
        return bindings

    def _start(self, container: FakeContainer) -> None:
        image = self.images.get(container.image_id)
        container.ports = self._bind_ports(container.port_specs, owner=container.id)
        container.ip_address = f"172.30.0.{int(container.id[-4:], 16) % 250 + 2}"
        if image is not None and image.exit_code is not None:
            container.state, container.exit_code = "exited", image.exit_code
        else:
            container.state = "running"
            container.health = image.health if image else None
        container.changed.set()

    # ---- DockerApi

    async def version(self) -> EngineVersion:
        await self._enter("version", "")
        return EngineVersion(version="20.10.0-fake", api_version="1.41", os="linux", arch="amd64")

    async def pull(self, image_ref: str, *, on_line: OnLine = discard_line, cancel: CancelEvent | None = None,
                   step_timeout: float | None = None,
                   auth_config: Mapping[str, str] | None = None) -> PullResult:
        await self._enter("pull", image_ref, cancel, step_timeout)
        ref = _normalize(image_ref)
        remote = self.registry.get(ref) or next(
            (img for img in self.registry.values() if image_ref in img.repo_digests), None)
        if remote is None:
            raise DockerOperationError(f"pull {image_ref} failed: manifest for {image_ref} not found: "
                                       f"manifest unknown", status_code=404)
        on_line(STDOUT, f"{ref.rsplit(':', 1)[-1]}: Pulling from {ref.rsplit(':', 1)[0]}")
        on_line(STDOUT, f"{remote.id[7:19]}: Pull complete")
        digest = remote.repo_digests[0].rpartition("@")[2]
        on_line(STDOUT, f"Digest: {digest}")
        on_line(STDOUT, f"Status: Downloaded newer image for {image_ref}")
        local = self.images.setdefault(remote.id, replace(remote, tags=set(),
                                                          repo_digests=list(remote.repo_digests)))
        if "@" not in image_ref:
            for other in self.images.values():
                other.tags.discard(ref)
            local.tags.add(ref)
        return PullResult(image_ref=image_ref, image_id=local.id, digest=digest,
                          repo_digest=remote.repo_digests[0])

    async def build(self, context_dir: Path, *, tag: str, dockerfile: str = "Dockerfile",
                    labels: Mapping[str, str] | None = None, build_args: Mapping[str, str] | None = None,
                    on_line: OnLine = discard_line, cancel: CancelEvent | None = None,
                    step_timeout: float | None = None,
                    registry_auths: Mapping[str, Mapping[str, str]] | None = None) -> str:
        await self._enter("build", tag, cancel, step_timeout)
        if not (Path(context_dir) / dockerfile).is_file():
            raise DockerOperationError(f"build {tag} failed: Cannot locate specified Dockerfile: "
                                       f"{dockerfile}")
        on_line(STDOUT, f"Step 1/1 : fake build of {context_dir}")
        image_id = _sha("build", tag, next(self._ids))
        for other in self.images.values():
            other.tags.discard(_normalize(tag))
        self.images[image_id] = FakeImage(id=image_id, tags={_normalize(tag)}, labels=dict(labels or {}))
        on_line(STDOUT, f"Successfully tagged {tag}")
        return image_id

    async def inspect_image(self, ref: str) -> ImageInfo:
        await self._enter("inspect_image", ref)
        return self._image(ref).info()

    async def list_images(self, labels: Mapping[str, str | None] | None = None) -> list[ImageInfo]:
        await self._enter("list_images", "")
        return [img.info() for img in self.images.values() if _labels_match(img.labels, labels)]

    async def remove_image(self, ref: str, *, force: bool = False) -> bool:
        await self._enter("remove_image", ref)
        try:
            image = self._image(ref)
        except NotFound:
            return False
        if not force and any(c.image_id == image.id for c in self.containers.values()):
            raise DockerOperationError(f"remove image {ref}: conflict: image is being used by a container",
                                       status_code=409)
        del self.images[image.id]
        return True

    async def tag_image(self, source: str, target: str) -> None:
        await self._enter("tag_image", f"{source} {target}")
        image = self._image(source)
        for other in self.images.values():
            other.tags.discard(_normalize(target))
        image.tags.add(_normalize(target))

    async def create_volume(self, name: str, labels: Mapping[str, str] | None = None) -> VolumeInfo:
        await self._enter("create_volume", name)
        return self.volumes.setdefault(name, VolumeInfo(name=name, labels=dict(labels or {})))

    async def volume_exists(self, name: str) -> bool:
        await self._enter("volume_exists", name)
        return name in self.volumes

    async def inspect_volume(self, name: str) -> VolumeInfo | None:
        await self._enter("inspect_volume", name)
        return self.volumes.get(name)

    async def list_volumes(self, labels: Mapping[str, str | None] | None = None) -> list[VolumeInfo]:
        await self._enter("list_volumes", "")
        return [v for v in self.volumes.values() if _labels_match(v.labels, labels)]

    async def remove_volume(self, name: str) -> bool:
        await self._enter("remove_volume", name)
        if name not in self.volumes:
            return False
        users = [c.name for c in self.containers.values()
                 if any(volume_mount(spec).source == name for spec in c.volumes)]
        if users:
            raise DockerOperationError(f"remove {name}: volume is in use - [{', '.join(users)}]", status_code=409)
        del self.volumes[name]
        return True

    async def list_networks(self, labels: Mapping[str, str | None] | None = None) -> list[NetworkInfo]:
        await self._enter("list_networks", "")
        return [NetworkInfo(name=name, labels=dict(network_labels))
                for name, network_labels in self.networks.items() if _labels_match(network_labels, labels)]

    async def remove_idle_networks(self, labels: Mapping[str, str | None]) -> list[str]:
        await self._enter("remove_idle_networks", "")
        removed = []
        for name, network_labels in list(self.networks.items()):
            project = network_labels.get(COMPOSE_PROJECT_LABEL)
            attached = any(c.labels.get(COMPOSE_PROJECT_LABEL) == project for c in self.containers.values())
            if _labels_match(network_labels, labels) and not attached:
                del self.networks[name]
                removed.append(name)
        return removed

    async def run_container(self, spec: ContainerSpec) -> str:
        await self._enter("run_container", spec.name)
        mounts = spec.volume_mounts()  # same refusals as the engine
        if any(c.name == spec.name for c in self.containers.values()):
            raise DockerOperationError(f'run container {spec.name}: Conflict. The container name '
                                       f'"/{spec.name}" is already in use', status_code=409)
        image = self._image(spec.image)
        container = FakeContainer(
            id=_sha("container", spec.name, next(self._ids))[7:], name=spec.name, image=spec.image,
            image_id=image.id, labels=dict(spec.labels), env=dict(spec.env),
            command=list(spec.command) if spec.command is not None else None,
            port_specs=list(spec.ports), volumes=list(spec.volumes),
            logs=[LogLine(STDOUT, line) for line in image.logs],
            restart_policy=spec.restart_policy, memory_bytes=spec.memory_bytes,
            nano_cpus=spec.nano_cpus, pids_limit=spec.pids_limit,
        )
        self._bind_ports(spec.ports)  # a conflict raises before anything is stored
        for mount in mounts:
            if mount.source is not None and not mount.host_bind:
                self.volumes.setdefault(mount.source, VolumeInfo(name=mount.source))
        self.containers[container.id] = container
        self._start(container)
        return container.id

    async def exec_in_container(self, container_id: str, command: Sequence[str], *,
                                step_timeout: float = 30.0) -> ExecResult:
        await self._enter("exec_in_container", container_id)
        container = self._container(container_id)
        if container.state != "running":
            raise DockerOperationError(f"exec in container {container.name}: container is not running",
                                       status_code=409)
        return self.exec_handler(container, list(command))

    async def put_file(self, container_id: str, path: str, content: bytes, *, mode: int = 0o644) -> None:
        await self._enter("put_file", path)
        self.files[(self._container(container_id).id, path)] = bytes(content)

    async def ensure_network(self, name: str, labels: Mapping[str, str] | None = None) -> None:
        await self._enter("ensure_network", name)
        self.networks.setdefault(name, dict(labels or {}))

    async def start_container(self, container_id: str) -> None:
        await self._enter("start_container", container_id)
        container = self._container(container_id)
        if container.state != "running":
            self._start(container)

    async def stop_container(self, container_id: str, *, grace_seconds: int = 10) -> None:
        await self._enter("stop_container", container_id)
        container = self._container(container_id)
        if container.state == "running":
            container.state, container.exit_code = "exited", 137 if grace_seconds == 0 else 0
            container.changed.set()

    async def remove_container(self, container_id: str, *, force: bool = False) -> bool:
        await self._enter("remove_container", container_id)
        try:
            container = self._container(container_id)
        except NotFound:
            return False
        if container.state == "running" and not force:
            raise DockerOperationError(f"remove container {container_id}: You cannot remove a running "
                                       f"container {container.id}. Stop the container before attempting "
                                       f"removal or force remove", status_code=409)
        container.state = "removing"
        container.changed.set()
        del self.containers[container.id]
        return True

    async def inspect_container(self, container_id: str) -> ContainerInfo:
        await self._enter("inspect_container", container_id)
        return self._container(container_id).info()

    async def list_containers(self, labels: Mapping[str, str | None] | None = None, *,
                              all: bool = True) -> list[ContainerInfo]:
        await self._enter("list_containers", "")
        return [c.info() for c in self.containers.values()
                if _labels_match(c.labels, labels) and (all or c.state == "running")]

    async def container_logs(self, container_id: str, *, on_line: OnLine, stop: asyncio.Event | None = None,
                             since: datetime | None = None, follow: bool = True,
                             drain_seconds: float = 10.0) -> None:
        await self._enter("container_logs", container_id)
        container = self._container(container_id)
        sent = 0
        while True:
            container.changed.clear()
            for line in container.logs[sent:]:
                on_line(line.stream, line.text)
            sent = len(container.logs)
            if not follow or container.state != "running" or container.id not in self.containers:
                return
            waiters = [asyncio.ensure_future(container.changed.wait())]
            if stop is not None:
                waiters.append(asyncio.ensure_future(stop.wait()))
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
            if stop is not None and stop.is_set():
                return

    async def tail_logs(self, container_id: str, n: int = 50) -> list[LogLine]:
        await self._enter("tail_logs", container_id)
        return list(self._container(container_id).logs[-n:]) if n else []

    # ---- compose

    def _services(self, project: ComposeProject) -> dict[str, dict[str, Any]]:
        services: dict[str, dict[str, Any]] = {}
        for name, content in project.files.items():
            try:
                document = yaml.safe_load(content) or {}
            except yaml.YAMLError as exc:
                raise ComposeError(f"compose: {name} is not valid YAML: {exc}", returncode=1) from None
            for service, config in (document.get("services") or {}).items():
                services.setdefault(service, {}).update(config or {})
        active = set(project.profiles)
        return {name: config for name, config in services.items()
                if not config.get("profiles") or active.intersection(config["profiles"])}

    def _service_image(self, project: ComposeProject, service: str, config: Mapping[str, Any]) -> str:
        return str(config.get("image") or f"{project.name}-{service}")

    async def compose_up(self, project: ComposeProject, *, on_line: OnLine = discard_line,
                         cancel: CancelEvent | None = None, step_timeout: float | None = None) -> None:
        await self._enter("compose_up", project.name, cancel, step_timeout)
        services = self._services(project)
        self.networks.setdefault(f"{project.name}_default", {COMPOSE_PROJECT_LABEL: project.name})
        for container in list(self.containers.values()):  # recreate, and remove orphans
            if container.labels.get(COMPOSE_PROJECT_LABEL) == project.name:
                del self.containers[container.id]
        for service, config in services.items():
            ref = self._service_image(project, service, config)
            try:
                self._image(ref)
            except NotFound:
                if "build" in config:
                    message = f"compose up failed: image {ref} was not built"
                    raise ComposeError(message, returncode=1) from None
                await self.pull(ref, on_line=on_line)
            labels = {**(config.get("labels") or {}), COMPOSE_PROJECT_LABEL: project.name,
                      COMPOSE_SERVICE_LABEL: service}
            spec = ContainerSpec(name=f"{project.name}-{service}-1", image=ref, labels=labels,
                                 ports=[str(p) for p in config.get("ports") or []],
                                 env={k: str(v) for k, v in (config.get("environment") or {}).items()}
                                 if isinstance(config.get("environment"), dict) else {})
            on_line(SYSTEM, f"Container {spec.name} Started")
            await self.run_container(spec)

    async def compose_down(self, project: ComposeProject, *, remove_volumes: bool = False,
                           on_line: OnLine = discard_line, cancel: CancelEvent | None = None,
                           step_timeout: float | None = None) -> None:
        await self._enter("compose_down", project.name, cancel, step_timeout)
        for container in list(self.containers.values()):
            if container.labels.get(COMPOSE_PROJECT_LABEL) == project.name:
                on_line(SYSTEM, f"Container {container.name} Removed")
                del self.containers[container.id]
        self.networks.pop(f"{project.name}_default", None)

    async def compose_pull(self, project: ComposeProject, *, on_line: OnLine = discard_line,
                           cancel: CancelEvent | None = None, step_timeout: float | None = None) -> None:
        await self._enter("compose_pull", project.name, cancel, step_timeout)
        for service, config in self._services(project).items():
            if "image" in config and "build" not in config:
                try:
                    await self.pull(str(config["image"]), on_line=on_line)
                except DockerOperationError as exc:
                    raise ComposeError(f"compose pull failed: {service}: {exc}", returncode=1) from None

    async def compose_build(self, project: ComposeProject, *, on_line: OnLine = discard_line,
                            cancel: CancelEvent | None = None, step_timeout: float | None = None) -> None:
        await self._enter("compose_build", project.name, cancel, step_timeout)
        for service, config in self._services(project).items():
            if "build" in config:
                ref = _normalize(self._service_image(project, service, config))
                image_id = _sha("compose-build", ref, next(self._ids))
                for other in self.images.values():
                    other.tags.discard(ref)
                self.images[image_id] = FakeImage(id=image_id, tags={ref})
                on_line(STDOUT, f"Successfully tagged {ref}")

    async def compose_ps(self, project_name: str) -> list[ComposeContainer]:
        await self._enter("compose_ps", project_name)
        return [ComposeContainer(service=c.labels[COMPOSE_SERVICE_LABEL], container=c.info())
                for c in self.containers.values() if c.labels.get(COMPOSE_PROJECT_LABEL) == project_name]

    async def close(self) -> None:
        self.closed = True


def _labels_match(have: Mapping[str, str], wanted: Mapping[str, str | None] | None) -> bool:
    return all(key in have and (value is None or have[key] == value) for key, value in (wanted or {}).items())
