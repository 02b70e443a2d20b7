"""The privilege policy on compose content through the API: spellings compose reads as
privileged, and YAML that expands beyond its bound, are refused and nothing is stored."""

from __future__ import annotations

import pytest

from tests.domain.test_privilege import CASES, _laughs, _service_yaml
from tests.support.names import unique

from .conftest import Api

REFUSED = {
    "quoted-yes": (_service_yaml('privileged: "yes"'), "services.web.privileged"),
    "merge-key": (CASES["merge-key"][0], "services.web.privileged"),
    "network-named-host": (CASES["network-named-host"][0], "networks.outside.name"),
    "volumes-from-container": (CASES["volumes-from-container"][0], "services.web.volumes_from[0]"),
    "interpolated": (CASES["interpolated-default-true"][0], "services.web.privileged"),
    "unknown-key": (CASES["unknown-service-key"][0], "services.web.net"),
}
COMPOSE_FIELD = ["input", "source", "composeContent"]


@pytest.mark.parametrize("name", list(REFUSED))
async def test_compose_content_the_policy_refuses(api: Api, name: str) -> None:
    content, where = REFUSED[name]
    ordinary, project = await api.create_server(), await api.create_project()
    plain = await api.create_service(ordinary, project)
    before = await api.snapshot()
    source = {"type": "COMPOSE", "composeContent": content}
    created = await api.mutate("createService", {
        "projectId": project["id"], "environment": "production", "name": unique("svc"),
        "serverId": ordinary["id"], "source": source}, "service { id }")
    updated = await api.mutate("updateService", {"serviceId": plain["id"], "source": source}, "service { id }")
    for payload in (created, updated):
        assert payload["service"] is None
        [error] = payload["errors"]
        assert (error["code"], error["field"]) == ("INVALID_INPUT", COMPOSE_FIELD)
        assert error["message"].startswith(f"{where}: ") and "allowPrivileged" in error["message"]
    assert await api.snapshot() == before


async def test_env_that_makes_stored_content_privileged_is_refused(api: Api) -> None:
    ordinary, project = await api.create_server(), await api.create_project()
    content = _service_yaml("network_mode: ${NM}")
    created = await api.ok("createService", {
        "projectId": project["id"], "environment": "production", "name": unique("svc"),
        "serverId": ordinary["id"], "source": {"type": "COMPOSE", "composeContent": content},
        "env": [{"key": "NM", "value": "bridge"}]}, "service { id }")
    before = await api.snapshot()
    updated = await api.mutate("updateService", {"serviceId": created["service"]["id"],
                                                 "env": [{"key": "NM", "value": "host"}]}, "service { id }")
    [error] = updated["errors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "env"])
    assert "services.web.network_mode" in error["message"]
    assert await api.snapshot() == before


async def test_yaml_aliases_beyond_the_bound_are_refused(api: Api) -> None:
    privileged, project = await api.create_server(allowPrivileged=True), await api.create_project()
    before = await api.snapshot()
    payload = await api.mutate("createService", {
        "projectId": project["id"], "environment": "production", "name": unique("svc"),
        "serverId": privileged["id"], "source": {"type": "COMPOSE", "composeContent": _laughs(9)}},
        "service { id }")
    [error] = payload["errors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", COMPOSE_FIELD)
    assert "expands to more than" in error["message"]
    assert await api.snapshot() == before


async def test_a_compose_service_env_with_a_reserved_name_is_refused(api: Api) -> None:
    privileged, project = await api.create_server(allowPrivileged=True), await api.create_project()
    env = [{"key": "TAG", "value": "1"}, {"key": "DOCKER_CONFIG", "value": "/srv/plugins", "secret": True}]
    before = await api.snapshot()
    created = await api.mutate("createService", {
        "projectId": project["id"], "environment": "production", "name": unique("svc"),
        "serverId": privileged["id"], "source": {"type": "COMPOSE", "composeContent": _service_yaml("")},
        "env": env}, "service { id }")
    assert created["service"] is None
    [error] = created["errors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "env", "1", "key"])
    assert error["message"].startswith("DOCKER_CONFIG is reserved in the env of a COMPOSE service: ")
    assert "/srv/plugins" not in error["message"]
    assert await api.snapshot() == before
    # The same env on an IMAGE service reaches only its container: accepted.
    await api.ok("createService", {
        "projectId": project["id"], "environment": "production", "name": unique("svc"),
        "serverId": privileged["id"], "source": {"type": "IMAGE", "image": "nginx:1"}, "env": env},
        "service { id }")
