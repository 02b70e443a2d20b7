"""What a compose document may use on a server without `allowPrivileged`: an allow-list.

Every key compose knows — top level, per service, per build, per top-level network,
volume, secret and config — has a rule: allowed, allowed once a check passes, or only
for privileged servers. A key that is not listed is refused by name: a key compose
learns tomorrow may grant host access, and the policy cannot tell.

The checks judge the document as compose will read it (CONTRACT §6):
- values after interpolation (berth.domain.compose_interpolation); a value that depends
  on a variable Berth cannot know is refused wherever the check needs the value;
- booleans as compose casts them: `true`/`yes`/`on`/`y` in any case, quoted or not, are
  true (measured with compose v1 and v2, see tests/domain/test_privilege.py), so a
  privilege flag passes only when it is certainly false;
- aliases and `<<` merge keys are already resolved by the YAML loader;
- every definition on its own: a base service that another `extends`, an override file
  of a multi-file project and a service under an inactive profile are all judged, so
  merging allowed definitions cannot produce a refused one. `extends` of another file
  and `include` are refused: Berth has not read those files.

docs/privilege.md is generated from these tables (`markdown()`); a test keeps it in step.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from berth.domain.compose_interpolation import Unknown


class Treatment(StrEnum):
    ALLOWED = "allowed"
    CHECKED = "allowed with a check"
    PRIVILEGED = "needs allowPrivileged"


@dataclass(frozen=True)
class Finding:
    """`where` is the path inside the document (e.g. "services.web.privileged")."""

    where: str
    what: str


@dataclass(frozen=True)
class PathRef:
    """A relative path the document makes compose read on the runner's machine, as written
    (interpolated); relative to the project directory. The text check cannot see symlinks
    of the checkout: the runner resolves these after CLONE (berth.runner.checkout_paths)."""

    where: str
    path: str


@dataclass
class Context:
    services: frozenset[str]
    env_keys: frozenset[str]
    found: list[Finding] = field(default_factory=list)
    paths: list[PathRef] = field(default_factory=list)

    def refuse(self, where: str, what: str, value: Any = None) -> None:
        if isinstance(value, Unknown):
            what = f"{what} (its value depends on {value.describe()}, which Berth cannot know before compose runs)"
        self.found.append(Finding(where, what))


Check = Callable[[str, Any, Context], None]


@dataclass(frozen=True)
class Rule:
    treatment: Treatment
    note: str
    check: Check | None = None


def allowed(note: str = "") -> Rule:
    return Rule(Treatment.ALLOWED, note)


def checked(note: str, check: Check) -> Rule:
    return Rule(Treatment.CHECKED, note, check)


def privileged(note: str) -> Rule:
    return Rule(Treatment.PRIVILEGED, note)


# ---------------------------------------------------------------- value helpers

# How compose v1 and v2 cast a string in a boolean field (both, case-insensitive).
FALSE_WORDS = frozenset({"false", "no", "off", "n"})
TRUE_WORDS = frozenset({"true", "yes", "on", "y"})
_VOLUME_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_RELATIVE_PATH = re.compile(r"^[A-Za-z0-9_.@+-][A-Za-z0-9_./@+-]*$")


def certainly_false(value: Any) -> bool:
    """The only values of a privilege flag the policy lets through."""
    if value is None or value is False:
        return True
    return isinstance(value, str) and value.lower() in FALSE_WORDS


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _entries(value: Any) -> list[Any]:
    """A list, or a mapping's keys (compose accepts both forms for many lists), or one value."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value)
    return [] if value is None else [value]


def inside_path(value: Any) -> bool:
    """A relative path that stays inside the project directory (the checkout)."""
    if not isinstance(value, str) or not _RELATIVE_PATH.match(value) or "//" in value:
        return False
    return ".." not in value.split("/")


def _service_ref(value: str, context: Context) -> bool:
    return value.startswith("service:") and value.split(":", 1)[1] in context.services


