"""`berth deploy`: deploy an existing service, or create/update one from an image, a
compose file or a repository first; then follow the seven steps to the conclusion."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from berth.client import git_auth_flags, health_flags, queries, resource_flags
from berth.client.api import Api
from berth.client.approval_text import approval_line, deployment_title, plan_lines
from berth.client.commands.common import AddParser, add_follow_flags, after_queueing
from berth.client.errors import EXIT_OK, EXIT_USAGE, UsageProblem
from berth.client.graphql_errors import raise_for_user_errors
from berth.client.runtime import api as make_api
from berth.client.runtime import print_json, run, say
from berth.client.services import (
    ServiceRef,
    ensure_project,
    inventory,
    matching_services,
    resolve_server,
    resolve_service,
)

DEFAULT_PROJECT = "default"
DEFAULT_ENVIRONMENT = "production"
DEFAULT_SERVER = "local"
# Which flag to name when the server refuses a field (CONTRACT §6: INVALID_INPUT names the path).
FLAGS = {
    "input.serviceId": "--service",
    "input.imageTag": "--tag",
    "input.ref": "--ref",
    "input.reason": "--reason",
    "input.idempotencyKey": "--idempotency-key",
    "input.name": "--name",
    "input.environment": "--environment",
    "input.projectId": "--project",
    "input.serverId": "--server",
    "input.source.image": "--image",
    "input.source.repository": "--repo",
    "input.source.branch": "--branch",
    "input.source.dockerfile": "--dockerfile",
    "input.source.composeContent": "--compose",
    "input.source.composeFiles": "--compose",
    "input.source.composeProfiles": "--profile",
    "input.source.ports": "--port",
    "input.source.volumes": "--volume",
    "input.env": "--env",
    "input.route": "--route",
    **health_flags.FLAGS,
    **resource_flags.FLAGS,
    **git_auth_flags.FLAGS,
}
DEFINITION_FLAGS = (
    "port",
    "volume",
    "env",
    "secret",
    *health_flags.DEST,
    *resource_flags.DEST,
    *git_auth_flags.DEST,
    "dockerfile",
    "branch",
    "profile",
    "name",
    "route",
)


def register(add: AddParser) -> None:
    parser = add(
        "deploy",
        help="deploy a service (existing, or created/updated from --image, --compose or --repo)",
        description="Queue a deployment and follow its steps live. Exit codes: 0 SUCCEEDED, 1 FAILED, "
        "2 CANCELED, 3 usage/auth/input error, 4 SKIPPED (superseded), 5 server unreachable, "
        "130 interrupted and left running.",
    )
    source = parser.add_argument_group("what to deploy (one of --service, --image, --compose, --repo)")
    source.add_argument("--service", metavar="NAME|ID", help="an existing service")
    source.add_argument("--image", metavar="REF", help="an image, e.g. nginx:alpine")
    source.add_argument(
        "--compose",
        metavar="FILE",
        help="a compose file (its content is sent; with --repo: a path in the repository)",
    )
    source.add_argument(
        "--repo", metavar="URL", help="a git repository with a Dockerfile (or compose files, with --compose)"
    )
    override = parser.add_argument_group("this deployment")
    override.add_argument("--tag", help="image tag to deploy instead of the declared one")
    override.add_argument("--ref", help="git branch, tag or commit to deploy")
    override.add_argument("--reason", help="why (stored with the deployment)")
    override.add_argument(
        "--idempotency-key", metavar="KEY", help="retrying with the same key returns the same deployment"
    )
    definition = parser.add_argument_group("service definition (with --image, --compose or --repo)")
    definition.add_argument("--name", help="service name (default: from the image, file or repository)")
    definition.add_argument(
        "--project", help=f"project name, created if missing (default: {DEFAULT_PROJECT})"
    )
    definition.add_argument("--environment", help=f"environment (default: {DEFAULT_ENVIRONMENT})")
    definition.add_argument("--server", help=f"target server name (default: {DEFAULT_SERVER})")
    definition.add_argument(
        "--port", action="append", metavar="[IP:][HOST:]CONTAINER", help="publish a port (repeatable)"
    )
    definition.add_argument(
        "--volume", action="append", metavar="NAME:PATH", help="named volume (repeatable)"
    )
    definition.add_argument(
        "--env", action="append", metavar="KEY=VALUE", help="environment variable (repeatable)"
    )
    definition.add_argument(
        "--secret",
        action="append",
        metavar="KEY=VALUE",
        help="secret environment variable, stored encrypted (repeatable)",
    )
    definition.add_argument("--dockerfile", metavar="PATH", help="Dockerfile path in the repository")
    definition.add_argument("--branch", help="the repository branch the service tracks")
    definition.add_argument("--profile", action="append", metavar="NAME", help="compose profile (repeatable)")
    definition.add_argument(
        "--route", metavar="HOST:PORT",
        help="answer at HOST through the server's proxy, on the container's PORT: new versions get "
             "traffic only once healthy (COMPOSE: HOST:SERVICE:PORT)",
    )
    health_flags.add_flags(
        parser.add_argument_group("health check and rollback (with --image, --compose or --repo)")
    )
    git_auth_flags.add_flags(parser.add_argument_group("private repository (with --repo)"))
    resource_flags.add_flags(parser.add_argument_group(
        "resources (with --image, --compose or --repo; given ones replace the service's)"))
    add_follow_flags(parser, detach_help="return right after queueing")
    parser.add_argument(
        "--dry-run", action="store_true",
        help="with --service: print what the deployment would do (changes, superseding, queue, approval, "
        "refusals) and queue nothing; exit 3 when it would be refused",
    )  # fmt: skip
    parser.set_defaults(handler=lambda args, settings: run(lambda: deploy(args)))


async def deploy(args: argparse.Namespace) -> int:
    sources = [flag for flag in ("service", "image", "repo") if getattr(args, flag)]
    if args.compose and not args.repo:
        sources.append("compose")
    if len(sources) != 1:
        given = ", ".join(f"--{flag}" for flag in sources)
        raise UsageProblem(
            "say what to deploy with one of --service, --image, --compose or --repo"
            + (f" (got {given})" if sources else "")
        )
    if args.dry_run and not args.service:
        # Planning writes nothing; creating or updating the service from the flags would.
        raise UsageProblem("--dry-run plans a deployment of an existing service: give --service")
    definition = None
    if args.service:
        extra = [f"--{flag.replace('_', '-')}" for flag in DEFINITION_FLAGS if getattr(args, flag)]
        if args.auto_rollback is not None:
            extra.append("--auto-rollback" if args.auto_rollback else "--no-auto-rollback")
        if extra:
            raise UsageProblem(f"{', '.join(extra)} only apply with --image, --compose or --repo")
    else:
        definition = Definition.of(args)  # every local check before the first request
    async with make_api() as api:
        if definition is None:
            service = await resolve_service(api, args.service, args.project, args.environment)
        else:
            service = await upsert_service(api, definition, args)
        variables = {
            "serviceId": service.id,
            "imageTag": args.tag,
            "ref": args.ref,
            "idempotencyKey": args.idempotency_key,
            "reason": args.reason,
        }
        if args.dry_run:
            return await dry_run(api, variables, args)
        data = await api.execute(queries.START, {"input": variables})
        payload = data["startDeployment"]
        raise_for_user_errors(payload["errors"], FLAGS)
        record = payload["deployment"]
        if not args.json and (line := approval_line(record)):
            say(f"{deployment_title(record)}: {line}")
        return await after_queueing(api, record, args)


async def dry_run(api: Api, variables: dict[str, Any], args: argparse.Namespace) -> int:
    """`--dry-run`: the plan, readably (or as JSON); exit 3 when startDeployment would refuse."""
    plan = (await api.execute(queries.PLAN, {"input": variables}))["planDeployment"]
    if args.json:
        print_json(plan)
    else:
        say("\n".join(plan_lines(plan)))
    return EXIT_USAGE if plan["problems"] else EXIT_OK


@dataclass(frozen=True)
class Definition:
    """The service the flags describe."""

    name: str
    project: str
    environment: str
    source: dict[str, Any]
    env: list[dict[str, Any]] | None
    health_check: dict[str, Any] | None
    auto_rollback: bool | None  # None: as it is (true for a new service)
    resources: dict[str, Any] | None  # None: as it is (no limits, unless-stopped for a new service)
    route: dict[str, Any] | None = None  # None: as it is (none for a new service)

    @classmethod
    def of(cls, args: argparse.Namespace) -> Definition:
        return cls(
            name=args.name or default_name(args),
            project=args.project or DEFAULT_PROJECT,
            environment=args.environment or DEFAULT_ENVIRONMENT,
            source=source_input(args),
            env=env_input(args),
            health_check=health_flags.health_check_input(args),
            auto_rollback=args.auto_rollback,
            resources=resource_flags.resources_input(args),
            route=route_input(args.route),
        )


async def upsert_service(api: Api, definition: Definition, args: argparse.Namespace) -> ServiceRef:
    """Create the service the flags describe, or update the one of that name."""
    projects = await inventory(api)
    existing = matching_services(projects, definition.name, definition.project, definition.environment)
    if existing:
        service = existing[0]
        if args.server and args.server not in (service.server_name, service.server_id):
            raise UsageProblem(
                f"--server: service {service.label} runs on {service.server_name}; a service's server cannot change"
            )
        update: dict[str, Any] = {"serviceId": service.id, "source": definition.source}
        if definition.env is not None:
            update["env"] = definition.env
        if definition.health_check is not None:
            update["healthCheck"] = definition.health_check
        if definition.auto_rollback is not None:
            update["autoRollback"] = definition.auto_rollback
        if definition.resources is not None:
            update["resources"] = definition.resources
        if definition.route is not None:
            update["route"] = definition.route
        data = await api.execute(queries.UPDATE_SERVICE, {"input": update})
        payload, verb = data["updateService"], "updated"
    else:
        server = await resolve_server(api, args.server or DEFAULT_SERVER)
        project_id = await ensure_project(api, projects, definition.project, definition.environment)
        create = {
            "projectId": project_id,
            "environment": definition.environment,
            "name": definition.name,
            "serverId": server["id"],
            "source": definition.source,
            "env": definition.env,
            "healthCheck": definition.health_check,
            "autoRollback": definition.auto_rollback,
            "resources": definition.resources,
            "route": definition.route,
        }
        data = await api.execute(queries.CREATE_SERVICE, {"input": create})
        payload, verb = data["createService"], "created"
    raise_for_user_errors(payload["errors"], FLAGS)
    ref = ServiceRef.of(payload["service"])
    if not args.json:
        say(f"{verb} service {ref.label} on server {ref.server_name or '?'}")
    return ref


def source_input(args: argparse.Namespace) -> dict[str, Any]:
    if not args.repo:
        git_auth_flags.git_auth_input(args)  # refuses the repository credential flags without --repo
    common = {"ports": args.port, "volumes": args.volume}
    if args.image:
        if args.compose:
            raise UsageProblem("give --image or --compose, not both")
        return {"type": "IMAGE", "image": args.image, **common}
    if args.repo and args.compose:
        return {
            "type": "COMPOSE",
            "repository": args.repo,
            "branch": args.branch,
            "composeFiles": [args.compose],
            "composeProfiles": args.profile,
            "gitAuth": git_auth_flags.git_auth_input(args),
            **_only_if_given(common),
        }
    if args.repo:
        return {
            "type": "DOCKERFILE",
            "repository": args.repo,
            "branch": args.branch,
            "dockerfile": args.dockerfile,
            "gitAuth": git_auth_flags.git_auth_input(args),
            **common,
        }
    try:
        content = Path(args.compose).read_text()
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise UsageProblem(f"--compose: cannot read {args.compose}: {reason}") from None
    return {
        "type": "COMPOSE",
        "composeContent": content,
        "composeProfiles": args.profile,
        **_only_if_given(common),
    }


def route_input(flag: str | None) -> dict[str, Any] | None:
    """--route HOST:PORT, or HOST:SERVICE:PORT for a compose service; the API judges the rest."""
    if flag is None:
        return None
    parts = flag.split(":")
    if len(parts) not in (2, 3) or not parts[-1].isdigit() or not all(parts):
        raise UsageProblem(f"--route: {flag!r} is not HOST:PORT (or HOST:SERVICE:PORT for compose)")
    route: dict[str, Any] = {"host": parts[0], "containerPort": int(parts[-1])}
    if len(parts) == 3:
        route["composeService"] = parts[1]
    return route


def _only_if_given(fields: dict[str, Any]) -> dict[str, Any]:
    # Sent when given so that the server names the flag that does not apply to COMPOSE.
    return {key: value for key, value in fields.items() if value is not None}


def env_input(args: argparse.Namespace) -> list[dict[str, Any]] | None:
    if args.env is None and args.secret is None:
        return None
    items = []
    for flag, values, secret in (("--env", args.env, False), ("--secret", args.secret, True)):
        for value in values or []:
            key, equals, text = value.partition("=")
            if not equals or not key:
                raise UsageProblem(f"{flag}: expected KEY=VALUE, got {value!r}")
            items.append({"key": key, "value": text, "secret": secret})
    return items


def default_name(args: argparse.Namespace) -> str:
    """A DNS-label-like name from what is deployed: nginx:alpine → nginx, ./shop/compose.yaml → shop."""
    if args.image:
        base = args.image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]
    elif args.repo:
        base = args.repo.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    else:
        base = Path(args.compose).resolve().parent.name
    name = re.sub(r"[^a-z0-9-]+", "-", base.lower()).strip("-")[:63].strip("-")
    if not name:
        raise UsageProblem("cannot derive a service name: give --name")
    return name
