"""Routes and the server proxy through the real server: `Service.route`, `Server.proxy`,
`CreateServerInput.proxyListen`, and refusals that name `input.route.*` and store nothing."""

from __future__ import annotations

from typing import Any

from berth.models import Server
from tests.support.names import unique

from .conftest import Api, pk

ROUTE_FIELDS = "route { host pathPrefix containerPort composeService drainSeconds }"
PROXY_FIELDS = "proxy { state image httpAddress routes upstreams { host pathPrefix upstream deployment { id } } }"


async def routed(api: Api, server: dict[str, Any], project: dict[str, Any], host: str,
                 **route: Any) -> dict[str, Any]:
    values = {"projectId": project["id"], "environment": "production", "name": unique("svc"),
              "serverId": server["id"], "source": {"type": "IMAGE", "image": "nginx:alpine"},
              "route": {"host": host, "containerPort": 80, **route}}
    return await api.mutate("createService", values, f"service {{ id {ROUTE_FIELDS} }} errors {{ code field }}")


async def test_a_route_and_the_proxy_read_back(api: Api) -> None:
    server = await api.create_server(proxyListen="127.0.0.1:18080")
    project = await api.create_project()
    host = f"{unique('web')}.example.test"
    created = await routed(api, server, project, host, pathPrefix="/app", drainSeconds=3)
    assert created["errors"] == []
    assert created["service"]["route"] == {"host": host, "pathPrefix": "/app", "containerPort": 80,
                                           "composeService": None, "drainSeconds": 3}
    data = await api.query(f'query S($id: ID!) {{ node(id: $id) {{ ... on Server {{ {PROXY_FIELDS} }} }} }}',
                           {"id": server["id"]})
    # No deployment has run: no proxy yet, but one route waits for it.
    assert data["node"]["proxy"] == {"state": "ABSENT", "image": None, "httpAddress": None, "routes": 1,
                                     "upstreams": []}
    # What the runner last read from the proxy is what the API shows.
    await Server.filter(id=pk(server["id"])).update(proxy_status={
        "state": "RUNNING", "image": "caddy:2-alpine", "httpAddress": "127.0.0.1:18080",
        "upstreams": [{"host": host, "pathPrefix": "/app", "upstream": "berth-web-1-1:80", "deploymentId": None}]})
    data = await api.query(f'query S($id: ID!) {{ node(id: $id) {{ ... on Server {{ {PROXY_FIELDS} }} }} }}',
                           {"id": server["id"]})
    assert data["node"]["proxy"]["state"] == "RUNNING"
    assert data["node"]["proxy"]["upstreams"] == [{"host": host, "pathPrefix": "/app",
                                                   "upstream": "berth-web-1-1:80", "deployment": None}]


async def test_bad_routes_are_refused_and_store_nothing(api: Api) -> None:
    server = await api.create_server()
    project = await api.create_project()
    host = f"{unique('web')}.example.test"
    assert (await routed(api, server, project, host))["errors"] == []
    before = await api.snapshot()
    cases = [
        ({"host": host}, ["input", "route", "host"]),  # routed by the first service already
        ({"host": "Not A Host"}, ["input", "route", "host"]),
        ({"host": f"b.{host}", "containerPort": 0}, ["input", "route", "containerPort"]),
        ({"host": f"b.{host}", "containerPort": 70000}, ["input", "route", "containerPort"]),
        ({"host": f"b.{host}", "drainSeconds": 301}, ["input", "route", "drainSeconds"]),
    ]
    for route, field in cases:
        answer = await routed(api, server, project, **{"containerPort": 80, **route})
        assert answer["service"] is None, route
        assert ("INVALID_INPUT", field) in [(e["code"], e["field"]) for e in answer["errors"]], \
            (route, answer["errors"])
    refused = await api.mutate("createServer", {"name": unique("srv"), "dockerHost": "unix:///x.sock",
                                                "proxyListen": "everywhere"}, "server { id } errors { code field }")
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID_INPUT", ["input", "proxyListen"])]
    assert await api.snapshot() == before