# ---------------------------------------------------------------- checks

def must_be_false(grant: str) -> Check:
    def check(where: str, value: Any, context: Context) -> None:
        if not certainly_false(value):
            context.refuse(where, grant, value)
    return check


def mode(grant: str, allowed_values: Iterable[str], service_refs: bool) -> Check:
    accepted = frozenset(allowed_values)

    def check(where: str, value: Any, context: Context) -> None:
        if value is None or value == "":
            return
        if isinstance(value, str) and (value in accepted or (service_refs and _service_ref(value, context))):
            return
        context.refuse(where, grant, value)
    return check


def _check_paths(what: str) -> Check:
    def check(where: str, value: Any, context: Context) -> None:
        for entry in value if isinstance(value, list) else [value]:
            path = entry.get("path") if isinstance(entry, dict) else entry
            if path is not None and not inside_path(path):
                context.refuse(where, what, path)
            elif isinstance(path, str):
                context.paths.append(PathRef(where, path))
    return check


def _short_volume_ok(spec: str) -> bool:
    parts = spec.split(":")
    if len(parts) == 1:
        return spec.startswith("/")  # an anonymous volume at that container path
    # `name:/path[:mode]`; a Windows drive (`C:\\x:/y`) splits into a non-path second part.
    return bool(_VOLUME_NAME.match(parts[0])) and parts[1].startswith("/")


def _name_like(value: Any) -> bool:
    """A volume or image name, never a path (`/x`, `./x`, `~/x`, `C:\\x`)."""
    return isinstance(value, str) and not value.startswith(("/", ".", "~")) and "\\" not in value \
        and ":" not in value.split("/", 1)[0][1:2]


def _check_service_volumes(where: str, value: Any, context: Context) -> None:
    for index, volume in enumerate(value if isinstance(value, list) else [value]):
        location = f"{where}[{index}]"
        if isinstance(volume, str) and _short_volume_ok(volume):
            continue
        if isinstance(volume, dict):
            kind = volume.get("type", "volume")
            source = volume.get("source")
            if kind in ("volume", "tmpfs") and (source is None or
                                                 (isinstance(source, str) and bool(_VOLUME_NAME.match(source)))):
                continue
            if kind == "image" and (source is None or _name_like(source)):
                continue
            context.refuse(location, "host bind mount", kind if isinstance(kind, Unknown) else source)
            continue
        context.refuse(location, "host bind mount", volume)


def _check_volumes_from(where: str, value: Any, context: Context) -> None:
    for index, entry in enumerate(value if isinstance(value, list) else [value]):
        name = entry.rsplit(":", 1)[0] if isinstance(entry, str) and entry.endswith((":ro", ":rw")) else entry
        if not (isinstance(name, str) and name in context.services):
            context.refuse(f"{where}[{index}]", "another container's volumes (only services of this document)",
                           name)


_SECURITY_OPTS = re.compile(r"^no-new-privileges(?:[:=]true)?$")


def _check_security_opt(where: str, value: Any, context: Context) -> None:
    for index, option in enumerate(value if isinstance(value, list) else [value]):
        if not (isinstance(option, str) and _SECURITY_OPTS.match(option)):
            context.refuse(f"{where}[{index}]", "a security option other than no-new-privileges", option)


def _check_service_networks(where: str, value: Any, context: Context) -> None:
    for name in _entries(value):
        if name == "host" or not isinstance(name, str):
            context.refuse(f"{where}.{name}", "host network", name)


def _check_extends(where: str, value: Any, context: Context) -> None:
    if isinstance(value, dict) and value.get("file") is not None:
        context.refuse(f"{where}.file", "extending a service of another file (Berth has not read it)")


def _check_oom_score(where: str, value: Any, context: Context) -> None:
    try:
        score = int(str(value))
    except ValueError:
        context.refuse(where, "an OOM score below the host's processes'", value)
        return
    if score < 0:
        context.refuse(where, "an OOM score below the host's processes'")


