"""Which variables of a COMPOSE service's env may reach the compose process: the reserved keys.

Compose interpolates `${VAR}` from its process environment, but that environment also
steers compose and everything it runs: the docker CLI (`DOCKER_CONFIG` picks the CLI
plugins, i.e. the program that runs; `DOCKER_HOST` the daemon), compose itself
(`COMPOSE_FILE`, `COMPOSE_ENV_FILES`, `COMPOSE_PROJECT_NAME`, `COMPOSE_PROFILES`…),
buildx and BuildKit, ssh and git (remote endpoints, git build contexts), the dynamic
loader, Python (compose v1), shells, and the runner's own basics (`PATH`, `HOME`, locale).
A service variable with such a name would steer the runner instead of filling in a value,
so those names are reserved — one list, here:

- the runner builds the compose process's environment from its own basics and the
  endpoint's variables, and adds only the service's unreserved variables
  (berth.runner.compose_cli);
- the privilege policy interpolates only with the unreserved ones
  (berth.domain.compose_interpolation), so it judges what compose will see;
- createService/updateService refuse reserved keys in a COMPOSE service's env at input
  (berth.domain.validation.validate_env). IMAGE and DOCKERFILE services may use them:
  there the env reaches only the container.

Names are compared case-insensitively: several programs read both `HTTP_PROXY` and
`http_proxy`, and refusing `Path` as well costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

# prefix -> why; the longest matching prefix is the one reported.
_RESERVED_PREFIXES: dict[str, str] = {
    "DOCKER_": "DOCKER_* variables steer the docker CLI (DOCKER_CONFIG picks the plugins that run, "
               "DOCKER_HOST and DOCKER_CERT_PATH the daemon and its credentials)",
    "COMPOSE_": "COMPOSE_* variables steer compose itself (its files, env files, project name and profiles)",
    "BUILDKIT_": "BUILDKIT_* variables steer the builds compose runs",
    "BUILDX_": "BUILDX_* variables pick the builder and its configuration",
    "LD_": "LD_* variables make the dynamic loader load other code into the runner's programs",
    "DYLD_": "DYLD_* variables make the dynamic loader load other code into the runner's programs",
    "GLIBC_": "GLIBC_* variables change how the C library runs the runner's programs",
    "MALLOC_": "MALLOC_* variables change how the C library runs the runner's programs",
    "PYTHON": "PYTHON* variables make Python (compose v1) run other code",
    "GIT_": "GIT_* variables steer git (compose may build from git contexts)",
    "SSH_": "SSH_* variables steer ssh (the connection to remote servers)",
    "XDG_": "XDG_* variables move the configuration the runner's programs read",
    "BASH_": "BASH_* variables make shells run other code",
    "OTEL_": "OTEL_* variables send the docker CLI's and compose's telemetry elsewhere",
    "SSL_": "SSL_* variables change which certificates the runner trusts",
    "OPENSSL_": "OPENSSL_* variables change how the runner's programs use TLS",
    "LC_": "the runner sets the locale of its programs",
}

_PROCESS = "it steers the processes the runner starts"
_RESERVED_NAMES: dict[str, str] = {
    "PATH": "PATH decides which programs the runner starts",
    "HOME": "HOME decides which configuration (docker, ssh, git) the runner's programs read",
    "USER": "the runner sets its own identity", "LOGNAME": "the runner sets its own identity",
    "SHELL": _PROCESS, "ENV": "ENV makes shells run other code", "IFS": _PROCESS, "CDPATH": _PROCESS,
    "PS4": _PROCESS, "SHELLOPTS": _PROCESS,
    "TMPDIR": "the runner's programs keep private files in its temp directory",
    "TMP": "the runner's programs keep private files in its temp directory",
    "TEMP": "the runner's programs keep private files in its temp directory",
    "LANG": "the runner sets the locale of its programs", "LANGUAGE": "the runner sets the locale of its programs",
    "TZ": "the runner sets the time zone of its programs", "TZDIR": _PROCESS,
    "GCONV_PATH": "GCONV_PATH makes the C library load other code", "LOCPATH": _PROCESS, "NLSPATH": _PROCESS,
    "HOSTALIASES": "it changes how the runner resolves host names",
    "RES_OPTIONS": "it changes how the runner resolves host names",
    "LOCALDOMAIN": "it changes how the runner resolves host names",
    "GODEBUG": "it changes how compose and the docker CLI (Go programs) run", "GOTRACEBACK": _PROCESS,
    "GOMAXPROCS": _PROCESS, "GOGC": _PROCESS, "GOMEMLIMIT": _PROCESS,
    "HTTP_PROXY": "proxy variables send the runner's traffic elsewhere",
    "HTTPS_PROXY": "proxy variables send the runner's traffic elsewhere",
    "ALL_PROXY": "proxy variables send the runner's traffic elsewhere",
    "FTP_PROXY": "proxy variables send the runner's traffic elsewhere",
    "NO_PROXY": "proxy variables send the runner's traffic elsewhere",
    "REQUESTS_CA_BUNDLE": "it changes which certificates the runner trusts",
    "CURL_CA_BUNDLE": "it changes which certificates the runner trusts",
}


def reserved_reason(key: str) -> str | None:
    """Why `key` may not reach the compose process, or None when it may."""
    name = key.upper()
    if name in _RESERVED_NAMES:
        return _RESERVED_NAMES[name]
    matching = [prefix for prefix in _RESERVED_PREFIXES if name.startswith(prefix)]
    return _RESERVED_PREFIXES[max(matching, key=len)] if matching else None


def is_reserved(key: str) -> bool:
    return reserved_reason(key) is not None


def reserved_key_problem(key: str) -> str | None:
    """What createService/updateService say about a reserved key in a COMPOSE service's env."""
    why = reserved_reason(key)
    if why is None:
        return None
    return (f"{key} is reserved in the env of a COMPOSE service: {why}, so the runner never passes it "
            "to compose; set a container's variable in the compose file's `environment:` instead")


# Compose also reads its own settings from the `.env` file of the project directory (v1
# DOCKER_HOST and the TLS ones too, both COMPOSE_PROFILES…): a repository's `.env` may set
# no name of these families. Other names there only feed interpolation.
_DOTENV_SETTINGS = ("DOCKER_", "COMPOSE_")


def steers_compose_from_dotenv(key: str) -> bool:
    return key.upper().startswith(_DOTENV_SETTINGS)


def interpolation_variables(values: Mapping[str, str]) -> dict[str, str]:
    """The variables of a service that the compose process gets (for interpolation only)."""
    return {key: value for key, value in values.items() if not is_reserved(key)}


def reserved_keys_listing() -> str:
    """The reserved names and prefixes, as docs/privilege.md lists them."""
    prefixes = ", ".join(f"`{prefix}*`" for prefix in sorted(_RESERVED_PREFIXES))
    names = ", ".join(f"`{name}`" for name in sorted(_RESERVED_NAMES))
    return f"Prefixes: {prefixes}.\n\nNames: {names}."
