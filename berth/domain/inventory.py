"""Servers, projects and services: validated in full before one transaction stores them."""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from berth.auth.principal import Principal
from berth.domain import privilege
from berth.domain.compose_env import reserved_key_problem
from berth.domain.errors import (
    ErrorList,
    InvalidInput,
    NotPermitted,
    UserErrorCode,
    UserFacingError,
    not_found,
)
from berth.domain.git_auth import stored_git_auth, validate_git_auth
from berth.domain.limits import MAX_ENVIRONMENTS
from berth.domain.queries import get_visible
from berth.domain.resources import resources_fields, validate_resources
from berth.domain.routes import route_conflict, route_fields, validate_route
from berth.domain.secrets import encrypt_optional, stored_env
from berth.domain.service_deletion import refuse_if_deleted, service_label
from berth.domain.specs import ProjectSpec, ServerSpec, ServiceSpec, ServiceUpdateSpec, SourceSpec
from berth.domain.validation import (
    health_check_fields,
    name_problem,
    parse_compose,
    source_fields,
    source_type_of,
    validate_env,
    validate_health_check,
    validate_project,
    validate_server,
    validate_source,
)
from berth.models import Environment, Project, Server, Service
from berth.models.enums import SourceType
from berth.models.sql import CONNECTION
from berth.settings import Settings, get_settings

INPUT = ["input"]
# A project created without a list of environments gets this one (the usual single target).
DEFAULT_ENVIRONMENTS = ("production",)


def _refuse_project_limited(principal: Principal, what: str) -> None:
    # CONTRACT §2: servers and projects belong to no project, so creating them needs a
    # credential that is not limited to projects. UserErrorCode has no FORBIDDEN; see NotPermitted.
    if principal.is_project_limited:
        raise NotPermitted(f"creating {what} needs a credential that is not limited to projects")


def _conflict(message: str, field: list[str]) -> UserFacingError:
    return UserFacingError(UserErrorCode.CONFLICT, message, field)


async def create_server(principal: Principal, spec: ServerSpec) -> Server:
    _refuse_project_limited(principal, "servers")
    validate_server(spec, INPUT).raise_if_any()
    try:
        async with in_transaction(CONNECTION) as conn:
            if await Server.filter(name=spec.name).using_db(conn).exists():
                raise _conflict(f"a server named {spec.name} exists", [*INPUT, "name"])
            values: dict[str, Any] = {
                "name": spec.name,
                "docker_host": spec.docker_host,
                # Key material is stored only encrypted and is never part of any view.
                "tls_ca_cert_enc": encrypt_optional(spec.tls_ca_cert),
                "tls_client_cert_enc": encrypt_optional(spec.tls_client_cert),
                "tls_client_key_enc": encrypt_optional(spec.tls_client_key),
                "ssh_private_key_enc": encrypt_optional(spec.ssh_private_key),
                "ssh_known_hosts": spec.ssh_known_hosts,
                "allow_privileged": bool(spec.allow_privileged),
                "proxy_listen": spec.proxy_listen,
            }
            if spec.max_concurrent_deployments is not None:
                values["max_concurrent_deployments"] = spec.max_concurrent_deployments
            if spec.max_queued_deployments is not None:
                values["max_queued_deployments"] = spec.max_queued_deployments
            return await Server.create(using_db=conn, **values)
    except IntegrityError:
        # A concurrent request took the name between our check and our insert.
        raise _conflict(f"a server named {spec.name} exists", [*INPUT, "name"]) from None


async def create_project(principal: Principal, spec: ProjectSpec) -> Project:
    _refuse_project_limited(principal, "projects")
    validate_project(spec, INPUT).raise_if_any()
    environments = list(spec.environments or DEFAULT_ENVIRONMENTS)
    try:
        async with in_transaction(CONNECTION) as conn:
            if await Project.filter(name=spec.name).using_db(conn).exists():
                raise _conflict(f"a project named {spec.name} exists", [*INPUT, "name"])
            project = await Project.create(using_db=conn, name=spec.name)
            for name in environments:
                await Environment.create(using_db=conn, project=project, name=name)
            return project
    except IntegrityError:
        raise _conflict(f"a project named {spec.name} exists", [*INPUT, "name"]) from None