def _check_hooks(where: str, value: Any, context: Context) -> None:
    for index, hook in enumerate(value if isinstance(value, list) else [value]):
        if isinstance(hook, dict) and not certainly_false(hook.get("privileged")):
            context.refuse(f"{where}[{index}].privileged", "a privileged hook", hook.get("privileged"))


def _check_deploy(where: str, value: Any, context: Context) -> None:
    resources = value.get("resources") if isinstance(value, dict) else None
    reservations = resources.get("reservations") if isinstance(resources, dict) else None
    if isinstance(reservations, dict) and not _empty(reservations.get("devices")):
        context.refuse(f"{where}.resources.reservations.devices", "devices")


def _check_build(where: str, value: Any, context: Context) -> None:
    if isinstance(value, dict):
        check_mapping(where, value, BUILD_KEYS, context)
        build_context, dockerfile = value.get("context") or ".", value.get("dockerfile")
        context_where = f"{where}.context"
    else:
        _check_context(where, value, context)
        build_context, dockerfile, context_where = value, None, where
    if not inside_path(build_context):
        return  # refused above
    if isinstance(value, dict) and "context" not in value:
        context.paths.append(PathRef(context_where, build_context))
    if isinstance(value, dict) and value.get("dockerfile_inline") is not None:
        return
    # The Dockerfile is read relative to the build context, `Dockerfile` by default.
    if dockerfile is None or inside_path(dockerfile):
        read_from = posixpath.normpath(posixpath.join(build_context, dockerfile or "Dockerfile"))
        context.paths.append(PathRef(f"{where}.dockerfile", read_from))


def _check_context(where: str, value: Any, context: Context) -> None:
    if value is not None and not inside_path(value):
        context.refuse(where, "building from outside the project directory", value)
    elif isinstance(value, str):
        context.paths.append(PathRef(where, value))


def _check_cache(where: str, value: Any, context: Context) -> None:
    for index, entry in enumerate(value if isinstance(value, list) else [value]):
        if not isinstance(entry, str):
            context.refuse(f"{where}[{index}]", "a build cache outside a registry", entry)
        elif "=" in entry and not re.match(r"^(?:type=(?:registry|inline)(?:,|$))", entry):
            # `type=local,src=…/dest=…` reads or writes a host directory.
            context.refuse(f"{where}[{index}]", "a build cache outside a registry")


def _check_additional_contexts(where: str, value: Any, context: Context) -> None:
    items = value.items() if isinstance(value, dict) else ((str(e).split("=", 1)[0], str(e).split("=", 1)[-1])
                                                          for e in _entries(value))
    for name, source in items:
        if isinstance(source, str) and source.startswith(("docker-image://", "service:")):
            continue
        if inside_path(source):
            context.paths.append(PathRef(f"{where}.{name}", source))
            continue
        context.refuse(f"{where}.{name}", "a build context outside the project directory", source)


def _check_top_networks(where: str, value: Any, context: Context) -> None:
    for name, network in (value.items() if isinstance(value, dict) else []):
        location = f"{where}.{name}"
        if name == "host":
            context.refuse(location, "host network")
        if isinstance(network, dict):
            external = network.get("external")
            if isinstance(external, dict) and "name" in external:
                names = [external.get("name")]
            else:
                names = [network["name"]] if "name" in network else []
            for real in names:
                if not isinstance(real, str) or real == "host":
                    context.refuse(f"{location}.name", "host network", real)
            check_mapping(location, network, NETWORK_KEYS, context)


def _check_network_driver(where: str, value: Any, context: Context) -> None:
    if value not in (None, "bridge", "overlay"):
        context.refuse(where, "a network driver other than bridge or overlay (e.g. macvlan reaches the host's "
                              "own network)", value)


