"""What a service's containers may use (`ResourcesInput`): memory, CPUs, processes, and the
restart policy. One module for the rule, the stored form and what Docker is given, so the API
and the runner read a value the same way.

Stored (`Service.resources`, the frozen input's `resources`) as
`{"memoryMb", "cpus", "pidsLimit", "restartPolicy"}`; a null limit is "no limit". A service
or frozen input from before resources existed has none: no limits, `unless-stopped`, which is
what Berth always ran.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from berth.domain.errors import ErrorList, FieldPath
from berth.domain.specs import ResourcesSpec

DEFAULT_RESTART_POLICY = "unless-stopped"
MIN_MEMORY_MB = 6
"""Docker refuses less than 6 MiB ("Minimum memory limit allowed is 6MB")."""
MIN_CPUS = 0.01
"""NanoCPUs is an integer of 1e-9 CPUs; Docker's own minimum is 0.01."""
MAX_CPUS = 1024.0
"""The API does not know how many CPUs a server has (Server records no CPU count), so it
bounds cpus by a fixed ceiling; a daemon with fewer CPUs refuses the container at START with
its own message ("range of CPUs is from 0.01 to N")."""
MAX_PIDS = 4_194_304
"""Linux's pid_max ceiling (2^22): a larger pids limit means nothing."""
MAX_RESTART_RETRIES = 10_000
_RESTART = re.compile(r"^(no|always|unless-stopped|on-failure(?::([0-9]{1,5}))?)$")


@dataclass(frozen=True)
class RestartPolicy:
    name: str
    maximum_retry_count: int = 0


def parse_restart_policy(text: str) -> RestartPolicy | None:
    """`no`, `always`, `unless-stopped`, `on-failure` or `on-failure:N` (N ≥ 1); None otherwise."""
    match = _RESTART.fullmatch(text)
    if match is None:
        return None
    if match.group(2) is None:
        return RestartPolicy(match.group(1).partition(":")[0])
    retries = int(match.group(2))
    if not 1 <= retries <= MAX_RESTART_RETRIES:
        return None
    return RestartPolicy("on-failure", retries)


def validate_resources(spec: ResourcesSpec, path: FieldPath) -> ErrorList:
    errors = ErrorList()
    if spec.memory_mb is not None and spec.memory_mb < MIN_MEMORY_MB:
        errors.add([*path, "memoryMb"], f"memoryMb must be at least {MIN_MEMORY_MB} (Docker's minimum)")
    if spec.cpus is not None and not MIN_CPUS <= spec.cpus <= MAX_CPUS:
        errors.add([*path, "cpus"], f"cpus must be between {MIN_CPUS} and {MAX_CPUS:g}")
    if spec.pids_limit is not None and not 1 <= spec.pids_limit <= MAX_PIDS:
        errors.add([*path, "pidsLimit"], f"pidsLimit must be between 1 and {MAX_PIDS}")
    if spec.restart_policy is not None and parse_restart_policy(spec.restart_policy) is None:
        errors.add([*path, "restartPolicy"],
                   f"restartPolicy must be no, always, unless-stopped, on-failure or on-failure:N "
                   f"(N from 1 to {MAX_RESTART_RETRIES})")
    return errors


def resources_fields(spec: ResourcesSpec | None) -> dict[str, Any]:
    """The stored / `Resources` form, the default restart policy filled in."""
    if spec is None:
        return default_resources()
    return {
        "memoryMb": spec.memory_mb,
        # cpus travel as JSON numbers; rounding to Docker's precision keeps the stored value
        # the one the observer will read back from NanoCPUs.
        "cpus": round(spec.cpus, 9) if spec.cpus is not None else None,
        "pidsLimit": spec.pids_limit,
        "restartPolicy": spec.restart_policy or DEFAULT_RESTART_POLICY,
    }


def default_resources() -> dict[str, Any]:
    return {"memoryMb": None, "cpus": None, "pidsLimit": None, "restartPolicy": DEFAULT_RESTART_POLICY}


def stored_resources(value: Mapping[str, Any] | None) -> dict[str, Any]:
    """A stored or frozen `resources` (or its absence, on older records) with every key."""
    return {**default_resources(), **{k: v for k, v in (value or {}).items() if v is not None}}


# ---- what Docker is given and reports


@dataclass(frozen=True)
class Limits:
    """Limits as the Engine API writes them in HostConfig (0 = none)."""

    memory_bytes: int = 0
    nano_cpus: int = 0
    pids_limit: int = 0


def limits_of(resources: Mapping[str, Any] | None) -> Limits:
    values = stored_resources(resources)
    return Limits(
        memory_bytes=int(values["memoryMb"]) * 1024 * 1024 if values["memoryMb"] else 0,
        nano_cpus=round(float(values["cpus"]) * 1e9) if values["cpus"] else 0,
        pids_limit=int(values["pidsLimit"]) if values["pidsLimit"] else 0,
    )


def restart_policy_of(resources: Mapping[str, Any] | None) -> RestartPolicy:
    text = str(stored_resources(resources)["restartPolicy"])
    return parse_restart_policy(text) or RestartPolicy(DEFAULT_RESTART_POLICY)


def compose_limits(resources: Mapping[str, Any] | None, file_version: str | None = None,
                   service: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The keys Berth's override file gives one compose service (`service`: its merged
    configuration in the compose files).

    Compose has two spellings of a limit, `mem_limit`/`cpus`/`pids_limit` and
    `deploy.resources.limits`, and compose v2 refuses a service whose two spellings differ.
    So Berth writes the short keys (all that version "2.x" files know), and also the `deploy`
    limits where the service already uses them or the file is version "3.x" (which knows only
    `deploy`, and no pids there for compose v1). Not adding `deploy` otherwise matters: compose
    v1 refuses `deploy.resources.limits.pids`, and v2 compares it with `pids_limit`.
    """
    values = stored_resources(resources)
    major = (file_version or "").strip().partition(".")[0]
    own = ((service or {}).get("deploy") or {}).get("resources", {}) if isinstance(
        (service or {}).get("deploy"), Mapping) else {}
    short = major != "3"
    deploy = major == "3" or (isinstance(own, Mapping) and isinstance(own.get("limits"), Mapping))
    entry: dict[str, Any] = {"restart": str(values["restartPolicy"])}
    limits: dict[str, Any] = {}
    if values["memoryMb"]:
        memory = f"{int(values['memoryMb'])}m"
        if short:
            entry["mem_limit"] = memory
        if deploy:
            limits["memory"] = memory
    if values["cpus"]:
        if short:
            entry["cpus"] = float(values["cpus"])
        if deploy:
            limits["cpus"] = float(values["cpus"])
    if values["pidsLimit"]:
        if short:
            entry["pids_limit"] = int(values["pidsLimit"])
        if deploy and major != "3":
            limits["pids"] = int(values["pidsLimit"])
    if limits:
        entry["deploy"] = {"resources": {"limits": limits}}
    return entry
