"""Registry credentials in the runner: which one a pull uses, how a refusal reads, and the
private Docker config compose gets.

The daemon answers a refused pull in several words depending on the registry and its own
version (`unauthorized: authentication required`, `no basic auth credentials`,
`denied: requested access to the resource is denied`, `pull access denied`, a 401 of the
token service); all of them mean "these credentials (or none) are not enough", which fails
the step with REGISTRY_AUTH naming the registry. The message is the daemon's, masked like every
other (it never holds the password: the daemon does not echo it).
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

from berth.domain.registry_credentials import RegistryAuth
from berth.models.enums import ErrorCode
from berth.runner.steps.context import StepFailure

_REFUSED = re.compile(
    r"unauthorized|authentication required|no basic auth credentials|access to the resource is denied"
    r"|pull access denied|401 unauthorized|status code 401|\b401\b.*(?:auth|token)|incorrect username or password",
    re.IGNORECASE,
)
CONFIG_DIR = "docker-config"


def is_auth_refusal(message: str) -> bool:
    return bool(_REFUSED.search(message))


def refused(registries: list[str], message: str, *, had_credentials: bool) -> StepFailure:
    """The step's failure for a pull a registry refused."""
    which = ", ".join(registries) or "the registry"
    given = ("the project's credentials for it were refused" if had_credentials
             else "the project has no credentials for it (createRegistryCredential)")
    return StepFailure(f"registry {which} refused the pull: {given}: {message}", ErrorCode.REGISTRY_AUTH)


def auth_configs(auths: Mapping[str, RegistryAuth]) -> dict[str, dict[str, str]]:
    return {registry: auth.auth_config() for registry, auth in auths.items()}


def write_docker_config(parent: Path, auths: Mapping[str, Mapping[str, str]], base_config: str | None) -> Path:
    """A Docker config dir of Berth's own under `parent` (a private temp dir that is removed
    after the command): config.json (0600) with exactly these auths, never ~/.docker's. The
    CLI plugins of `base_config` (where `docker compose` was found) are linked, not copied,
    so `docker compose` still answers there."""
    directory = parent / CONFIG_DIR
    directory.mkdir(mode=0o700)
    entries = {
        registry: {"auth": base64.b64encode(f"{auth['username']}:{auth['password']}".encode()).decode()}
        for registry, auth in auths.items()
    }
    if "docker.io" in entries:
        entries["https://index.docker.io/v1/"] = entries["docker.io"]  # the key the CLI looks up for Hub
    fd = os.open(directory / "config.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"auths": entries}, handle)
    if base_config:
        plugins = Path(base_config) / "cli-plugins"
        if plugins.is_dir():
            (directory / "cli-plugins").symlink_to(plugins, target_is_directory=True)
    return directory