def _check_top_volumes(where: str, value: Any, context: Context) -> None:
    for name, volume in (value.items() if isinstance(value, dict) else []):
        if isinstance(volume, dict):
            check_mapping(f"{where}.{name}", volume, VOLUME_KEYS, context)


def _check_volume_driver(where: str, value: Any, context: Context) -> None:
    if value not in (None, "local"):
        context.refuse(where, "a volume plugin", value)


def _check_driver_opts(where: str, value: Any, context: Context) -> None:
    if _empty(value):
        return
    options = value if isinstance(value, dict) else {}
    mount_type, device, mount_options = options.get("type"), options.get("device"), options.get("o", "")
    tmpfs = (mount_type == "tmpfs" and device in (None, "tmpfs") and isinstance(mount_options, str)
             and "bind" not in mount_options and set(options) <= {"type", "device", "o"})
    if not tmpfs:
        context.refuse(where, "a host mount (only tmpfs driver options)", mount_type)


def _check_top_files(where: str, value: Any, context: Context) -> None:
    for name, entry in (value.items() if isinstance(value, dict) else []):
        if isinstance(entry, dict):
            check_mapping(f"{where}.{name}", entry, FILE_OBJECT_KEYS, context)


def _check_file_source(where: str, value: Any, context: Context) -> None:
    if not inside_path(value):
        context.refuse(where, "reading a host file", value)
    else:
        context.paths.append(PathRef(where, value))


def _check_dockerfile(where: str, value: Any, context: Context) -> None:
    # Recorded by _check_build, relative to the build context it is read from.
    if not inside_path(value):
        context.refuse(where, "reading a host file", value)


def _check_env_source(where: str, value: Any, context: Context) -> None:
    if not (isinstance(value, str) and value in context.env_keys):
        context.refuse(where, "reading a variable of the runner's environment (only the service's own)")


def _check_services(where: str, value: Any, context: Context) -> None:
    for name, service in (value.items() if isinstance(value, dict) else []):
        if isinstance(service, dict):
            check_mapping(f"{where}.{name}", service, SERVICE_KEYS, context)


def check_mapping(where: str, mapping: Mapping[Any, Any], table: Mapping[str, Rule], context: Context) -> None:
    for key, value in mapping.items():
        location = f"{where}.{key}" if where else str(key)
        if isinstance(key, str) and key.startswith("x-"):
            continue  # extension fields: compose ignores them; what aliases copy is judged where it lands
        rule = table.get(key) if isinstance(key, str) else None
        if rule is None:
            context.refuse(location, f"{key!s} is not a compose key Berth's policy knows, so it")
        elif rule.treatment is Treatment.PRIVILEGED:
            if not _empty(value) and value is not False:
                context.refuse(location, rule.note)
        elif rule.check is not None:
            rule.check(location, value, context)


# ---------------------------------------------------------------- the tables