def _check_service_parts(
    errors: ErrorList,
    source: SourceSpec | None,
    spec: ServiceSpec | ServiceUpdateSpec,
    allow_privileged: bool,
    settings: Settings,
    stored: Service | None = None,
) -> None:
    # Compose interpolates the content with the service's variables: the policy judges the
    # content with the env it will have (the new one, or the stored one when not replaced).
    if spec.env is not None:
        policy_env = privilege.env_of_specs(spec.env)
    else:
        policy_env = privilege.env_of_stored(stored.env if stored is not None else [])
    document: dict[str, Any] | None = None
    if source is not None:
        source_path = [*INPUT, "source"]
        source_errors, document = validate_source(source, source_path, settings)
        errors.extend(source_errors.errors)
        if source.git_auth is not None:
            errors.extend(validate_git_auth(source.git_auth, source.repository, [*source_path, "gitAuth"]).errors)
        if not source_errors:
            # The policy is checked on a well-formed source only: a malformed one is
            # refused anyway, and its problems are reported precisely above.
            volumes = source.volumes if source.type != SourceType.COMPOSE else None
            errors.extend(privilege.check_source(volumes, document, source_path, allow_privileged,
                                                 policy_env).errors)
    elif stored is not None and spec.env is not None and stored.source.get("composeContent"):
        # New variables can change what the stored content interpolates to.
        parsed = parse_compose(str(stored.source["composeContent"]))
        if isinstance(parsed, dict) and not allow_privileged:
            for violation in privilege.compose_violations(parsed, policy_env):
                errors.add([*INPUT, "env"], f"composeContent {violation.message()}")
    kind = source_type_of(source.type) if source is not None else (stored.source_type if stored else None)
    if spec.env is not None:
        errors.extend(validate_env(spec.env, [*INPUT, "env"], kind).errors)
    elif stored is not None and kind is SourceType.COMPOSE and stored.source_type != SourceType.COMPOSE:
        # Becoming a COMPOSE service with the env it has: the env must suit one. (An older
        # COMPOSE record keeps its env; the runner passes no reserved name to compose.)
        for item in stored.env or []:
            if problem := reserved_key_problem(str(item.get("key") or "")):
                errors.add([*INPUT, "env"], f"the service's env: {problem}")
    if spec.health_check is not None:
        errors.extend(validate_health_check(spec.health_check, [*INPUT, "healthCheck"], settings).errors)
    if spec.resources is not None:
        errors.extend(validate_resources(spec.resources, [*INPUT, "resources"]).errors)
    if spec.route is not None:
        # Judged against the source the service will have: the new one, else the stored one.
        declared = source_fields(source) if source is not None else dict(stored.source if stored else {})
        if source is None and declared.get("composeContent"):
            parsed = parse_compose(str(declared["composeContent"]))
            document = parsed if isinstance(parsed, dict) else None
        elif source is None:
            document = None
        errors.extend(validate_route(spec.route, [*INPUT, "route"], kind, declared.get("ports"),
                                     document).errors)


async def _environment_for_service(conn: Any, project: Project, name: str) -> Environment:
    """The project's environment by name, created when it has none yet: there is no other way
    to add one to an existing project, and GitHub and GitLab also create an environment when
    a workflow first names it. Bounded as createProject's list is."""
    # The project row lock orders concurrent first uses of one new name (and the count below).
    await Project.filter(id=project.id).select_for_update().using_db(conn).get()
    environment = await Environment.get_or_none(project_id=project.id, name=name, using_db=conn)
    if environment is not None:
        return environment
    if await Environment.filter(project_id=project.id).using_db(conn).count() >= MAX_ENVIRONMENTS:
        raise InvalidInput([UserFacingError(
            UserErrorCode.INVALID_INPUT,
            f"environment {name} does not exist and the project already has {MAX_ENVIRONMENTS} environments",
            [*INPUT, "environment"],
        )])
    return await Environment.create(using_db=conn, project_id=project.id, name=name)


