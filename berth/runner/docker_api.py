"""The seam between runner logic and Docker: one async protocol, its data and its errors.

The runner only talks to `DockerApi`. `docker_engine.DockerEngine` implements it over
docker-py and the compose CLI; `docker_fake.FakeDocker` implements it in memory for
fast unit tests. Nothing here imports docker-py, so importing the vocabulary is cheap.

Conventions shared by every implementation:

* Long operations stream what they print through `on_line(stream, text)`, where
  stream is one of `STDOUT`, `STDERR`, `SYSTEM`, always called on the event loop.
* Cancellation is an `asyncio.Event`: once set, the operation stops what it started
  (closes the stream, kills the child process group) and raises `Canceled` within a
  few seconds. A `step_timeout` raises `StepTimeout` the same way. Cancelling the awaiting
  task (e.g. `asyncio.wait_for`) also stops the work, raising `CancelledError` as usual.
* Failures are typed (`DockerOperationError`, `NotFound`, `CommandFailed`, ...) and
  carry the daemon's or the command's own message, never a library traceback.
"""

from __future__ import annotations

import asyncio
import calendar
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol, TypeVar, runtime_checkable

from berth.domain.grammars import GrammarError, PortMapping, VolumeMount, parse_port, parse_volume

STDOUT = "STDOUT"
STDERR = "STDERR"
SYSTEM = "SYSTEM"

OnLine = Callable[[str, str], None]
"""`on_line(stream, text)`: one line of output, without its line ending."""

CancelEvent = asyncio.Event


def discard_line(stream: str, text: str) -> None:
    """An `on_line` for callers that do not want the output."""


# --------------------------------------------------------------------------- errors


class RunnerError(Exception):
    """Base of every error raised through the seam; `str(err)` is fit for a user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class Canceled(RunnerError):
    """The operation was stopped because its cancel event was set."""


class StepTimeout(RunnerError):
    """The operation was stopped because it ran past its deadline."""

    def __init__(self, message: str, timeout: float) -> None:
        super().__init__(message)
        self.timeout = timeout


class DockerOperationError(RunnerError):
    """The daemon refused or failed an operation; the message is the daemon's."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class NotFound(DockerOperationError):
    """The container, image or volume does not exist."""


class EndpointError(DockerOperationError):
    """The Docker endpoint cannot be reached or its credentials are unusable."""