_NS = "namespace"
SERVICE_KEYS: dict[str, Rule] = {
    "annotations": allowed(), "attach": allowed(), "blkio_config": allowed("I/O limits"),
    "build": checked("build keys below", _check_build),
    "cap_add": privileged("added capabilities"), "cap_drop": allowed(),
    "cgroup": checked("`private` only (`host` is the host's cgroup namespace)",
                      mode("host cgroup namespace", ["private"], False)),
    "cgroup_parent": privileged("a cgroup outside Docker's"),
    "command": allowed(), "configs": allowed("references to top-level configs"),
    "container_name": allowed(), "cpu_count": allowed(), "cpu_percent": allowed(),
    "cpu_period": allowed(), "cpu_quota": allowed(),
    "cpu_rt_period": privileged("real-time scheduling"), "cpu_rt_runtime": privileged("real-time scheduling"),
    "cpu_shares": allowed(), "cpus": allowed(), "cpuset": allowed(),
    "credential_spec": privileged("a host credential spec"),
    "depends_on": allowed(),
    "deploy": checked("`resources.reservations.devices` needs allowPrivileged", _check_deploy),
    "develop": allowed("only `compose watch` reads it"),
    "device_cgroup_rules": privileged("device access rules"), "devices": privileged("devices"),
    "dns": allowed(), "dns_opt": allowed(), "dns_search": allowed(), "domainname": allowed(),
    "entrypoint": allowed(),
    "env_file": checked("relative paths inside the project only", _check_paths("reading a host file")),
    "environment": allowed(), "expose": allowed(),
    "extends": checked("a service of the same document only (no `file`)", _check_extends),
    "external_links": allowed(), "extra_hosts": allowed(),
    "gpus": privileged("GPU devices"), "group_add": allowed(), "healthcheck": allowed(),
    "hostname": allowed(), "image": allowed(), "init": allowed(),
    "ipc": checked("`private`, `shareable`, `none` or `service:<a service here>`",
                   mode(f"host or another container's IPC {_NS}", ["private", "shareable", "none"], True)),
    "isolation": privileged("a non-default isolation technology"),
    "label_file": checked("relative paths inside the project only", _check_paths("reading a host file")),
    "labels": allowed(), "links": allowed(), "logging": allowed(), "mac_address": allowed(),
    "mem_limit": allowed(), "mem_reservation": allowed(), "mem_swappiness": allowed(), "memswap_limit": allowed(),
    "models": privileged("models of the Docker Model Runner"),
    "network_mode": checked("`none`, `bridge`, `default` or `service:<a service here>`",
                            mode(f"host or another container's network {_NS}", ["none", "bridge", "default"],
                                 True)),
    "networks": checked("any network but `host`", _check_service_networks),
    "oom_kill_disable": checked("must be false", must_be_false("disabling the OOM killer")),
    "oom_score_adj": checked("0 or more", _check_oom_score),
    "pid": checked("`service:<a service here>` only",
                   mode(f"host or another container's PID {_NS}", [], True)),
    "pids_limit": allowed(), "platform": allowed(),
    "ports": allowed("publishing ports is what services do"),
    "post_start": checked("hooks must not be privileged", _check_hooks),
    "pre_stop": checked("hooks must not be privileged", _check_hooks),
    "privileged": checked("must be false", must_be_false("privileged mode")),
    "profiles": allowed("every service is judged, active or not"),
    "provider": privileged("a provider program run on the host"),
    "pull_policy": allowed(), "read_only": allowed(), "restart": allowed(),
    "runtime": privileged("another container runtime"),
    "scale": allowed(), "secrets": allowed("references to top-level secrets"),
    "security_opt": checked("`no-new-privileges` only", _check_security_opt),
    "shm_size": allowed(), "stdin_open": allowed(), "stop_grace_period": allowed(), "stop_signal": allowed(),
    "storage_opt": allowed(), "sysctls": allowed("Docker accepts only namespaced ones"),
    "tmpfs": allowed(), "tty": allowed(), "ulimits": allowed(),
    "use_api_socket": checked("must be false", must_be_false("the Docker API socket")),
    "user": allowed(),
    "userns_mode": privileged(f"the host's user {_NS}"),
    "uts": privileged(f"the host's UTS {_NS}"),
    "volume_driver": privileged("a volume plugin"),
    "volumes": checked("named and anonymous volumes, tmpfs and image mounts; no bind mounts",
                       _check_service_volumes),
    "volumes_from": checked("services of the same document only (no `container:`)", _check_volumes_from),
    "working_dir": allowed(),
}