async def create_service(principal: Principal, spec: ServiceSpec) -> Service:
    project = await get_visible(principal, Project, spec.project_id)
    if project is None:
        raise not_found("project", [*INPUT, "projectId"])
    server = await Server.get_or_none(id=spec.server_id)
    if server is None:
        raise not_found("server", [*INPUT, "serverId"])
    settings = get_settings()
    errors = ErrorList()
    if problem := name_problem(spec.name):
        errors.add([*INPUT, "name"], f"name {problem}")
    if problem := name_problem(spec.environment):
        errors.add([*INPUT, "environment"], f"environment {problem}")
    _check_service_parts(errors, spec.source, spec, server.allow_privileged, settings)
    errors.raise_if_any()
    conflict = _conflict(
        f"a service named {spec.name} exists in {spec.environment}", [*INPUT, "name"]
    )
    try:
        async with in_transaction(CONNECTION) as conn:
            environment = await _environment_for_service(conn, project, spec.environment)
            existing = await Service.filter(environment_id=environment.id, name=spec.name).using_db(conn).first()
            if existing is not None and existing.deleted_at is not None:
                # The name stays taken: the deleted service's deployment records keep it.
                raise _conflict(
                    f"a deleted service named {spec.name} exists in {spec.environment} (its deployment "
                    "records keep the name); choose another name",
                    [*INPUT, "name"],
                )
            if existing is not None:
                raise conflict
            if spec.route is not None:
                (await route_conflict(spec.route, server.id, None, [*INPUT, "route"], conn)).raise_if_any()
            return await Service.create(
                using_db=conn,
                project_id=project.id,
                environment_id=environment.id,
                server_id=server.id,
                name=spec.name,
                source_type=SourceType(str(spec.source.type)),
                source=source_fields(spec.source),
                env=stored_env(spec.env or []),
                health_check=health_check_fields(spec.health_check, settings) if spec.health_check else None,
                auto_rollback=True if spec.auto_rollback is None else spec.auto_rollback,
                resources=resources_fields(spec.resources),
                git_auth=stored_git_auth(spec.source.git_auth),
                route=route_fields(spec.route) if spec.route is not None else None,
            )
    except IntegrityError:
        raise conflict from None


async def update_service(principal: Principal, spec: ServiceUpdateSpec) -> Service:
    service = await get_visible(principal, Service, spec.service_id)
    if service is None:
        raise not_found("service", [*INPUT, "serviceId"])
    label = await service_label(service)
    refuse_if_deleted(service, label)
    server = await Server.get(id=service.server_id)  # type: ignore[attr-defined]
    settings = get_settings()
    errors = ErrorList()
    _check_service_parts(errors, spec.source, spec, server.allow_privileged, settings, stored=service)
    errors.raise_if_any()
    changes: dict[str, Any] = {}
    if spec.source is not None:
        changes["source_type"] = SourceType(str(spec.source.type))
        changes["source"] = source_fields(spec.source)
        # A given source replaces the whole source, its gitAuth included.
        changes["git_auth"] = stored_git_auth(spec.source.git_auth)
    if spec.env is not None:
        changes["env"] = stored_env(spec.env)
    if spec.health_check is not None:
        changes["health_check"] = health_check_fields(spec.health_check, settings)
    if spec.auto_rollback is not None:
        changes["auto_rollback"] = spec.auto_rollback
    if spec.resources is not None:
        changes["resources"] = resources_fields(spec.resources)
    if spec.route is not None:
        changes["route"] = route_fields(spec.route)
    async with in_transaction(CONNECTION) as conn:
        # The row lock orders this update against deployments being created from the service,
        # so a deployment's declared config is the service either before or after it.
        locked = await Service.filter(id=service.id).select_for_update(no_key=True).using_db(conn).get()
        refuse_if_deleted(locked, label)  # deleted meanwhile
        if spec.route is not None:
            (await route_conflict(spec.route, service.server_id, service.id,  # type: ignore[attr-defined]
                                  [*INPUT, "route"], conn)).raise_if_any()
        for name, value in changes.items():
            setattr(locked, name, value)
        if changes:
            await locked.save(using_db=conn)
        return locked