class CommandFailed(RunnerError):
    """A child process (git, compose) exited non-zero; `output_tail` has its last lines."""

    def __init__(self, message: str, *, returncode: int, output_tail: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.returncode = returncode
        self.output_tail = list(output_tail)


class ComposeError(CommandFailed):
    """`docker compose` / `docker-compose` failed."""


class GitError(CommandFailed):
    """`git` failed (clone, checkout, unknown ref)."""


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class EngineVersion:
    version: str
    api_version: str
    os: str = ""
    arch: str = ""


@dataclass(frozen=True)
class PullResult:
    image_ref: str
    image_id: str
    digest: str | None
    """`sha256:…` manifest digest; None for images that have no registry digest."""
    repo_digest: str | None
    """`repository@sha256:…`, pullable later to get exactly this image (rollback)."""


@dataclass(frozen=True)
class ImageInfo:
    id: str
    tags: tuple[str, ...] = ()
    repo_digests: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    has_healthcheck: bool = False
    exposed_ports: tuple[str, ...] = ()
    created: str = ""


@dataclass(frozen=True)
class VolumeInfo:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    driver: str = "local"


@dataclass(frozen=True)
class NetworkInfo:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ContainerSpec:
    """What `run_container` creates and starts.

    ports and volumes are the strings a service declares (`berth.domain.grammars`, the
    one parser the API validated them with): "127.0.0.1:8080:80", "[::1]::80/udp";
    "data:/var/lib/data:ro", "/srv/www:/www:ro" (host binds pass the privilege policy first).
    """

    name: str
    image: str
    command: Sequence[str] | None = None
    env: Mapping[str, str] = field(default_factory=dict, repr=False)  # may hold secrets
    ports: Sequence[str] = ()
    volumes: Sequence[str] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    restart_policy: str = "unless-stopped"
    """`no`, `always`, `unless-stopped`, `on-failure` or `on-failure:N`."""
    network: str | None = None
    memory_bytes: int = 0
    """HostConfig.Memory; 0: no limit (likewise nano_cpus and pids_limit)."""
    nano_cpus: int = 0
    pids_limit: int = 0

    def port_mappings(self) -> list[PortMapping]:
        return port_mappings(self.ports)

    def volume_mounts(self) -> list[VolumeMount]:
        return [volume_mount(spec) for spec in self.volumes]


T = TypeVar("T")


def _parsed(parse: Callable[[str], T], spec: str, what: str) -> T:
    try:
        return parse(spec)
    except GrammarError as exc:
        # Validated input never gets here; a hand-made ContainerSpec might.
        raise DockerOperationError(f"invalid {what}: {exc}") from None


def port_mappings(specs: Sequence[str]) -> list[PortMapping]:
    return [_parsed(parse_port, spec, "port mapping") for spec in specs]


def volume_mount(spec: str) -> VolumeMount:
    """A named volume or host bind of a frozen input; anonymous volumes are not run."""
    mount = _parsed(parse_volume, spec, "volume")
    if mount.source is None:
        raise DockerOperationError("invalid volume: anonymous volumes are not supported")
    return mount


@dataclass(frozen=True)
class PortBinding:
    container_port: int
    protocol: str
    host_ip: str
    host_port: int


@dataclass(frozen=True)
class ContainerInfo:
    id: str
    name: str
    image: str
    """The reference the container was created from (Config.Image)."""
    image_id: str
    state: str
    """Docker's status: created, running, restarting, paused, exited, dead, removing."""
    health: str | None
    """starting / healthy / unhealthy, or None when the image has no HEALTHCHECK."""
    exit_code: int
    restart_count: int
    ip_address: str | None
    ports: tuple[PortBinding, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    started_at: str = ""
    finished_at: str = ""
    error: str = ""
    health_output: str | None = None
    """Output of the latest health probe, for error messages."""
    memory_bytes: int = 0
    """HostConfig's limits as the daemon reports them (0: none); the observer compares them."""
    nano_cpus: int = 0
    pids_limit: int = 0

    @property
    def running(self) -> bool:
        return self.state == "running"


@dataclass(frozen=True)
class LogLine:
    stream: str
    text: str


@dataclass(frozen=True)
class ComposeProject:
    """A compose project as the runner renders it.

    files: file name -> rendered content, passed with `-f` in order; written to a
    private temp dir for each command. project_dir: base for relative paths such as
    `build:` contexts (the clone), else the temp dir. env: variables for interpolation,
    given through the child's environment only (they may be secrets). Neither is in the
    repr: Berth's own file carries the service's env as the containers' environment.
    """

    name: str
    files: Mapping[str, str] = field(repr=False)
    profiles: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    project_dir: Path | None = None
    registry_auths: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)
    """{registry: auth_config} compose pulls and builds with (a private Docker config per command)."""

    @classmethod
    def from_checkout(cls, name: str, checkout: Path, file_paths: Sequence[str], *,
                      profiles: Sequence[str] = (), env: Mapping[str, str] | None = None) -> ComposeProject:
        """The files of a repository checkout, e.g. ["deploy/compose.yaml"].

        As compose itself would, relative paths resolve against the first file's folder.
        """
        if not file_paths:
            raise ValueError("a compose project needs at least one file")
        files: dict[str, str] = {}
        for relative in file_paths:
            path = checkout / relative
            if path.name in files:
                raise ValueError(f"two compose files are named {path.name!r}")
            files[path.name] = path.read_text(encoding="utf-8")
        return cls(name=name, files=files, profiles=tuple(profiles), env=dict(env or {}),
                   project_dir=(checkout / file_paths[0]).parent)


@dataclass(frozen=True)
class ExecResult:
    """A command run inside a container (`exec_in_container`)."""

    exit_code: int
    output: str
    """stdout and stderr together, decoded."""


@dataclass(frozen=True)
class ComposeContainer:
    service: str
    container: ContainerInfo


_DOCKER_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)")


def docker_time_ns(text: str) -> int | None:
    """A time as the daemon writes it (RFC 3339, up to nanoseconds, trailing zeros of the
    fraction dropped: texts do not sort as times) -> nanoseconds since the epoch."""
    match = _DOCKER_TIME.fullmatch(text)
    if match is None:
        return None
    fraction, zone = match.group(7), match.group(8)
    # Every line carries a stamp and consecutive lines share their second: computed once.
    seconds = _epoch_seconds(text[:19], zone)
    return seconds * 1_000_000_000 + (int(fraction.ljust(9, "0")) if fraction else 0)


@functools.lru_cache(maxsize=256)
def _epoch_seconds(whole: str, zone: str) -> int:
    """'YYYY-MM-DDTHH:MM:SS' in `zone` ('Z' or ±HH:MM) -> seconds since the epoch."""
    year, month, day = int(whole[0:4]), int(whole[5:7]), int(whole[8:10])
    hour, minute, second = int(whole[11:13]), int(whole[14:16]), int(whole[17:19])
    seconds = calendar.timegm((year, month, day, hour, minute, second))
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds


# --------------------------------------------------------------------------- protocol