BUILD_KEYS: dict[str, Rule] = {
    "additional_contexts": checked("relative paths inside the project, `docker-image://` or `service:`",
                                   _check_additional_contexts),
    "args": allowed(),
    "cache_from": checked("image references or `type=registry`/`type=inline`", _check_cache),
    "cache_to": checked("image references or `type=registry`/`type=inline`", _check_cache),
    "context": checked("a relative path inside the project", _check_context),
    "dockerfile": checked("a relative path inside the project", _check_dockerfile),
    "dockerfile_inline": allowed(),
    "entitlements": privileged("build entitlements (host network, insecure builds)"),
    "extra_hosts": allowed(),
    "isolation": privileged("a non-default isolation technology"),
    "labels": allowed(),
    "network": checked("`default` or `none`", mode("a build on the host network", ["default", "none"], False)),
    "no_cache": allowed(), "platforms": allowed(),
    "privileged": checked("must be false", must_be_false("a privileged build")),
    "provenance": allowed(), "pull": allowed(), "sbom": allowed(),
    "secrets": allowed("references to top-level secrets"),
    "shm_size": allowed(),
    "ssh": privileged("the runner's SSH agent or keys"),
    "tags": allowed(), "target": allowed(), "ulimits": allowed(),
}

NETWORK_KEYS: dict[str, Rule] = {
    "attachable": allowed(),
    "driver": checked("`bridge` or `overlay`", _check_network_driver),
    "driver_opts": privileged("network driver options"),
    "enable_ipv4": allowed(), "enable_ipv6": allowed(),
    "external": allowed("any network but `host`"), "internal": allowed(), "ipam": allowed(),
    "labels": allowed(), "name": allowed("any name but `host`"),
}

VOLUME_KEYS: dict[str, Rule] = {
    "driver": checked("`local`", _check_volume_driver),
    "driver_opts": checked("tmpfs only (`type: tmpfs`)", _check_driver_opts),
    "external": allowed(), "labels": allowed(), "name": allowed(),
}

FILE_OBJECT_KEYS: dict[str, Rule] = {
    "content": allowed(), "driver": allowed("swarm only"), "driver_opts": allowed("swarm only"),
    "environment": checked("a variable of the service's own env", _check_env_source),
    "external": allowed(),
    "file": checked("a relative path inside the project", _check_file_source),
    "labels": allowed(), "name": allowed(), "template_driver": allowed("swarm only"),
}

TOP_LEVEL_KEYS: dict[str, Rule] = {
    "configs": checked("configs keys below", _check_top_files),
    "include": privileged("including other files (Berth has not read them)"),
    "models": privileged("models of the Docker Model Runner"),
    "name": allowed("Berth names the project"),
    "networks": checked("networks keys below; none named `host`", _check_top_networks),
    "secrets": checked("secrets keys below", _check_top_files),
    "services": checked("service keys below", _check_services),
    "version": allowed(),
    "volumes": checked("volumes keys below", _check_top_volumes),
}

TABLES: dict[str, dict[str, Rule]] = {
    "top level": TOP_LEVEL_KEYS,
    "services.<name>": SERVICE_KEYS,
    "services.<name>.build": BUILD_KEYS,
    "networks.<name>": NETWORK_KEYS,
    "volumes.<name>": VOLUME_KEYS,
    "secrets.<name> and configs.<name>": FILE_OBJECT_KEYS,
}


def judge(document: Mapping[Any, Any], services: Iterable[str], env_keys: Iterable[str]) -> Context:
    """An interpolated document judged: `found`, everything an unprivileged server may not
    run; `paths`, the relative paths that passed as text, for the runner to resolve."""
    context = Context(services=frozenset(services), env_keys=frozenset(env_keys))
    check_mapping("", document, TOP_LEVEL_KEYS, context)
    return context


def findings(document: Mapping[Any, Any], services: Iterable[str], env_keys: Iterable[str]) -> list[Finding]:
    return judge(document, services, env_keys).found


def markdown() -> str:
    """The tables as docs/privilege.md lists them."""
    lines: list[str] = []
    for title, table in TABLES.items():
        lines += [f"### `{title}`", "", "| key | treatment | note |", "|---|---|---|"]
        for key in sorted(table):
            rule = table[key]
            lines.append(f"| `{key}` | {rule.treatment.value} | {rule.note} |")
        lines.append("")
    return "\n".join(lines)
