"""Input validation (CONTRACT §6): every rule that can be checked before anything is stored.

Checks are plain functions returning a problem message (or None) so the runner can reuse
them (e.g. on compose files it finds at CLONE); the `validate_*` functions walk a whole
spec and collect every problem with its GraphQL field path into an `ErrorList`.
Messages describe the rule, never echo secret material.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from berth.domain.compose_env import reserved_key_problem
from berth.domain.compose_yaml import ComposeYamlError, load_compose_yaml
from berth.domain.errors import ErrorList, FieldPath
from berth.domain.specs import EnvVarSpec, HealthCheckSpec, ProjectSpec, ServerSpec, SourceSpec
from berth.models.enums import SourceType
from berth.settings import Settings

# ---------------------------------------------------------------- names

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_ENV_VARS = 500
MAX_ENV_VALUE = 64 * 1024
MAX_COMPOSE_CONTENT = 256 * 1024
MAX_LIST = 100


def name_problem(value: str) -> str | None:
    if not DNS_LABEL.match(value or ""):
        return "must be 1–63 lowercase letters, digits or '-', starting and ending with a letter or digit"
    return None


# ---------------------------------------------------------------- image references

# The Docker distribution reference grammar, sha256 digests only.
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"sha256:[a-f0-9]{64}"
IMAGE_REFERENCE = re.compile(
    rf"^(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$"
)
TAG = re.compile(rf"^{_TAG}$")
MAX_IMAGE_NAME = 255


def image_reference_problem(reference: str) -> str | None:
    match = IMAGE_REFERENCE.match(reference or "")
    if match is None:
        return ("is not an image reference: [registry[:port]/]name[:tag][@sha256:<64 hex>], "
                "lowercase name components")
    name_length = len(reference.split("@", 1)[0].rsplit(":", 1)[0])
    if name_length > MAX_IMAGE_NAME:
        return f"image name is longer than {MAX_IMAGE_NAME} characters"
    return None


def tag_problem(tag: str) -> str | None:
    if not TAG.match(tag or ""):
        return "is not an image tag: up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"
    return None


def split_image(reference: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest) of a valid reference; a ':' after the last '/' starts the tag,
    so a registry port is never mistaken for one."""
    name, _, digest = reference.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:], digest or None
    return name, None, digest or None


def with_tag(reference: str, tag: str) -> str:
    """The reference with its tag (and any digest) replaced by `tag`: an override names a tag,
    and keeping an old digest would pin the old image."""
    repository, _, _ = split_image(reference)
    return f"{repository}:{tag}"


# ---------------------------------------------------------------- git

# git check-ref-format rules, plus no leading '-' so a ref can never become an option.
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
MAX_REF = 255


def git_ref_problem(ref: str) -> str | None:
    problem = "is not a valid git branch, tag or commit name"
    if not ref or len(ref) > MAX_REF or ref.startswith(("-", "/", ".")) or ref.endswith(("/", ".", ".lock")):
        return problem
    if _REF_FORBIDDEN.search(ref) or ".." in ref or "@{" in ref or "//" in ref or ref == "@":
        return problem
    if any(part.startswith(".") or part.endswith(".lock") for part in ref.split("/")):
        return problem
    return None


_SCP_LIKE = re.compile(r"^(?P<user>[A-Za-z0-9._-]+)@(?P<host>[A-Za-z0-9.-]+):(?P<path>[^\s:][^\s]*)$")
_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")


def git_url_problem(url: str, allow_file: bool) -> str | None:
    allowed = "https://, ssh:// or user@host:path" + (", file://" if allow_file else "")
    if not url or url.startswith("-") or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return f"is not a git URL ({allowed})"
    if _SCP_LIKE.match(url) and "://" not in url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a non-numeric or out-of-range port
    except ValueError:
        return f"is not a git URL ({allowed})"
    scheme = parts.scheme.lower()
    if scheme == "file":
        if not allow_file:
            return "file:// repositories are disabled on this server (BERTH_ALLOW_FILE_REPOS)"
        if parts.netloc or not parts.path.startswith("/") or "/../" in parts.path + "/":
            return "file:// repository must be an absolute local path (file:///path)"
        return None
    if scheme not in ("https", "ssh"):
        return f"unsupported git URL scheme; use {allowed}"
    if not parts.hostname or not _hostname_ok(parts.hostname) or not parts.path.strip("/"):
        return "git URL needs a host and a repository path"
    if port == 0:
        return "git URL port must be 1–65535"
    if parts.password is not None:
        # It would be stored and shown in plaintext in the declared config.
        return "credentials in the repository URL are not accepted; use an ssh:// URL with a deploy key"
    return None


def _hostname_ok(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOSTNAME.match(host)) and len(host) <= 253


def relative_path_problem(path: str) -> str | None:
    """Paths inside a repository: relative, no '..', no NUL (they must not escape the checkout)."""
    if not path or path.startswith(("/", "~", "-")) or "\x00" in path or "\\" in path:
        return "must be a relative path inside the repository"
    if any(part == ".." for part in path.split("/")):
        return "must not contain '..'"
    return None