@runtime_checkable
class DockerApi(Protocol):
    """Everything the runner does to a Docker host. All methods are coroutines."""

    async def version(self) -> EngineVersion: ...

    async def pull(
        self,
        image_ref: str,
        *,
        on_line: OnLine = discard_line,
        cancel: CancelEvent | None = None,
        step_timeout: float | None = None,
        auth_config: Mapping[str, str] | None = None,
    ) -> PullResult: ...

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
        """Build `context_dir` and tag it; returns the image id. `registry_auths`:
        {registry: auth_config} for the `FROM` pulls (these only, never ~/.docker's)."""
        ...

    async def inspect_image(self, ref: str) -> ImageInfo: ...

    async def list_images(self, labels: Mapping[str, str | None] | None = None) -> list[ImageInfo]: ...

    async def remove_image(self, ref: str, *, force: bool = False) -> bool:
        """Remove an image; False when it was not there."""
        ...

    async def tag_image(self, source: str, target: str) -> None: ...

    async def create_volume(self, name: str, labels: Mapping[str, str] | None = None) -> VolumeInfo: ...

    async def volume_exists(self, name: str) -> bool: ...

    async def inspect_volume(self, name: str) -> VolumeInfo | None:
        """The volume with its labels; None when there is none of that name."""
        ...

    async def list_volumes(self, labels: Mapping[str, str | None] | None = None) -> list[VolumeInfo]:
        """Volumes carrying every label (value None: the key alone)."""
        ...

    async def remove_volume(self, name: str) -> bool:
        """Remove a volume; False when it was not there. A volume in use is refused
        (`DockerOperationError`): data a running container holds is never removed here."""
        ...

    async def list_networks(self, labels: Mapping[str, str | None] | None = None) -> list[NetworkInfo]:
        """Networks carrying every label (value None: the key alone)."""
        ...

    async def remove_idle_networks(self, labels: Mapping[str, str | None]) -> list[str]:
        """Remove the networks carrying every label that no container is attached to
        (compose projects' networks); returns the names removed."""
        ...

    async def run_container(self, spec: ContainerSpec) -> str:
        """Create and start; returns the id. On a failed start nothing is left behind."""
        ...

    async def start_container(self, container_id: str) -> None: ...

    async def stop_container(self, container_id: str, *, grace_seconds: int = 10) -> None: ...

    async def remove_container(self, container_id: str, *, force: bool = False) -> bool:
        """Remove a container; False when it was not there."""
        ...

    async def inspect_container(self, container_id: str) -> ContainerInfo: ...

    async def list_containers(
        self, labels: Mapping[str, str | None] | None = None, *, all: bool = True
    ) -> list[ContainerInfo]:
        """Containers carrying every label (value None: the key alone)."""
        ...

    async def container_logs(
        self,
        container_id: str,
        *,
        on_line: OnLine,
        stop: asyncio.Event | None = None,
        since: datetime | None = None,
        follow: bool = True,
        drain_seconds: float = 10.0,
    ) -> None:
        """Stream the container's stdout/stderr lines until it exits or `stop` is set.

        Setting `stop` is the normal way to end following, so it returns quietly, but
        only after delivering every line the container had written by then (for at most
        `drain_seconds`, after which a SYSTEM line says the rest was not collected).
        """
        ...

    async def tail_logs(self, container_id: str, n: int = 50) -> list[LogLine]: ...

    # Exec, file copy and networks: what the per-server proxy needs (berth.runner.proxy),
    # all through the Docker API so they work alike on unix, tcp+TLS and ssh endpoints.

    async def exec_in_container(
        self, container_id: str, command: Sequence[str], *, step_timeout: float = 30.0
    ) -> ExecResult:
        """Run `command` in a running container and wait for it (at most `step_timeout` s:
        `StepTimeout`); a non-zero exit is returned, not raised."""
        ...

    async def put_file(self, container_id: str, path: str, content: bytes, *, mode: int = 0o644) -> None:
        """Write `content` to the absolute `path` inside the container (its folder is made)."""
        ...

    async def ensure_network(self, name: str, labels: Mapping[str, str] | None = None) -> None:
        """A bridge network of that name, created with `labels` when there is none."""
        ...

    async def compose_up(
        self,
        project: ComposeProject,
        *,
        on_line: OnLine = discard_line,
        cancel: CancelEvent | None = None,
        step_timeout: float | None = None,
    ) -> None: ...

    async def compose_down(
        self,
        project: ComposeProject,
        *,
        remove_volumes: bool = False,
        on_line: OnLine = discard_line,
        cancel: CancelEvent | None = None,
        step_timeout: float | None = None,
    ) -> None: ...

    async def compose_pull(
        self,
        project: ComposeProject,
        *,
        on_line: OnLine = discard_line,
        cancel: CancelEvent | None = None,
        step_timeout: float | None = None,
    ) -> None: ...

    async def compose_build(
        self,
        project: ComposeProject,
        *,
        on_line: OnLine = discard_line,
        cancel: CancelEvent | None = None,
        step_timeout: float | None = None,
    ) -> None: ...

    async def compose_ps(self, project_name: str) -> list[ComposeContainer]: ...

    async def close(self) -> None: ...


COMPOSE_PROJECT_LABEL = "com.docker.compose.project"
COMPOSE_SERVICE_LABEL = "com.docker.compose.service"
