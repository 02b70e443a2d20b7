"""Drive `docker compose` (the v2+ CLI plugin), falling back to `docker-compose` (v1).

Every command gets the rendered files from a private temp dir (0700, files 0600),
always `-p PROJECT`, and the project's variables through the child's environment only:
they may be secrets, and a command line is visible to every user of the host.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from berth.domain.compose_env import interpolation_variables
from berth.runner.docker_api import (
    SYSTEM,
    CancelEvent,
    ComposeError,
    ComposeProject,
    OnLine,
    discard_line,
)
from berth.runner.process import minimal_env, run_process
from berth.runner.registry_auth import write_docker_config

PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
DETECT_TIMEOUT = 20.0
# A file that declares nothing: lets compose, which insists on a file, run `down` on a
# project whose files we no longer have (`--remove-orphans` then removes everything).
# v1 needs the `version` key to read `services` as the v3 layout; v2+ warns that it is
# obsolete, naming our temp file, in the deployment's log: it gets the file without.
_EMPTY_PROJECT_V1 = 'version: "3.8"\nservices: {}\n'
_EMPTY_PROJECT = "services: {}\n"

# What detection found, per distinct answer-deciding environment (see _detection_key):
# which compose is installed does not change under a running process, but the Docker
# config dir a child is given (DOCKER_CONFIG, where `docker` looks for CLI plugins) may
# differ between endpoints, and does between tests.
_detected: dict[tuple[str | None, ...], list[str]] = {}


def _detection_key(env: Mapping[str, str]) -> tuple[str | None, ...]:
    """What decides detection's answer in the child environment `env`: the `docker` and
    `docker-compose` binaries its PATH resolves to, and the Docker config dir (plugins).

    Not PATH itself: an SSH endpoint prepends a private dir holding only its `ssh`
    wrapper, which would make every endpoint a new key.
    """
    path = env.get("PATH")
    config = env.get("DOCKER_CONFIG") or (str(Path(env["HOME"]) / ".docker") if env.get("HOME") else None)
    return shutil.which("docker", path=path), shutil.which("docker-compose", path=path), config


async def detect_compose_command(env: Mapping[str, str] | None = None) -> list[str]:
    """["docker", "compose"] when the v2+ plugin answers in the child environment made
    from `env` (endpoint variables over ours), else ["docker-compose"] (v1).

    Detected once per process for each distinct `_detection_key`.
    """
    child_env = minimal_env(env)
    key = _detection_key(child_env)
    cached = _detected.get(key)
    if cached is not None:
        return list(cached)
    docker, docker_compose, _ = key
    found: list[str] | None = None
    if docker:
        result = await run_process(["docker", "compose", "version"], env=child_env, check=False,
                                   step_timeout=DETECT_TIMEOUT, what="docker compose version")
        if result.returncode == 0:
            found = ["docker", "compose"]
    if found is None and docker_compose:
        found = ["docker-compose"]
    if found is None:
        raise ComposeError("neither `docker compose` nor `docker-compose` is installed", returncode=-1)
    _detected[key] = found
    return list(found)


def _write_files(directory: Path, files: Mapping[str, str], command: Sequence[str]) -> list[Path]:
    if not files:
        files = {"compose.yaml": _EMPTY_PROJECT_V1 if command == ["docker-compose"] else _EMPTY_PROJECT}
    paths = []
    for name, content in files.items():
        if not _FILE_NAME.match(name):
            raise ComposeError(f"invalid compose file name {name!r}", returncode=-1)
        path = directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        paths.append(path)
    return paths


def compose_process_env(variables: Mapping[str, str], endpoint_env: Mapping[str, str]) -> dict[str, str]:
    """The compose process's environment: the project's variables whose names are not
    reserved (berth.domain.compose_env), then the runner's basics and the endpoint's
    variables (DOCKER_HOST and its TLS files, the ssh wrapper's PATH) over them.

    A service's env fills in `${VAR}`; it never steers compose, the docker CLI or what
    they run. Dropping the reserved names (rather than only letting ours win) also keeps
    out those the runner does not set itself, such as COMPOSE_FILE or LD_PRELOAD.
    """
    return {**interpolation_variables(variables), **minimal_env(endpoint_env)}


def pullable_services(project: ComposeProject) -> list[str] | None:
    """Active services without `build:`, or None when the files cannot be read here.

    v1 would otherwise try to pull a built service's `image:` name and fail. Naming the
    services is also how both versions are told to skip the others; profiles are
    applied first because a service named on the command line starts regardless.
    """
    merged: dict[str, dict[str, Any]] = {}
    try:
        for content in project.files.values():
            document = yaml.safe_load(content) or {}
            for name, config in (document.get("services") or {}).items():
                merged.setdefault(str(name), {}).update(config or {})
    except (yaml.YAMLError, AttributeError, TypeError):
        return None  # compose itself will say what is wrong with the file
    active = set(project.profiles)
    return [name for name, config in merged.items()
            if "build" not in config and (not config.get("profiles") or active & set(config["profiles"]))]


class ComposeCli:
    def __init__(self, env: Mapping[str, str] | None = None, command: Sequence[str] | None = None) -> None:
        """env: the endpoint's variables (DOCKER_HOST, TLS/SSH settings); command: skip detection."""
        self._endpoint_env = dict(env or {})
        self._command = list(command) if command else None

    async def command(self) -> list[str]:
        if self._command is None:
            self._command = await detect_compose_command(self._endpoint_env)
        return list(self._command)

    async def up(self, project: ComposeProject, *, on_line: OnLine = discard_line,
                 cancel: CancelEvent | None = None, step_timeout: float | None = None) -> None:
        await self.run(project, ["up", "-d", "--remove-orphans"], on_line=on_line, cancel=cancel,
                       step_timeout=step_timeout)

    async def down(self, project: ComposeProject, *, remove_volumes: bool = False,
                   on_line: OnLine = discard_line, cancel: CancelEvent | None = None,
                   step_timeout: float | None = None) -> None:
        args = ["down", "--remove-orphans"] + (["--volumes"] if remove_volumes else [])
        await self.run(project, args, on_line=on_line, cancel=cancel, step_timeout=step_timeout)

    async def pull(self, project: ComposeProject, *, on_line: OnLine = discard_line,
                   cancel: CancelEvent | None = None, step_timeout: float | None = None) -> None:
        """Pull the images of services that are not built here (BUILD makes those)."""
        services = pullable_services(project)
        if services == []:
            on_line(SYSTEM, "compose pull: every service is built, nothing to pull")
            return
        await self.run(project, ["pull", *(services or [])], on_line=on_line, cancel=cancel,
                       step_timeout=step_timeout)

    async def build(self, project: ComposeProject, *, on_line: OnLine = discard_line,
                    cancel: CancelEvent | None = None, step_timeout: float | None = None) -> None:
        await self.run(project, ["build"], on_line=on_line, cancel=cancel, step_timeout=step_timeout)

    async def run(self, project: ComposeProject, args: Sequence[str], *, on_line: OnLine = discard_line,
                  cancel: CancelEvent | None = None, step_timeout: float | None = None) -> None:
        """Run one compose subcommand for `project`; raises ComposeError/Canceled/StepTimeout."""
        if not PROJECT_NAME.match(project.name):
            raise ComposeError(f"invalid compose project name {project.name!r}", returncode=-1)
        command = await self.command()
        with tempfile.TemporaryDirectory(prefix="berth-compose-") as tmp:  # mkdtemp: mode 0700
            paths = _write_files(Path(tmp), project.files, command)
            argv = [*command, "--ansi", "never", "-p", project.name]
            for path in paths:
                argv += ["-f", str(path)]
            if project.project_dir is not None:
                argv += ["--project-directory", str(project.project_dir)]
            for profile in project.profiles:
                argv += ["--profile", profile]
            argv += list(args)
            # Shown without the temp paths, which mean nothing to a reader of the log.
            on_line(SYSTEM, f"{' '.join(command)} -p {project.name} {' '.join(args)}")
            env = compose_process_env(project.env, self._endpoint_env)
            if project.registry_auths:
                # Pulls and builds authenticate with the project's credentials only, from a
                # config in this command's private temp dir (removed with it).
                base = _detection_key(env)[2]
                env["DOCKER_CONFIG"] = str(write_docker_config(Path(tmp), project.registry_auths, base))
            await run_process(argv, env=env, cwd=project.project_dir or tmp, on_line=on_line,
                              cancel=cancel, step_timeout=step_timeout, what=f"compose {args[0]}",
                              error_cls=ComposeError)
