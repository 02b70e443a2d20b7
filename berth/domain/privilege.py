"""The privilege policy (CONTRACT §6): what only a server with `allowPrivileged` may run.

Privileged mode, host bind mounts, host namespaces, added capabilities, devices and every
other way to the host are refused — in a service's declared volumes and in its compose
content — unless the target server allows them. Compose content is judged against an
allow-list (berth.domain.compose_allowlist, listed in docs/privilege.md) after compose's
own interpolation with the variables Berth knows (berth.domain.compose_interpolation).

The checks work on plain data so the runner can apply the same policy to compose files
it finds at CLONE (`compose_violations`) and again to a frozen input before it replays one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from berth.domain import compose_allowlist
from berth.domain.compose_interpolation import interpolate_document, known_env
from berth.domain.errors import ErrorList, FieldPath
from berth.domain.validation import VolumeMount, parse_compose, parse_volume

POLICY_HINT = "needs a target server with allowPrivileged"
# The variable a start with `imageTag` sets for compose (berth.domain.views.IMAGE_TAG_VARIABLE).
_IMAGE_TAG_VARIABLE = "BERTH_IMAGE_TAG"


@dataclass(frozen=True)
class Violation:
    """`where` is a location inside the input (e.g. "services.web.privileged"), "" for the field itself."""

    where: str
    what: str

    def message(self) -> str:
        prefix = f"{self.where}: " if self.where else ""
        return f"{prefix}{self.what} {POLICY_HINT}"


def volume_violation(mount: VolumeMount | str) -> str | None:
    if isinstance(mount, VolumeMount) and mount.host_bind:
        return f"host bind mount of {mount.source}"
    return None


def compose_services(document: Mapping[str, Any]) -> set[str]:
    services = document.get("services")
    return {str(name) for name in services} if isinstance(services, dict) else set()


def compose_violations(
    document: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    sibling_services: Iterable[str] = (),
) -> list[Violation]:
    """Everything in a parsed compose document that the policy reserves for privileged servers.

    `env`: the service's plain variables (what compose interpolates with; any other
    variable counts as unknown). `sibling_services`: services of the project's other
    files, which `service:` references may name.
    """
    return [Violation(found.where, found.what) for found in _judge(document, env, sibling_services).found]


def compose_paths(
    document: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    sibling_services: Iterable[str] = (),
) -> list[compose_allowlist.PathRef]:
    """The relative paths (build contexts, Dockerfiles, env files, secret and config files…)
    that the policy let through as text: the runner resolves them in the checkout, where a
    symlink may still lead outside it. Arguments as for `compose_violations`."""
    return _judge(document, env, sibling_services).paths


def _judge(document: Mapping[str, Any], env: Mapping[str, str] | None,
           sibling_services: Iterable[str]) -> compose_allowlist.Context:
    variables = known_env(env or {})
    resolved = interpolate_document(dict(document), variables)
    services = compose_services(document) | set(sibling_services)
    return compose_allowlist.judge(resolved, services, variables)


def env_of_specs(env: Iterable[Any]) -> dict[str, str]:
    """The plain variables of EnvVarSpecs (secret values are never used by the policy)."""
    return {item.key: item.value for item in env if not item.secret}


def env_of_stored(env: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """The plain variables of a stored or frozen env list."""
    return {str(item["key"]): str(item["value"]) for item in env
            if not item.get("secret") and item.get("value") is not None}


def frozen_env(frozen: Mapping[str, Any]) -> dict[str, str]:
    """What compose interpolates with for a frozen input, as far as Berth knows it."""
    values = env_of_stored(frozen.get("env") or [])
    override = frozen.get("imageOverride") or {}
    if override.get("variable") and override.get("tag"):
        values[str(override["variable"])] = str(override["tag"])
    return values


def check_source(
    volumes: Sequence[str] | None,
    compose_document: dict[str, Any] | None,
    path: FieldPath,
    allow_privileged: bool,
    env: Mapping[str, str] | None = None,
) -> ErrorList:
    """INVALID_INPUT per violation, at the offending field under `path` (the source's path)."""
    errors = ErrorList()
    if allow_privileged:
        return errors
    for index, volume in enumerate(volumes or []):
        if problem := volume_violation(parse_volume(volume)):
            errors.add([*path, "volumes", str(index)], f"{problem} {POLICY_HINT}")
    for violation in compose_violations(compose_document, env) if compose_document is not None else []:
        errors.add([*path, "composeContent"], violation.message())
    return errors


def frozen_input_violations(frozen: dict[str, Any]) -> list[Violation]:
    """The policy applied to a frozen input (before it is queued again, e.g. by a rollback)."""
    found: list[Violation] = []
    for index, volume in enumerate(frozen.get("volumes") or []):
        if problem := volume_violation(parse_volume(volume)):
            found.append(Violation(f"volumes[{index}]", problem))
    documents = []
    for file in frozen.get("composeFiles") or []:
        content = file.get("content") if isinstance(file, dict) else None
        if content:
            document = parse_compose(content)
            if isinstance(document, str):
                found.append(Violation(str(file.get("path") or ""), f"compose content that {document}, so it"))
            else:
                documents.append(document)
    services = set().union(*(compose_services(document) for document in documents))
    env = frozen_env(frozen)
    for document in documents:
        found.extend(compose_violations(document, env, services))
    return found
