"""Input validation (CONTRACT §6): every rule that can be checked before anything is stored.

Checks are plain functions returning a problem message (or None) so the runner can reuse
them (e.g. on compose files it finds at CLONE); the `validate_*` functions walk a whole
spec and collect every problem with its GraphQL field path into an `ErrorList`.
Messages describe the rule, never echo secret material.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from berth.domain import grammars
from berth.domain.compose_env import reserved_key_problem
from berth.domain.compose_yaml import ComposeYamlError, load_compose_yaml
from berth.domain.errors import ErrorList, FieldPath
from berth.domain.grammars import GrammarError, VolumeKind, VolumeMount, hostname_ok
from berth.domain.limits import (
    MAX_COMMAND_ARG,
    MAX_COMPOSE_CONTENT,
    MAX_DOCKER_HOST,
    MAX_ENV_KEY,
    MAX_ENV_VALUE,
    MAX_ENV_VARS,
    MAX_ENVIRONMENTS,
    MAX_GIT_REF,
    MAX_HEALTH_PATH,
    MAX_KEY_MATERIAL,
    MAX_LIST,
    MAX_PATH,
    MAX_PROFILE_NAME,
    MAX_REPOSITORY_URL,
    MAX_VOLUME_SPEC,
)
from berth.domain.routes import proxy_listen_problem
from berth.domain.specs import EnvVarSpec, HealthCheckSpec, ProjectSpec, ServerSpec, SourceSpec
from berth.models.enums import SourceType
from berth.settings import Settings

# ---------------------------------------------------------------- names

# At most 63 characters, by the pattern itself.
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def name_problem(value: str) -> str | None:
    if not DNS_LABEL.match(value or ""):
        return "must be 1–63 lowercase letters, digits or '-', starting and ending with a letter or digit"
    return None


def _too_long(value: str, limit: int) -> str | None:
    return f"must be at most {limit} characters" if len(value) > limit else None


# ---------------------------------------------------------------- image references


def image_reference_problem(reference: str) -> str | None:
    try:
        grammars.parse_image_reference(reference)
    except GrammarError as exc:
        return str(exc)
    return None


# ---------------------------------------------------------------- git

# git check-ref-format rules, plus no leading '-' so a ref can never become an option.
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


def git_ref_problem(ref: str) -> str | None:
    problem = "is not a valid git branch, tag or commit name"
    if not ref or len(ref) > MAX_GIT_REF or ref.startswith(("-", "/", ".")) or ref.endswith(("/", ".", ".lock")):
        return problem
    if _REF_FORBIDDEN.search(ref) or ".." in ref or "@{" in ref or "//" in ref or ref == "@":
        return problem
    if any(part.startswith(".") or part.endswith(".lock") for part in ref.split("/")):
        return problem
    return None


def git_url_problem(url: str, allow_file: bool) -> str | None:
    if problem := _too_long(url or "", MAX_REPOSITORY_URL):
        return problem
    try:
        grammars.parse_repository_url(url, allow_file)
    except GrammarError as exc:
        return str(exc)
    return None


def relative_path_problem(path: str) -> str | None:
    """Paths inside a repository: relative, no '..', no NUL (they must not escape the checkout)."""
    if not path or path.startswith(("/", "~", "-")) or "\x00" in path or "\\" in path:
        return "must be a relative path inside the repository"
    if any(part == ".." for part in path.split("/")):
        return "must not contain '..'"
    return _too_long(path, MAX_PATH)


# ---------------------------------------------------------------- ports and volumes

def port_problem(spec: str) -> str | None:
    try:
        grammars.parse_port(spec)
    except GrammarError as exc:
        return str(exc)
    return None


def parse_volume(spec: str) -> VolumeMount | str:
    """The parsed volume, or a problem message: a malformed spec, or one Berth does not run
    (anonymous volumes vanish with each deployment's new container)."""
    if problem := _too_long(spec or "", MAX_VOLUME_SPEC):
        return problem
    try:
        mount = grammars.parse_volume(spec)
    except GrammarError as exc:
        return str(exc)
    if mount.kind is VolumeKind.ANONYMOUS:
        return ("anonymous volumes are not supported: name the volume (name:/path) so its data "
                "outlives the deployment's container")
    return mount


# ---------------------------------------------------------------- compose

PROFILE_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


def parse_compose(content: str) -> dict[str, Any] | str:
    """The compose document as a mapping with a non-empty `services` mapping, or a problem."""
    if len(content.encode()) > MAX_COMPOSE_CONTENT:
        return f"compose content is larger than {MAX_COMPOSE_CONTENT} bytes ({MAX_COMPOSE_CONTENT // 1024} KiB)"
    try:
        document = load_compose_yaml(content)
    except ComposeYamlError as exc:
        return str(exc)
    if not isinstance(document, dict):
        return "compose content must be a YAML mapping"
    services = document.get("services")
    if not isinstance(services, dict) or not services:
        return "compose content needs a non-empty 'services' mapping"
    for name, service in services.items():
        if not isinstance(name, str) or not (service is None or isinstance(service, dict)):
            return "every entry of 'services' must be a named mapping"
    return document


def compose_profiles(document: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for service in document.get("services", {}).values():
        profiles = (service or {}).get("profiles") or []
        if isinstance(profiles, list):
            found.update(str(p) for p in profiles)
    return found


# ---------------------------------------------------------------- docker hosts

_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----")
_SSH_KEY = re.compile(
    r"-----BEGIN (OPENSSH|RSA|EC|DSA)? ?PRIVATE KEY-----[\s\S]+-----END \1 ?PRIVATE KEY-----"
)


def pem_problem(text: str, label: str) -> str | None:
    match = _PEM.search(text or "")
    if match is None or label not in match.group(1):
        return f"must be PEM ({label})"
    return None


def known_hosts_problem(text: str) -> str | None:
    if "\x00" in (text or ""):
        return "must not contain NUL"
    lines = [line.strip() for line in (text or "").splitlines()]
    entries = [line for line in lines if line and not line.startswith("#")]
    if not entries:
        return "must contain at least one known_hosts line"
    for entry in entries:
        fields = entry.split()
        if fields[0].startswith("@"):
            fields = fields[1:]
        if len(fields) < 3:
            return "every line must be 'host keytype base64-key'"
    return None


def docker_host_problem(url: str) -> str | None:
    usage = "must be unix:///path, tcp://host:port or ssh://user@host[:port]"
    if not url or any(ch.isspace() or not ch.isprintable() for ch in url):
        return usage
    if len(url) > MAX_DOCKER_HOST:
        return f"must be at most {MAX_DOCKER_HOST} characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return usage
    if parts.query or parts.fragment:
        return usage
    if parts.scheme == "unix":
        if parts.netloc or not parts.path.startswith("/") or ".." in parts.path.split("/"):
            return usage
        return None
    if parts.scheme == "tcp":
        if not parts.hostname or not hostname_ok(parts.hostname) or port in (None, 0) or parts.username:
            return usage
        return None if parts.path in ("", "/") else usage
    if parts.scheme == "ssh":
        if not parts.username or parts.password or not parts.hostname or not hostname_ok(parts.hostname):
            return usage
        if port == 0 or parts.path not in ("", "/"):
            return usage
        return None
    return usage


# ---------------------------------------------------------------- whole specs

def validate_server(spec: ServerSpec, path: FieldPath) -> ErrorList:
    errors = ErrorList()
    if problem := name_problem(spec.name):
        errors.add([*path, "name"], f"name {problem}")
    if problem := docker_host_problem(spec.docker_host):
        errors.add([*path, "dockerHost"], f"dockerHost {problem}")
        scheme = ""
    else:
        scheme = spec.docker_host.split("://", 1)[0]
    tls = {
        "tlsCaCert": (spec.tls_ca_cert, "CERTIFICATE"),
        "tlsClientCert": (spec.tls_client_cert, "CERTIFICATE"),
        "tlsClientKey": (spec.tls_client_key, "PRIVATE KEY"),
    }
    given = [field for field, (value, _) in tls.items() if value]
    if given and scheme and scheme != "tcp":
        errors.add([*path, given[0]], "TLS files apply to tcp:// endpoints only")
    elif given and len(given) != len(tls):
        missing = [field for field in tls if field not in given]
        errors.add([*path, missing[0]], "TLS needs tlsCaCert, tlsClientCert and tlsClientKey together")
    for field, value in (*((f, v) for f, (v, _) in tls.items()), ("sshPrivateKey", spec.ssh_private_key),
                         ("sshKnownHosts", spec.ssh_known_hosts)):
        if value and len(value) > MAX_KEY_MATERIAL:
            errors.add([*path, field], f"{field} must be at most {MAX_KEY_MATERIAL} characters")
    for field in given:
        value, label = tls[field]
        if problem := pem_problem(value or "", label):
            errors.add([*path, field], f"{field} {problem}")
    if scheme == "ssh":
        if not spec.ssh_known_hosts:
            errors.add([*path, "sshKnownHosts"], "ssh:// endpoints need sshKnownHosts to pin the host key")
        elif problem := known_hosts_problem(spec.ssh_known_hosts):
            errors.add([*path, "sshKnownHosts"], f"sshKnownHosts {problem}")
        if not spec.ssh_private_key:
            errors.add([*path, "sshPrivateKey"], "ssh:// endpoints need sshPrivateKey")
        elif not _SSH_KEY.search(spec.ssh_private_key):
            errors.add([*path, "sshPrivateKey"], "sshPrivateKey must be an OpenSSH or PEM private key")
    elif scheme:
        ssh_fields = (("sshPrivateKey", spec.ssh_private_key), ("sshKnownHosts", spec.ssh_known_hosts))
        for field, value in ssh_fields:
            if value:
                errors.add([*path, field], f"{field} applies to ssh:// endpoints only")
    if spec.proxy_listen is not None and (problem := proxy_listen_problem(spec.proxy_listen)):
        errors.add([*path, "proxyListen"], problem)
    _check_range(errors, [*path, "maxConcurrentDeployments"], spec.max_concurrent_deployments, 1, 100)
    _check_range(errors, [*path, "maxQueuedDeployments"], spec.max_queued_deployments, 1, 1000)
    return errors


def _check_range(errors: ErrorList, field: FieldPath, value: int | None, low: int, high: int) -> None:
    if value is not None and not low <= value <= high:
        errors.add(field, f"{field[-1]} must be between {low} and {high}")


def validate_project(spec: ProjectSpec, path: FieldPath) -> ErrorList:
    errors = ErrorList()
    if problem := name_problem(spec.name):
        errors.add([*path, "name"], f"name {problem}")
    environments = list(spec.environments or [])
    if len(environments) > MAX_ENVIRONMENTS:
        errors.add([*path, "environments"], f"at most {MAX_ENVIRONMENTS} environments")
    seen: set[str] = set()
    for index, environment in enumerate(environments):
        field = [*path, "environments", str(index)]
        if problem := name_problem(environment):
            errors.add(field, f"environment name {problem}")
        elif environment in seen:
            errors.add(field, f"environment {environment!r} is listed twice")
        seen.add(environment)
    return errors


# Which ServiceSourceInput fields each source type takes (all others are refused).
SOURCE_FIELDS: dict[SourceType, frozenset[str]] = {
    SourceType.IMAGE: frozenset({"image", "ports", "volumes", "command"}),
    SourceType.DOCKERFILE: frozenset(
        {"repository", "branch", "dockerfile", "buildContext", "ports", "volumes", "command"}
    ),
    SourceType.COMPOSE: frozenset(
        {"repository", "branch", "composeFiles", "composeContent", "composeProfiles"}
    ),
}


def source_fields(source: SourceSpec) -> dict[str, Any]:
    """The source as GraphQL-named fields (the stored form uses the same names)."""
    return {
        "image": source.image,
        "repository": source.repository,
        "branch": source.branch,
        "dockerfile": source.dockerfile,
        "buildContext": source.build_context,
        "composeFiles": list(source.compose_files) if source.compose_files is not None else None,
        "composeContent": source.compose_content,
        "composeProfiles": list(source.compose_profiles) if source.compose_profiles is not None else None,
        "ports": list(source.ports) if source.ports is not None else None,
        "volumes": list(source.volumes) if source.volumes is not None else None,
        "command": list(source.command) if source.command is not None else None,
    }


def source_type_of(value: SourceType | str) -> SourceType | None:
    try:
        return SourceType(str(value))
    except ValueError:
        return None


def validate_source(
    source: SourceSpec, path: FieldPath, settings: Settings
) -> tuple[ErrorList, dict[str, Any] | None]:
    """Problems of a declared source, and the parsed compose document when there is inline content."""
    errors = ErrorList()
    kind = source_type_of(source.type)
    if kind is None:
        errors.add([*path, "type"], "type must be COMPOSE, DOCKERFILE or IMAGE")
        return errors, None
    fields = source_fields(source)
    for field, value in fields.items():
        if value is not None and field not in SOURCE_FIELDS[kind]:
            errors.add([*path, field], f"{field} does not apply to {kind} sources")
    _check_lists(errors, path, fields)
    if kind is SourceType.IMAGE:
        if not source.image:
            errors.add([*path, "image"], "IMAGE sources need image")
        elif problem := image_reference_problem(source.image):
            errors.add([*path, "image"], f"image {problem}")
    if kind in (SourceType.DOCKERFILE, SourceType.COMPOSE):
        _check_repository(errors, path, source, kind, settings)
    document: dict[str, Any] | None = None
    if kind is SourceType.COMPOSE:
        document = _check_compose(errors, path, source)
    # Fields that do not apply to the type were refused above; only check the ones that do.
    _check_ports(errors, path, source.ports if "ports" in SOURCE_FIELDS[kind] else None)
    _check_volumes(errors, path, source.volumes if "volumes" in SOURCE_FIELDS[kind] else None)
    if source.command is not None and "command" in SOURCE_FIELDS[kind]:
        if not source.command:
            errors.add([*path, "command"], "command must not be empty when given")
        for index, arg in enumerate(source.command):
            if "\x00" in arg or len(arg) > MAX_COMMAND_ARG:
                errors.add([*path, "command", str(index)],
                           f"command arguments must be at most {MAX_COMMAND_ARG} characters without NUL")
    return errors, document


def _check_ports(errors: ErrorList, path: FieldPath, ports: Sequence[str] | None) -> None:
    # A host port named twice would fail when the container starts ("port is already allocated").
    # Host address None means every address, so it collides with any address.
    taken: dict[tuple[str, int], set[str | None]] = {}
    for index, port in enumerate(ports or []):
        field = [*path, "ports", str(index)]
        try:
            mapping = grammars.parse_port(port)
        except GrammarError as exc:
            errors.add(field, f"port {exc}")
            continue
        if mapping.host is None or (mapping.container.size == 1 and mapping.host.size > 1):
            continue  # Docker chooses the host port
        collides = False
        for number in range(mapping.host.start, mapping.host.end + 1):
            addresses = taken.setdefault((mapping.protocol, number), set())
            if None in addresses or mapping.host_ip in addresses or (mapping.host_ip is None and addresses):
                collides = True
            addresses.add(mapping.host_ip)
        if collides:
            errors.add(field, "port publishes a host port that another entry of ports already publishes")


def _check_volumes(errors: ErrorList, path: FieldPath, volumes: Sequence[str] | None) -> None:
    # Docker refuses two mounts at one container path ("Duplicate mount point").
    targets: set[str] = set()
    for index, volume in enumerate(volumes or []):
        parsed = parse_volume(volume)
        if isinstance(parsed, str):
            errors.add([*path, "volumes", str(index)], f"volume {parsed}")
        elif parsed.target.rstrip("/") in targets:
            errors.add([*path, "volumes", str(index)], "volume mounts at a container path another entry uses")
        else:
            targets.add(parsed.target.rstrip("/"))


def _check_lists(errors: ErrorList, path: FieldPath, fields: dict[str, Any]) -> None:
    for field in ("composeFiles", "composeProfiles", "ports", "volumes", "command"):
        value = fields[field]
        if value is not None and len(value) > MAX_LIST:
            errors.add([*path, field], f"at most {MAX_LIST} entries")


def _check_repository(
    errors: ErrorList, path: FieldPath, source: SourceSpec, kind: SourceType, settings: Settings
) -> None:
    if source.repository:
        if problem := git_url_problem(source.repository, settings.allow_file_repos):
            errors.add([*path, "repository"], f"repository {problem}")
    elif kind is SourceType.DOCKERFILE:
        errors.add([*path, "repository"], "DOCKERFILE sources need repository")
    elif source.repository is not None:
        errors.add([*path, "repository"], "repository must not be empty")
    if source.branch is not None:
        if not source.repository:
            errors.add([*path, "branch"], "branch needs repository")
        elif problem := git_ref_problem(source.branch):
            errors.add([*path, "branch"], f"branch {problem}")
    for field, value in (("dockerfile", source.dockerfile), ("buildContext", source.build_context)):
        if value is not None and kind is SourceType.DOCKERFILE and (problem := relative_path_problem(value)):
            errors.add([*path, field], f"{field} {problem}")


def _check_compose(errors: ErrorList, path: FieldPath, source: SourceSpec) -> dict[str, Any] | None:
    document: dict[str, Any] | None = None
    if source.repository:
        # Content comes from the repository and is validated by the runner at CLONE.
        if source.compose_content is not None:
            errors.add([*path, "composeContent"],
                       "give repository with composeFiles, or composeContent, not both")
        if not source.compose_files:
            errors.add([*path, "composeFiles"], "COMPOSE from a repository needs composeFiles")
        seen: set[str] = set()
        for index, file in enumerate(source.compose_files or []):
            if problem := relative_path_problem(file):
                errors.add([*path, "composeFiles", str(index)], f"compose file {problem}")
            elif file in seen:
                errors.add([*path, "composeFiles", str(index)], "compose file listed twice")
            seen.add(file)
    else:
        if source.compose_files is not None:
            errors.add([*path, "composeFiles"], "composeFiles needs repository (or use composeContent)")
        if not source.compose_content:
            errors.add([*path, "composeContent"], "COMPOSE sources need repository with composeFiles, "
                                                  "or composeContent")
        else:
            parsed = parse_compose(source.compose_content)
            if isinstance(parsed, str):
                errors.add([*path, "composeContent"], f"composeContent {parsed}")
            else:
                document = parsed
    available = compose_profiles(document) if document is not None else None
    for index, profile in enumerate(source.compose_profiles or []):
        field = [*path, "composeProfiles", str(index)]
        if not PROFILE_NAME.match(profile) or len(profile) > MAX_PROFILE_NAME:
            errors.add(field, f"profile names are up to {MAX_PROFILE_NAME} letters, digits, '_', '.' or '-'")
        elif available is not None and profile not in available:
            errors.add(field, f"profile {profile!r} is not used by any service in composeContent")
    return document


def validate_env(env: Sequence[EnvVarSpec], path: FieldPath, source_type: SourceType | None = None) -> ErrorList:
    """`source_type`: the service's; a COMPOSE service's env may not use the names reserved
    for the runner (berth.domain.compose_env), which would steer the compose process."""
    errors = ErrorList()
    if len(env) > MAX_ENV_VARS:
        errors.add(path, f"at most {MAX_ENV_VARS} environment variables")
    seen: set[str] = set()
    for index, variable in enumerate(env):
        field = [*path, str(index)]
        if not ENV_KEY.match(variable.key or "") or len(variable.key) > MAX_ENV_KEY:
            errors.add([*field, "key"], f"key must match [A-Za-z_][A-Za-z0-9_]* and be at most {MAX_ENV_KEY} characters")
        elif variable.key in seen:
            errors.add([*field, "key"], f"key {variable.key} is given twice")
        elif source_type is SourceType.COMPOSE and (problem := reserved_key_problem(variable.key)):
            errors.add([*field, "key"], problem)
        seen.add(variable.key)
        if len(variable.value) > MAX_ENV_VALUE or "\x00" in variable.value:
            # The message must not echo the value: it may be a secret.
            errors.add([*field, "value"], f"value must be at most {MAX_ENV_VALUE} characters without NUL")
    return errors


HEALTH_KINDS = ("HTTP", "TCP", "DOCKER")


def validate_health_check(spec: HealthCheckSpec, path: FieldPath, settings: Settings) -> ErrorList:
    errors = ErrorList()
    kind = (spec.kind or "").upper()
    if kind not in HEALTH_KINDS:
        errors.add([*path, "kind"], "kind must be HTTP, TCP or DOCKER")
    if kind in ("HTTP", "TCP"):
        if spec.port is None:
            errors.add([*path, "port"], f"{kind} health checks need port")
        elif not 1 <= spec.port <= 65535:
            errors.add([*path, "port"], "port must be between 1 and 65535")
    elif kind == "DOCKER" and spec.port is not None:
        errors.add([*path, "port"], "DOCKER health checks use the image's HEALTHCHECK and take no port")
    if spec.path is not None:
        if kind != "HTTP":
            errors.add([*path, "path"], "path applies to HTTP health checks only")
        elif (not spec.path.startswith("/") or len(spec.path) > MAX_HEALTH_PATH
              or any(ch.isspace() or not ch.isprintable() for ch in spec.path)):
            errors.add([*path, "path"], f"path must start with '/', be at most {MAX_HEALTH_PATH} characters "
                                        "and contain no whitespace or control characters")
    if spec.expected_status is not None:
        if kind != "HTTP":
            errors.add([*path, "expectedStatus"], "expectedStatus applies to HTTP health checks only")
        elif not spec.expected_status:
            errors.add([*path, "expectedStatus"], "expectedStatus must not be empty when given")
        elif any(not 100 <= code <= 599 for code in spec.expected_status):
            errors.add([*path, "expectedStatus"], "status codes must be between 100 and 599")
    timeout = (spec.timeout_seconds if spec.timeout_seconds is not None
               else settings.health_default_timeout_seconds)
    interval = (spec.interval_seconds if spec.interval_seconds is not None
                else settings.health_default_interval_seconds)
    _check_range(errors, [*path, "timeoutSeconds"], spec.timeout_seconds, 1, 3600)
    _check_range(errors, [*path, "intervalSeconds"], spec.interval_seconds, 1, 300)
    if 1 <= interval <= 300 and 1 <= timeout <= 3600 and interval > timeout:
        field = "intervalSeconds" if spec.interval_seconds is not None else "timeoutSeconds"
        errors.add([*path, field], "intervalSeconds must not exceed timeoutSeconds")
    return errors


def health_check_fields(spec: HealthCheckSpec, settings: Settings) -> dict[str, Any]:
    """The stored / `HealthCheckConfig` form, defaults filled in (the type's timeouts are non-null)."""
    return {
        "kind": spec.kind.upper(),
        "port": spec.port,
        "path": spec.path,
        "expectedStatus": list(spec.expected_status) if spec.expected_status is not None else None,
        "timeoutSeconds": spec.timeout_seconds or settings.health_default_timeout_seconds,
        "intervalSeconds": spec.interval_seconds or settings.health_default_interval_seconds,
    }
