"""`berth deploy`'s health-check flags → the API's `HealthCheckInput` (CONTRACT §3, Health).

One kind at most: `--health-http PORT:PATH`, `--health-tcp PORT` or `--health-docker` (the
image's own HEALTHCHECK). `--health-timeout` (overall deadline, seconds) and
`--health-interval` (between probes) tune it; `--expect-status` (HTTP only) lists the
accepted codes, e.g. `200,204` or `200-299`. Everything the CLI can tell is wrong is a
usage error here (exit 3, naming the flag) before any request; the server checks again.
"""

from __future__ import annotations

import argparse
from typing import Any

from berth.client.errors import UsageProblem

TIMEOUT_RANGE = (1, 3600)
INTERVAL_RANGE = (1, 300)
STATUS_RANGE = (100, 599)
# Which flag to name when the server refuses a health-check field.
FLAGS = {
    "input.healthCheck": "--health-http/--health-tcp/--health-docker",
    "input.healthCheck.kind": "--health-http/--health-tcp/--health-docker",
    "input.healthCheck.port": "--health-http/--health-tcp",
    "input.healthCheck.path": "--health-http",
    "input.healthCheck.expectedStatus": "--expect-status",
    "input.healthCheck.timeoutSeconds": "--health-timeout",
    "input.healthCheck.intervalSeconds": "--health-interval",
    "input.autoRollback": "--auto-rollback/--no-auto-rollback",
}
DEST = ("health_http", "health_tcp", "health_docker", "health_timeout", "health_interval", "expect_status")


def add_flags(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--health-http", metavar="PORT:PATH", help="HTTP health check, e.g. 8080:/healthz")
    group.add_argument("--health-tcp", metavar="PORT", help="TCP health check: connect to this container port")
    group.add_argument(
        "--health-docker", action="store_true", help="health check by the image's own HEALTHCHECK only"
    )
    group.add_argument(
        "--health-timeout", metavar="SECONDS", help="overall health deadline (1–3600, default 60)"
    )
    group.add_argument("--health-interval", metavar="SECONDS", help="between probes (1–300, default 2)")
    group.add_argument(
        "--expect-status", metavar="CODES", help="HTTP codes that pass, e.g. 200,204 or 200-299 (default 200-399)"
    )
    group.add_argument(
        "--auto-rollback",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="on a failed START or HEALTH put the previous deployment back (the default for a new "
        "service); --no-auto-rollback leaves the service without containers instead",
    )


def _number(flag: str, text: str, low: int, high: int, what: str = "a whole number") -> int:
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        raise UsageProblem(f"{flag}: expected {what} from {low} to {high}, got {text!r}")
    return int(value)


def http_check(value: str) -> dict[str, Any]:
    port, _, path = value.partition(":")
    if not port.isdigit():
        raise UsageProblem(f"--health-http: expected PORT:PATH (e.g. 8080:/healthz), got {value!r}")
    path = path or "/"
    if not path.startswith("/"):
        raise UsageProblem(f"--health-http: the path must start with '/', got {path!r}")
    return {"kind": "HTTP", "port": _number("--health-http", port, 1, 65535, "a port"), "path": path}


def status_codes(value: str) -> list[int]:
    """`200,204` → [200, 204]; `200-299` → every code from 200 to 299."""
    codes: list[int] = []
    for part in (item.strip() for item in value.split(",")):
        low_text, dash, high_text = part.partition("-")
        low = _number("--expect-status", low_text, *STATUS_RANGE, what="HTTP status codes")
        high = _number("--expect-status", high_text, *STATUS_RANGE, what="HTTP status codes") if dash else low
        if high < low:
            raise UsageProblem(f"--expect-status: the range {part!r} ends before it starts")
        codes += [code for code in range(low, high + 1) if code not in codes]
    return codes


def health_check_input(args: argparse.Namespace) -> dict[str, Any] | None:
    """The `healthCheck` input the flags describe; None when none was given."""
    kinds = [flag for flag, given in (("--health-http", args.health_http is not None),
                                      ("--health-tcp", args.health_tcp is not None),
                                      ("--health-docker", args.health_docker)) if given]  # fmt: skip
    tuning = [flag for flag, given in (("--health-timeout", args.health_timeout is not None),
                                       ("--health-interval", args.health_interval is not None),
                                       ("--expect-status", args.expect_status is not None)) if given]  # fmt: skip
    if len(kinds) > 1:
        raise UsageProblem(f"give one health check kind, not {' and '.join(kinds)}")
    if not kinds:
        if tuning:
            raise UsageProblem(f"{tuning[0]} needs a health check: --health-http, --health-tcp or --health-docker")
        return None
    if args.health_http is not None:
        check = http_check(args.health_http)
    elif args.health_tcp is not None:
        check = {"kind": "TCP", "port": _number("--health-tcp", args.health_tcp, 1, 65535, "a port")}
    else:
        check = {"kind": "DOCKER"}
    if args.expect_status is not None:
        if check["kind"] != "HTTP":
            raise UsageProblem("--expect-status applies to --health-http only")
        check["expectedStatus"] = status_codes(args.expect_status)
    if args.health_timeout is not None:
        check["timeoutSeconds"] = _number("--health-timeout", args.health_timeout, *TIMEOUT_RANGE)
    if args.health_interval is not None:
        check["intervalSeconds"] = _number("--health-interval", args.health_interval, *INTERVAL_RANGE)
    if check.get("intervalSeconds", 2) > check.get("timeoutSeconds", 60):
        raise UsageProblem("--health-interval must not exceed --health-timeout")
    return check
