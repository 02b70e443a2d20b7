"""Routes through the server's proxy: each bad route names its field and stores nothing;
a valid one is stored with its default drain and frozen into deployments."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from berth.domain.deployments import start_deployment
from berth.domain.errors import InvalidInput
from berth.domain.inventory import create_server, create_service, update_service
from berth.domain.specs import RouteSpec, ServerSpec, ServiceSpec, ServiceUpdateSpec, SourceSpec, StartSpec
from berth.models import Service
from berth.models.enums import SourceType
from tests.support.names import unique

from . import owner, project, row_counts, server

COMPOSE = "services:\n  web:\n    image: nginx:alpine\n  db:\n    image: postgres\n    ports: ['5432:5432']\n"
Call = Callable[[dict[str, Any]], Awaitable[Any]]


def route(**fields: Any) -> RouteSpec:
    return RouteSpec(**{"host": "web.example.test", "container_port": 8080, **fields})


async def create(ctx: dict[str, Any], source: SourceSpec | None = None, **fields: Any) -> Service:
    return await create_service(owner(), ServiceSpec(
        project_id=ctx["project"].id, environment="production", name=unique("svc"), server_id=ctx["server"].id,
        source=source or SourceSpec(type=SourceType.IMAGE, image="nginx:alpine"), **fields))


def at(*path: str) -> list[str]:
    return ["input", "route", *path]


BAD_ROUTES: list[tuple[str, Call, list[str]]] = [
    ("host-taken", lambda c: create(c, route=route(host="taken.example.test")), at("host")),
    ("host-taken-on-update", lambda c: update_service(owner(), ServiceUpdateSpec(
        service_id=c["plain"].id, route=route(host="taken.example.test"))), at("host")),
    ("host-uppercase", lambda c: create(c, route=route(host="Web.example.test")), at("host")),
    ("host-with-port", lambda c: create(c, route=route(host="web.example.test:80")), at("host")),
    ("host-single-label", lambda c: create(c, route=route(host="localhost")), at("host")),
    ("host-wildcard", lambda c: create(c, route=route(host="*.example.test")), at("host")),
    ("port-zero", lambda c: create(c, route=route(container_port=0)), at("containerPort")),
    ("port-too-big", lambda c: create(c, route=route(container_port=65536)), at("containerPort")),
    ("drain-over-300", lambda c: create(c, route=route(drain_seconds=301)), at("drainSeconds")),
    ("drain-negative", lambda c: create(c, route=route(drain_seconds=-1)), at("drainSeconds")),
    ("prefix-without-slash", lambda c: create(c, route=route(path_prefix="api")), at("pathPrefix")),
    ("prefix-wildcard", lambda c: create(c, route=route(path_prefix="/api*")), at("pathPrefix")),
    ("fixed-host-port", lambda c: create(c, SourceSpec(type=SourceType.IMAGE, image="nginx:alpine",
                                                       ports=["8080:80"]), route=route()), at("host")),
    ("compose-service-missing", lambda c: create(c, SourceSpec(type=SourceType.COMPOSE, compose_content=COMPOSE),
                                                 route=route(compose_service="api")), at("composeService")),
    ("compose-service-not-given", lambda c: create(c, SourceSpec(type=SourceType.COMPOSE,
                                                                 compose_content=COMPOSE), route=route()),
     at("composeService")),
    ("compose-fixed-host-port", lambda c: create(c, SourceSpec(type=SourceType.COMPOSE, compose_content=COMPOSE),
                                                 route=route(compose_service="db")), at("composeService")),
    ("compose-service-on-image", lambda c: create(c, route=route(compose_service="web")), at("composeService")),
]


@pytest.mark.parametrize("call,field", [(c, f) for _, c, f in BAD_ROUTES], ids=[i for i, _, _ in BAD_ROUTES])
async def test_bad_route_names_its_field_and_stores_nothing(db, call: Call, field: list[str]) -> None:
    ctx: dict[str, Any] = {"server": await server(), "project": await project()}
    await create(ctx, route=route(host="taken.example.test"))
    ctx["plain"] = await create(ctx)
    before = await row_counts()
    with pytest.raises(InvalidInput) as caught:
        await call(ctx)
    assert field in [error.field for error in caught.value.errors], caught.value.errors
    assert all(error.code == "INVALID_INPUT" for error in caught.value.errors)
    assert await row_counts() == before
    assert (await Service.get(id=ctx["plain"].id)).route is None


async def test_the_host_names_the_service_that_routes_it(db) -> None:
    ctx: dict[str, Any] = {"server": await server(), "project": await project()}
    first = await create(ctx, route=route())
    with pytest.raises(InvalidInput) as caught:
        await create(ctx, route=route())
    assert first.name in caught.value.errors[0].message


async def test_the_same_host_is_free_on_another_server_and_under_another_prefix(db) -> None:
    ctx: dict[str, Any] = {"server": await server(), "project": await project()}
    await create(ctx, route=route())
    api = await create(ctx, route=route(path_prefix="/api/"))
    assert api.route["pathPrefix"] == "/api"
    other = {"server": await server(), "project": ctx["project"]}
    assert (await create(other, route=route())).route["host"] == "web.example.test"


async def test_a_route_is_stored_with_its_default_drain_and_frozen(db) -> None:
    ctx: dict[str, Any] = {"server": await server(), "project": await project()}
    service = await create(ctx, route=route())
    assert service.route == {"host": "web.example.test", "pathPrefix": None, "containerPort": 8080,
                             "composeService": None, "drainSeconds": 10}
    deployment = await start_deployment(owner(), StartSpec(service_id=service.id))
    assert deployment.frozen_input["route"] == service.route
    updated = await update_service(owner(), ServiceUpdateSpec(service_id=service.id,
                                                              route=route(drain_seconds=0)))
    assert updated.route["drainSeconds"] == 0
    compose = await create(ctx, SourceSpec(type=SourceType.COMPOSE, compose_content=COMPOSE),
                           route=route(host="c.example.test", compose_service="web"))
    assert compose.route["composeService"] == "web"


@pytest.mark.parametrize("listen", ["0.0.0.0:80", "127.0.0.1:18080", "[::]:8080"])
async def test_proxy_listen_is_stored(db, listen: str) -> None:
    stored = await create_server(owner(), ServerSpec(name=unique("srv"), docker_host="unix:///var/run/docker.sock",
                                                     proxy_listen=listen))
    assert stored.proxy_listen == listen


@pytest.mark.parametrize("listen", ["80", "0.0.0.0", "0.0.0.0:0", "0.0.0.0:70000", "web:80", "0.0.0.0:80-81"])
async def test_bad_proxy_listen_is_refused(db, listen: str) -> None:
    before = await row_counts()
    with pytest.raises(InvalidInput) as caught:
        await create_server(owner(), ServerSpec(name=unique("srv"), docker_host="unix:///var/run/docker.sock",
                                                proxy_listen=listen))
    assert [e.field for e in caught.value.errors] == [["input", "proxyListen"]]
    assert await row_counts() == before
