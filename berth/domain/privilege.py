"""The privilege policy (CONTRACT §6): what only a server with `allowPrivileged` may run.

Privileged mode, host bind mounts, host namespaces (network, PID, and their IPC/UTS/user
siblings), added capabilities and devices are refused — in a service's declared volumes
and in its compose content — unless the target server allows them. The checks work on
plain data so the runner can apply the same policy to compose files it finds at CLONE
(`compose_violations`) and again to a frozen input before it replays one.

Values that compose would interpolate (`${VAR}`) are refused wherever the policy looks:
the variable could turn a named volume into a host path after this check ran.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from berth.domain.errors import ErrorList, FieldPath
from berth.domain.validation import VolumeMount, parse_compose, parse_volume

POLICY_HINT = "needs a target server with allowPrivileged"

# service key -> what it grants when set to "host"
_HOST_NAMESPACES = {
    "network_mode": "host network",
    "pid": "host PID namespace",
    "ipc": "host IPC namespace",
    "uts": "host UTS namespace",
    "userns_mode": "host user namespace",
}
# service keys that grant something whenever they are non-empty
_GRANTS = {
    "cap_add": "added capabilities",
    "devices": "devices",
    "device_cgroup_rules": "device access rules",
}


@dataclass(frozen=True)
class Violation:
    """`where` is a location inside the input (e.g. "services.web.privileged"), "" for the field itself."""

    where: str
    what: str

    def message(self) -> str:
        prefix = f"{self.where}: " if self.where else ""
        return f"{prefix}{self.what} {POLICY_HINT}"


def _mapping(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _interpolated(value: Any) -> bool:
    return isinstance(value, str) and "$" in value


def _host_path(path: str) -> bool:
    """Compose and Docker read a volume source as a host path when it looks like one."""
    return path.startswith(("/", ".", "~")) or _interpolated(path)


def _escapes(path: Any) -> bool:
    """A file reference that reaches outside the deployment's own directory."""
    if not isinstance(path, str):
        return False
    return path.startswith(("/", "~")) or ".." in path.split("/") or _interpolated(path)


def volume_violation(mount: VolumeMount | str) -> str | None:
    if isinstance(mount, VolumeMount) and mount.host_bind:
        return f"host bind mount of {mount.source}"
    return None


def _compose_volume_violations(where: str, volumes: Any) -> list[Violation]:
    found: list[Violation] = []
    for index, volume in enumerate(volumes if isinstance(volumes, list) else []):
        location = f"{where}.volumes[{index}]"
        if isinstance(volume, str):
            source = volume.split(":", 1)[0] if ":" in volume else ""
            if source and _host_path(source):
                found.append(Violation(location, "host bind mount"))
        elif isinstance(volume, dict):
            kind = volume.get("type", "volume")
            long_source = volume.get("source")
            if kind in ("bind", "npipe") or _interpolated(kind) or (
                isinstance(long_source, str) and kind == "volume" and _host_path(long_source)
            ):
                found.append(Violation(location, "host bind mount"))
    return found


def _service_violations(name: str, service: dict[str, Any]) -> list[Violation]:
    where = f"services.{name}"
    found: list[Violation] = []
    privileged = service.get("privileged")
    if privileged is True or _interpolated(privileged) or str(privileged).lower() == "true":
        found.append(Violation(f"{where}.privileged", "privileged mode"))
    for key, grant in _HOST_NAMESPACES.items():
        value = service.get(key)
        if value == "host" or _interpolated(value):
            found.append(Violation(f"{where}.{key}", grant))
    for key, grant in _GRANTS.items():
        if service.get(key):
            found.append(Violation(f"{where}.{key}", grant))
    for option in service.get("security_opt") or []:
        if isinstance(option, str) and ("unconfined" in option or _interpolated(option)):
            found.append(Violation(f"{where}.security_opt", "unconfined security profile"))
    found.extend(_compose_volume_violations(where, service.get("volumes")))
    env_files = service.get("env_file")
    for entry in env_files if isinstance(env_files, list) else [env_files]:
        path = entry.get("path") if isinstance(entry, dict) else entry
        if _escapes(path):
            found.append(Violation(f"{where}.env_file", "reading a host file"))
    build = service.get("build")
    context = build.get("context") if isinstance(build, dict) else build
    if _escapes(context):
        found.append(Violation(f"{where}.build", "building from a host directory"))
    extends = service.get("extends")
    if isinstance(extends, dict) and _escapes(extends.get("file")):
        found.append(Violation(f"{where}.extends", "reading a host file"))
    return found


def compose_violations(document: dict[str, Any]) -> list[Violation]:
    """Everything in a parsed compose document that the policy reserves for privileged servers."""
    found: list[Violation] = []
    for name, service in _mapping(document.get("services")).items():
        if isinstance(service, dict):
            found.extend(_service_violations(str(name), service))
    # A "named" volume can still be a bind mount of a host directory through driver options.
    for name, volume in _mapping(document.get("volumes")).items():
        options = _mapping(volume).get("driver_opts")
        if isinstance(options, dict):
            mount_options = str(options.get("o", ""))
            device = options.get("device")
            if "bind" in mount_options or _interpolated(mount_options) or (
                isinstance(device, str) and _host_path(device)
            ):
                found.append(Violation(f"volumes.{name}.driver_opts", "host bind mount"))
    for section in ("secrets", "configs"):
        for name, entry in _mapping(document.get(section)).items():
            if isinstance(entry, dict) and _escapes(entry.get("file")):
                found.append(Violation(f"{section}.{name}.file", "reading a host file"))
    includes = document.get("include")
    for index, entry in enumerate(includes if isinstance(includes, list) else []):
        paths = entry.get("path") if isinstance(entry, dict) else entry
        for path in paths if isinstance(paths, list) else [paths]:
            if _escapes(path):
                found.append(Violation(f"include[{index}]", "reading a host file"))
    return found


def check_source(
    volumes: Sequence[str] | None,
    compose_document: dict[str, Any] | None,
    path: FieldPath,
    allow_privileged: bool,
) -> ErrorList:
    """INVALID_INPUT per violation, at the offending field under `path` (the source's path)."""
    errors = ErrorList()
    if allow_privileged:
        return errors
    for index, volume in enumerate(volumes or []):
        if problem := volume_violation(parse_volume(volume)):
            errors.add([*path, "volumes", str(index)], f"{problem} {POLICY_HINT}")
    for violation in compose_violations(compose_document) if compose_document is not None else []:
        errors.add([*path, "composeContent"], violation.message())
    return errors


def frozen_input_violations(frozen: dict[str, Any]) -> list[Violation]:
    """The policy applied to a frozen input (before it is queued again, e.g. by a rollback)."""
    found: list[Violation] = []
    for index, volume in enumerate(frozen.get("volumes") or []):
        if problem := volume_violation(parse_volume(volume)):
            found.append(Violation(f"volumes[{index}]", problem))
    for file in frozen.get("composeFiles") or []:
        content = file.get("content") if isinstance(file, dict) else None
        if content:
            document = parse_compose(content)
            if isinstance(document, dict):
                found.extend(compose_violations(document))
    return found
