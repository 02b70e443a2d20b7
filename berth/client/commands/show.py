"""`berth show ID [--artifact FILE]`: one deployment, its steps, and the three views side by side."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from berth.client import queries
from berth.client.commands.common import AddParser
from berth.client.errors import EXIT_OK, UsageProblem
from berth.client.follow import fetch_deployment
from berth.client.format import between, deployment_took, duration, short_time
from berth.client.runtime import api as make_api
from berth.client.runtime import print_json, run, say
from berth.client.table import side_by_side, table
from berth.domain.names import artifact_file_name, deployment_name


def register(add: AddParser) -> None:
    parser = add("show", help="show a deployment: record, steps, error and its three views")
    parser.add_argument("id", metavar="ID", help="deployment id")
    parser.add_argument(
        "--artifact",
        metavar="FILE",
        nargs="?",
        const="",
        help="save the deployment's artifact (the whole record) as JSON "
        "(default file: <project>_<environment>_<service>_<number>.json)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the record with its three views as one JSON document"
    )
    parser.set_defaults(handler=lambda args, settings: run(lambda: show(args)))


async def show(args: argparse.Namespace) -> int:
    async with make_api() as api:
        record = await fetch_deployment(api, args.id, queries.DEPLOYMENT_WITH_VIEWS)
        wanted = args.artifact is not None
        artifact = (await fetch_deployment(api, args.id, queries.ARTIFACT))["artifact"] if wanted else None
    saved: Path | None = None
    if artifact is not None:
        saved = Path(args.artifact or artifact_file_name(artifact))
        save_artifact(saved, artifact)
    if args.json:
        print_json(record)
    else:
        say(describe(record))
        if saved is not None:
            say(f"\nartifact saved to {saved}")
    return EXIT_OK


def save_artifact(path: Path, artifact: Any) -> None:
    try:
        path.write_text(json.dumps(artifact, indent=2) + "\n")
    except OSError as error:
        raise UsageProblem(f"--artifact: cannot write {path}: {error.strerror}") from None


def describe(record: dict[str, Any]) -> str:
    outcome = record["status"] + (f"/{record['conclusion']}" if record.get("conclusion") else "")
    actor = record.get("actor") or {}
    who = actor.get("tokenName") or actor.get("email") or actor.get("subject")
    facts = [
        ("deployment", f"{name_of(record, record['number'])} ({record['id']})"),
        ("status", outcome),
        ("server", (record.get("server") or {}).get("name") or "?"),
        ("trigger", f"{record.get('trigger')} by {who} ({actor.get('role') or '-'}, {actor.get('tokenKind')})"),
        ("created", short_time(record.get("createdAt"))),
        ("started", short_time(record.get("startedAt"))),
        ("concluded", short_time(record.get("concludedAt"))),
    ]  # fmt: skip
    took = deployment_took(record)
    if took:
        facts.append(("took", took if record.get("concludedAt") else f"{took} so far"))
    if record.get("queuePosition"):
        facts.append(("queue", f"position {record['queuePosition']}"))
    if record.get("reason"):
        facts.append(("reason", one_line(record["reason"])))
    if record.get("rollbackOf"):
        # A rollback replays a deployment of the same service.
        facts.append(("rollback of", name_of(record, record["rollbackOf"]["number"])))
    if record.get("cancelRequestedAt") or record.get("cancelReason"):
        canceled = (
            short_time(record.get("cancelRequestedAt")) if record.get("cancelRequestedAt") else "requested"
        )
        why = f": {one_line(record['cancelReason'])}" if record.get("cancelReason") else ""
        facts.append(("canceled", f"{canceled}{why}"))
    lines = [f"{name + ':':<12} {value}" for name, value in facts]
    error = record.get("error")
    if error:
        message = str(error.get("message") or "").strip().splitlines() or [""]
        at = f"{error['step']} " if error.get("step") else ""
        lines.append(f"{'error:':<12} {at}{error.get('code')}: {message[0]}")
        lines += [f"{'':<12} {line}" for line in message[1:]]
    steps = [
        [s["kind"], s["status"].lower(), duration(between(s.get("startedAt"), s.get("completedAt"))) if s.get("startedAt") else "",
         (s.get("detail") or "").strip().splitlines()[0] if (s.get("detail") or "").strip() else ""]
        for s in record.get("steps") or []
    ]  # fmt: skip
    lines += ["", table(["STEP", "STATUS", "TOOK", "DETAIL"], steps), ""]
    views = [
        ("DECLARED CONFIG", as_text(record.get("declaredConfig"))),
        ("FROZEN INPUT", as_text(record.get("frozenInput"))),
        (
            "LAST OBSERVED STATE",
            as_text(record.get("lastObservedState"))
            if record.get("lastObservedState")
            else "(not observed yet)",
        ),
    ]
    lines.append(side_by_side(views))
    return "\n".join(lines)


def name_of(record: dict[str, Any], number: int) -> str:
    """`project/env/service #N` as far as the credential may see the names."""
    project, environment, service = (
        (record.get(edge) or {}).get("name") for edge in ("project", "environment", "service")
    )
    return deployment_name(project, environment, service, number)


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def as_text(value: Any) -> str:
    if value in (None, {}, []):
        return "(none)"
    return str(
        yaml.safe_dump(value, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)
    ).rstrip()