# ---------------------------------------------------------------- ports and volumes

def _port_number_ok(text: str) -> bool:
    return text.isascii() and text.isdigit() and 1 <= int(text) <= 65535


def port_problem(spec: str) -> str | None:
    """Docker's `[ip:][hostPort:]containerPort[/tcp|udp]`; `ip::containerPort` picks any host port."""
    usage = "must be [ip:][hostPort:]containerPort[/tcp|udp] with ports 1–65535"
    body, slash, protocol = (spec or "").partition("/")
    if slash and protocol not in ("tcp", "udp"):
        return usage
    ip: str | None = None
    if body.startswith("["):  # [IPv6]:hostPort:containerPort
        address, bracket, rest = body[1:].partition("]:")
        if not bracket:
            return usage
        ip, parts = address, rest.split(":")
        if len(parts) != 2:
            return usage
        host, container = parts
    else:
        parts = body.split(":")
        if len(parts) == 3:
            ip, host, container = parts
        elif len(parts) == 2:
            host, container = parts
            if not host:
                return usage
        elif len(parts) == 1:
            host, container = "", parts[0]
        else:
            return usage
    if ip is not None:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            return usage
    if host and not _port_number_ok(host):
        return usage
    return None if _port_number_ok(container) else usage


# Docker's volume name rule.
VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


@dataclass(frozen=True)
class VolumeMount:
    source: str
    target: str
    read_only: bool
    host_bind: bool


def parse_volume(spec: str) -> VolumeMount | str:
    """`name:/container/path[:ro|rw]`; a source that is a path (`/srv`, `./x`, `~/x`) is a
    host bind mount, which only the privilege policy may allow. Returns a problem message
    when the spec is malformed."""
    usage = "must be volume-name:/container/path[:ro|rw]"
    parts = (spec or "").split(":")
    if len(parts) not in (2, 3):
        return usage + " (anonymous volumes are not supported)"
    source, target = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else "rw"
    if mode not in ("ro", "rw"):
        return usage
    if not target.startswith("/") or "\x00" in target or any(p == ".." for p in target.split("/")):
        return "container path must be absolute without '..'"
    host_bind = source.startswith(("/", ".", "~"))
    if not host_bind and not VOLUME_NAME.match(source):
        return usage
    if host_bind and "\x00" in source:
        return usage
    return VolumeMount(source=source, target=target, read_only=mode == "ro", host_bind=host_bind)


# ---------------------------------------------------------------- compose

PROFILE_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


def parse_compose(content: str) -> dict[str, Any] | str:
    """The compose document as a mapping with a non-empty `services` mapping, or a problem."""
    if len(content.encode()) > MAX_COMPOSE_CONTENT:
        return f"compose content is larger than {MAX_COMPOSE_CONTENT // 1024} KiB"
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


# The length of the `server.docker_host` column.
MAX_DOCKER_HOST = 512


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
        if not parts.hostname or not _hostname_ok(parts.hostname) or port in (None, 0) or parts.username:
            return usage
        return None if parts.path in ("", "/") else usage
    if parts.scheme == "ssh":
        if not parts.username or parts.password or not parts.hostname or not _hostname_ok(parts.hostname):
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
    if len(environments) > MAX_LIST:
        errors.add([*path, "environments"], f"at most {MAX_LIST} environments")
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
    ports = source.ports if "ports" in SOURCE_FIELDS[kind] else None
    for index, port in enumerate(ports or []):
        if problem := port_problem(port):
            errors.add([*path, "ports", str(index)], f"port {problem}")
    volumes = source.volumes if "volumes" in SOURCE_FIELDS[kind] else None
    for index, volume in enumerate(volumes or []):
        parsed = parse_volume(volume)
        if isinstance(parsed, str):
            errors.add([*path, "volumes", str(index)], f"volume {parsed}")
    if source.command is not None and "command" in SOURCE_FIELDS[kind]:
        if not source.command:
            errors.add([*path, "command"], "command must not be empty when given")
        elif any("\x00" in arg for arg in source.command):
            errors.add([*path, "command"], "command arguments must not contain NUL")
    return errors, document


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
        if not PROFILE_NAME.match(profile):
            errors.add(field, "profile names are letters, digits, '_', '.' or '-'")
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
        if not ENV_KEY.match(variable.key or ""):
            errors.add([*field, "key"], "key must match [A-Za-z_][A-Za-z0-9_]*")
        elif variable.key in seen:
            errors.add([*field, "key"], f"key {variable.key} is given twice")
        elif source_type is SourceType.COMPOSE and (problem := reserved_key_problem(variable.key)):
            errors.add([*field, "key"], problem)
        seen.add(variable.key)
        if len(variable.value) > MAX_ENV_VALUE or "\x00" in variable.value:
            # The message must not echo the value: it may be a secret.
            errors.add([*field, "value"], f"value must be at most {MAX_ENV_VALUE // 1024} KiB without NUL")
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
        elif not spec.path.startswith("/") or any(ch.isspace() or not ch.isprintable() for ch in spec.path):
            errors.add([*path, "path"], "path must start with '/' and contain no whitespace or control characters")
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
