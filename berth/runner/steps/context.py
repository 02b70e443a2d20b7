"""What every step of one deployment run shares: the records, the Docker connection, the
log, the cancel signal, the deadlines, and what the run has changed so far (for cleanup)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from berth.crypto import DecryptionError
from berth.domain.git_auth import GitCredentials, git_credentials
from berth.domain.names import deployment_name
from berth.domain.registry_credentials import RegistryAuth, credentials_for
from berth.domain.secrets import decrypt_json
from berth.models import Deployment, Environment, Project, Server, Service
from berth.models.enums import DeploymentConclusion, ErrorCode, StepKind
from berth.runner import labels
from berth.runner.docker_api import ContainerInfo, DockerApi
from berth.runner.log_writer import LogWriter, SecretMasker
from berth.runner.steps.output import OutputFollower
from berth.settings import Settings

OpenDocker = Callable[[Server], Awaitable[DockerApi]]

STEP_ERROR_CODES: dict[StepKind, ErrorCode] = {
    StepKind.CLONE: ErrorCode.CLONE_FAILED,
    StepKind.BUILD: ErrorCode.BUILD_FAILED,
    StepKind.PULL: ErrorCode.PULL_FAILED,
    StepKind.VOLUME: ErrorCode.VOLUME_FAILED,
    StepKind.START: ErrorCode.START_FAILED,
    StepKind.HEALTH: ErrorCode.HEALTH_FAILED,
    # FINALIZE does not fail a healthy deployment; this is only for the unexpected.
    StepKind.FINALIZE: ErrorCode.HEALTH_FAILED,
}


class StepFailure(Exception):
    """The running step failed; `code` defaults to the step's own error code."""

    def __init__(self, message: str, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class StepSkipped(Exception):
    """Raised by a step's `skip` check: the step does not apply to this deployment."""


@dataclass
class Records:
    deployment: Deployment
    service: Service
    server: Server
    project: Project
    environment: Environment
    previous: Deployment | None
    """The newest SUCCEEDED deployment of this one's lane (the service itself, or the same
    preview) before this one: what a rollback restores."""


async def load_records(deployment_id: int) -> Records:
    deployment = await Deployment.get(id=deployment_id)
    service = await Service.get(id=deployment.service_id)  # type: ignore[attr-defined]
    # The target as recorded on the deployment, even if the service has moved since.
    server = await Server.get(id=deployment.server_id)  # type: ignore[attr-defined]
    project = await Project.get(id=deployment.project_id)  # type: ignore[attr-defined]
    environment = await Environment.get(id=deployment.environment_id)  # type: ignore[attr-defined]
    previous = (
        await Deployment.filter(service_id=service.id, conclusion=DeploymentConclusion.SUCCEEDED,
                                preview_id=deployment.preview_id)
        .exclude(id=deployment.id)
        .order_by("-created_at", "-id")
        .first()
    )
    return Records(deployment, service, server, project, environment, previous)


def decrypt_secrets(ciphertext: str | None) -> dict[str, str]:
    if not ciphertext:
        return {}
    values = decrypt_json(ciphertext)
    return {str(key): str(value) for key, value in dict(values).items()}


def env_values(frozen: dict[str, Any], secrets: dict[str, str]) -> dict[str, str]:
    """The variables of a frozen input with the secret values filled back in."""
    values: dict[str, str] = {}
    for item in frozen.get("env") or []:
        key = str(item["key"])
        if item.get("secret"):
            if key in secrets:
                values[key] = secrets[key]
        elif item.get("value") is not None:
            values[key] = str(item["value"])
    return values


@dataclass
class RunContext:
    records: Records
    attempt: int
    settings: Settings
    log: LogWriter
    output: OutputFollower
    cancel: asyncio.Event
    open_docker: OpenDocker
    frozen: dict[str, Any]
    input: dict[str, Any]
    secrets: dict[str, str]
    secrets_error: str | None = None
    registry_auths: dict[str, RegistryAuth] = field(default_factory=dict, repr=False)
    git_credentials: GitCredentials | None = field(default=None, repr=False)
    """The service's gitAuth, decrypted, as it is when the deployment runs."""
    """The project's registry credentials by registry, as they are when the deployment runs
    (a replay uses today's password, not the one of its time)."""
    lost: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once a fenced write was refused (or the row says so): the deployment is not ours."""
    pending_updates: dict[str, Any] = field(default_factory=dict)
    """Record fields to write with the next step change (resolved digest, commit …)."""
    step: StepKind | None = None
    deploy_started: bool = False
    """START has begun: from here on, failing or canceling has containers to clean up."""
    volumes_created: bool = False
    """VOLUME went to create a volume: failing or canceling has volumes to remove."""
    volume_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    """COMPOSE: {volume key: Berth's labels on it}, as VOLUME found or made them; the
    override declares them so that compose sees no change."""
    new_containers: list[str] = field(default_factory=list)
    """Ids of the containers this run started (IMAGE / DOCKERFILE)."""
    stopped_old: list[str] = field(default_factory=list)
    """Ids of previous containers this run stopped (a fixed host port): put back on cancel."""
    checkout: Path | None = None
    built_image: str | None = None
    """Id of the image this run built (removed again when the deployment is canceled)."""
    replay_ready: bool = False
    """Replaying a build whose image is still on the server: nothing to clone or build."""
    deadline: float = 0.0
    _docker: DockerApi | None = None
    _workdir: Path | None = None

    # ---- identity

    @property
    def deployment(self) -> Deployment:
        return self.records.deployment

    @property
    def deployment_id(self) -> int:
        return int(self.records.deployment.id)

    @property
    def service(self) -> Service:
        return self.records.service

    @property
    def server(self) -> Server:
        return self.records.server

    @property
    def preview_id(self) -> int | None:
        """The preview this deployment runs in (its lane); None for the service itself."""
        return self.deployment.preview_id

    @property
    def pull_request(self) -> int | None:
        preview = self.frozen.get("preview") or {}
        number = preview.get("pullRequest")
        return int(number) if isinstance(number, int) else None

    @property
    def source_type(self) -> str:
        return str(self.frozen.get("sourceType") or self.service.source_type)

    def name_of(self, number: int) -> str:
        """A deployment of this service as a person reads it (`project/env/service #N`)."""
        return deployment_name(self.records.project.name, self.records.environment.name, self.service.name, number)

    def labels(self) -> dict[str, str]:
        return labels.deployment_labels(
            service_id=self.service.id,
            environment_id=self.records.environment.id,
            project_id=self.records.project.id,
            deployment_id=self.deployment_id,
            attempt=self.attempt,
            preview_id=self.preview_id,
        )

    def service_filter(self) -> dict[str, str | None]:
        """The lane's objects, and for the service itself its previews' too: keep those
        `labels.in_lane(…, ctx.preview_id)`."""
        return dict(labels.service_filter(self.service.id, self.records.environment.id, self.preview_id))

    @property
    def auto_rollback(self) -> bool:
        snapshot = self.deployment.config_snapshot or {}
        value = snapshot.get("autoRollback")
        return bool(self.service.auto_rollback if value is None else value)

    # ---- resources

    async def docker(self) -> DockerApi:
        """The target's Docker, connected on first use (EndpointError when unreachable)."""
        if self._docker is None:
            self._docker = await self.open_docker(self.server)
        return self._docker

    @property
    def docker_connected(self) -> bool:
        return self._docker is not None

    def env(self) -> dict[str, str]:
        if self.secrets_error:
            raise StepFailure(self.secrets_error)
        return env_values(self.frozen, self.secrets)

    def workdir(self) -> Path:
        """A private scratch directory for this run (clone, build context), removed at the end."""
        if self._workdir is None:
            root = self.settings.ensure_data_dir() / "work"
            root.mkdir(mode=0o700, exist_ok=True)
            path = root / f"deployment-{self.deployment_id}-{self.attempt}"
            shutil.rmtree(path, ignore_errors=True)  # a previous attempt's leftovers
            path.mkdir(mode=0o700)
            self._workdir = path
        return self._workdir

    async def close(self) -> None:
        if self._docker is not None:
            docker, self._docker = self._docker, None
            try:
                await docker.close()
            except Exception:  # closing a broken connection has nothing left to tell
                pass
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    # ---- deadlines

    def time_left(self) -> float:
        return self.deadline - asyncio.get_running_loop().time()

    def step_timeout(self, seconds: float) -> float:
        """The step's own deadline, cut short by the deployment's."""
        left = self.time_left()
        if left <= 0:
            raise StepFailure(
                f"the deployment ran past its {self.settings.step_deadlines.deployment:g} s deadline",
                ErrorCode.TIMEOUT,
            )
        return min(seconds, left)

    # ---- what the run resolved

    def record(self, **fields: Any) -> None:
        """Resolved values go into both the frozen input and the input (same names)."""
        for key, value in fields.items():
            self.frozen[key] = value
            if key in self.input:
                self.input[key] = value
        self.pending_updates["frozen_input"] = self.frozen
        self.pending_updates["input"] = self.input

    def record_frozen(self, **fields: Any) -> None:
        self.frozen.update(fields)
        self.pending_updates["frozen_input"] = self.frozen

    def record_preview_addresses(self, containers: Sequence[ContainerInfo]) -> list[str]:
        """A preview's deployment: where its published ports answer (the ephemeral loopback
        ports Docker chose), kept in `frozenInput.preview.addresses` for the preview to show."""
        preview = self.frozen.get("preview")
        if not isinstance(preview, dict):
            return []
        addresses = sorted({f"{port.host_ip or '127.0.0.1'}:{port.host_port}->{port.container_port}/{port.protocol}"
                            for container in containers for port in container.ports if port.host_port})
        self.record_frozen(preview={**preview, "addresses": addresses})
        return addresses

    def take_updates(self) -> dict[str, Any] | None:
        if not self.pending_updates:
            return None
        updates = {key: dict(value) if isinstance(value, dict) else value
                   for key, value in self.pending_updates.items()}
        self.pending_updates = {}
        return updates


async def new_context(
    deployment_id: int,
    attempt: int,
    settings: Settings,
    cancel: asyncio.Event,
    open_docker: OpenDocker,
) -> RunContext:
    records = await load_records(deployment_id)
    deployment = records.deployment
    secrets: dict[str, str] = {}
    secrets_error = None
    try:
        secrets = decrypt_secrets(deployment.frozen_secrets_enc)
    except (DecryptionError, ValueError, TypeError):
        secrets_error = ("the secret environment values cannot be decrypted "
                         "(BERTH_SECRET_KEY differs from the one they were stored with)")
    registry_auths: dict[str, RegistryAuth] = {}
    try:
        registry_auths = await credentials_for(records.project.id)
    except (DecryptionError, ValueError, TypeError):
        # Steps that need them fail as a refused pull would; the others do not need them.
        registry_auths = {}
    git: GitCredentials | None = None
    with contextlib.suppress(DecryptionError, ValueError, TypeError, KeyError):
        # Undecryptable: CLONE runs without, and fails as an unauthenticated clone would.
        git = git_credentials(records.service.git_auth)
    passwords = [auth.password for auth in registry_auths.values()] + (git.secrets() if git else [])
    log = LogWriter(deployment_id, attempt, SecretMasker([*secrets.values(), *passwords]))
    ctx = RunContext(
        records=records,
        attempt=attempt,
        settings=settings,
        log=log,
        output=OutputFollower(log),
        cancel=cancel,
        open_docker=open_docker,
        frozen=dict(deployment.frozen_input or {}),
        input=dict(deployment.input or {}),
        secrets=secrets,
        secrets_error=secrets_error,
        registry_auths=registry_auths,
        git_credentials=git,
        deadline=asyncio.get_running_loop().time() + settings.step_deadlines.deployment,
    )
    log.on_lost = ctx.lost.set
    return ctx
