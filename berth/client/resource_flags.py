"""`berth deploy`'s resource flags → the API's `ResourcesInput`.

`--memory 256m` (k, m or g; a bare number is MiB), `--cpus 0.5`, `--pids 200`,
`--restart no|always|unless-stopped|on-failure[:N]`. Given flags replace the service's
resources as a whole (those not given become "no limit" and unless-stopped), as
`updateService(resources:)` does. What the CLI can tell is malformed is a usage error naming
the flag; the limits themselves (memory at least 6 MiB, ...) are the server's to check.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from berth.client.errors import UsageProblem

FLAGS = {
    "input.resources": "--memory/--cpus/--pids/--restart",
    "input.resources.memoryMb": "--memory",
    "input.resources.cpus": "--cpus",
    "input.resources.pidsLimit": "--pids",
    "input.resources.restartPolicy": "--restart",
}
DEST = ("memory", "cpus", "pids", "restart")
_MEMORY = re.compile(r"^([0-9]{1,12})([kmg]?)(?:i?b)?$", re.IGNORECASE)
_KIB_PER = {"k": 1, "m": 1024, "g": 1024 * 1024, "": 1024}


def add_flags(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--memory", metavar="SIZE", help="memory limit, e.g. 256m or 1g (at least 6m)")
    group.add_argument("--cpus", metavar="N", help="CPUs the containers may use, e.g. 0.5")
    group.add_argument("--pids", metavar="N", help="most processes a container may run")
    group.add_argument("--restart", metavar="POLICY",
                       help="no, always, unless-stopped (the default) or on-failure[:N]")


def memory_mb(text: str) -> int:
    match = _MEMORY.fullmatch(text.strip())
    if match is None:
        raise UsageProblem(f"--memory: expected a size such as 256m or 1g, got {text!r}")
    kib = int(match.group(1)) * _KIB_PER[match.group(2).lower()]
    if kib % 1024:
        raise UsageProblem(f"--memory: give whole MiB (e.g. 256m), got {text!r}")
    return kib // 1024


def resources_input(args: argparse.Namespace) -> dict[str, Any] | None:
    if all(getattr(args, dest) is None for dest in DEST):
        return None
    resources: dict[str, Any] = {"restartPolicy": args.restart}
    if args.memory is not None:
        resources["memoryMb"] = memory_mb(args.memory)
    if args.cpus is not None:
        try:
            resources["cpus"] = float(args.cpus)
        except ValueError:
            raise UsageProblem(f"--cpus: expected a number such as 0.5, got {args.cpus!r}") from None
    if args.pids is not None:
        if not args.pids.strip().isdigit():
            raise UsageProblem(f"--pids: expected a whole number, got {args.pids!r}")
        resources["pidsLimit"] = int(args.pids)
    return resources
