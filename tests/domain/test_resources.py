"""Resources: the rule for each limit (INVALID_INPUT naming the field, nothing stored or
changed), the stored and frozen form, and what compose is given for each file format."""

from __future__ import annotations

import pytest

from berth.domain.errors import InvalidInput
from berth.domain.inventory import create_service, update_service
from berth.domain.resources import compose_limits, parse_restart_policy
from berth.domain.specs import ResourcesSpec, ServiceSpec, ServiceUpdateSpec, SourceSpec
from berth.models import Service
from tests.support.names import unique

from . import owner, project, row_counts, server

BAD = [
    (ResourcesSpec(memory_mb=5), "memoryMb"),
    (ResourcesSpec(memory_mb=0), "memoryMb"),
    (ResourcesSpec(cpus=0), "cpus"),
    (ResourcesSpec(cpus=-1.5), "cpus"),
    (ResourcesSpec(cpus=0.001), "cpus"),
    (ResourcesSpec(cpus=1025), "cpus"),
    (ResourcesSpec(pids_limit=0), "pidsLimit"),
    (ResourcesSpec(pids_limit=-1), "pidsLimit"),
    (ResourcesSpec(restart_policy="sometimes"), "restartPolicy"),
    (ResourcesSpec(restart_policy="on-failure:0"), "restartPolicy"),
    (ResourcesSpec(restart_policy="Always"), "restartPolicy"),
    (ResourcesSpec(restart_policy=""), "restartPolicy"),
]


def test_restart_policies() -> None:
    assert parse_restart_policy("on-failure:5") is not None
    assert [parse_restart_policy(p) is not None for p in ("no", "always", "unless-stopped", "on-failure")] == [
        True] * 4
    assert parse_restart_policy("on-failure:") is None


async def _make(resources: ResourcesSpec | None, *, on: Service | None = None) -> Service:
    """A service (beside `on`, on its server and project, when given)."""
    target = on.server_id if on else (await server()).id  # type: ignore[attr-defined]
    proj = on.project_id if on else (await project()).id  # type: ignore[attr-defined]
    return await create_service(owner(), ServiceSpec(
        project_id=proj, environment="production", name=unique("svc"), server_id=target,
        source=SourceSpec(type="IMAGE", image="nginx:alpine"), resources=resources))


@pytest.mark.parametrize(("resources", "field"), BAD)
async def test_bad_resources_name_the_field_and_store_nothing(db, resources: ResourcesSpec, field: str) -> None:
    service = await _make(ResourcesSpec(memory_mb=64))
    before = await row_counts()
    with pytest.raises(InvalidInput) as refused:
        await _make(resources, on=service)
    assert [e.field for e in refused.value.errors] == [["input", "resources", field]]
    with pytest.raises(InvalidInput):
        await update_service(owner(), ServiceUpdateSpec(service_id=service.id, resources=resources))
    assert await row_counts() == before
    assert (await Service.get(id=service.id)).resources["memoryMb"] == 64


async def test_every_problem_at_once(db) -> None:
    with pytest.raises(InvalidInput) as refused:
        await _make(ResourcesSpec(memory_mb=1, cpus=0, pids_limit=0, restart_policy="x"))
    assert sorted(e.field[-1] for e in refused.value.errors if e.field) == [
        "cpus", "memoryMb", "pidsLimit", "restartPolicy"]


async def test_stored_with_the_default_restart_policy_and_replaced_whole(db) -> None:
    service = await _make(None)
    assert service.resources == {"memoryMb": None, "cpus": None, "pidsLimit": None,
                                 "restartPolicy": "unless-stopped"}
    service = await update_service(owner(), ServiceUpdateSpec(
        service_id=service.id, resources=ResourcesSpec(memory_mb=6, cpus=1.25, pids_limit=1,
                                                       restart_policy="on-failure:2")))
    assert service.resources == {"memoryMb": 6, "cpus": 1.25, "pidsLimit": 1, "restartPolicy": "on-failure:2"}
    service = await update_service(owner(), ServiceUpdateSpec(service_id=service.id,
                                                              resources=ResourcesSpec(cpus=2)))
    assert service.resources == {"memoryMb": None, "cpus": 2, "pidsLimit": None, "restartPolicy": "unless-stopped"}


RESOURCES = {"memoryMb": 64, "cpus": 0.5, "pidsLimit": 100, "restartPolicy": "always"}


def test_compose_limits_for_each_file_format() -> None:
    short = {"restart": "always", "mem_limit": "64m", "cpus": 0.5, "pids_limit": 100}
    assert compose_limits(RESOURCES, "", {}) == short
    assert compose_limits(RESOURCES, "2.4", {}) == short
    assert compose_limits(RESOURCES, "3.8", {}) == {
        "restart": "always", "deploy": {"resources": {"limits": {"memory": "64m", "cpus": 0.5}}}}
    # A service with `deploy` limits of its own gets them overridden too (compose v2 refuses two
    # different spellings of one limit).
    own = {"deploy": {"resources": {"limits": {"memory": "1g"}}}}
    assert compose_limits(RESOURCES, "", own) == {
        **short, "deploy": {"resources": {"limits": {"memory": "64m", "cpus": 0.5, "pids": 100}}}}
    assert compose_limits({"restartPolicy": "no"}, "", {}) == {"restart": "no"}
    assert compose_limits(None, "", {}) == {"restart": "unless-stopped"}
