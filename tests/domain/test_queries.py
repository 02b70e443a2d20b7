"""Deployment lists: keyset pagination under inserts, every filter, project limits, queue positions."""

from __future__ import annotations

from typing import Any

import pytest

from berth.domain.cancel import cancel_deployment
from berth.domain.deployments import start_deployment
from berth.domain.errors import InvalidInput, UserFacingError
from berth.domain.queries import (
    get_visible,
    list_deployments,
    list_log_lines,
    queue_position,
    queue_positions,
)
from berth.domain.specs import DeploymentFilterSpec, StartSpec
from berth.models import Deployment, Environment, Project, Server, Service
from berth.models.enums import Role, TokenKind
from berth.models.lifecycle import LogEntry, append_logs

from . import S, image_service, owner, project, run_to, server, succeed

TOTAL = 250


async def _start(service: Service, principal: Any = None) -> Deployment:
    return await start_deployment(principal or owner(), StartSpec(service_id=service.id))


async def _many(count: int) -> tuple[list[Service], list[int]]:
    target = await server(max_queued_deployments=1000)
    services = [await image_service(target) for _ in range(5)]
    ids = [(await _start(services[i % 5])).id for i in range(count)]
    return services, ids


async def test_forward_pages_survive_inserts(db) -> None:
    services, ids = await _many(TOTAL)
    expected = list(reversed(ids))  # newest first
    seen: list[int] = []
    after = None
    pages = 0
    while True:
        page = await list_deployments(owner(), None, first=40, after=after)
        seen.extend(d.id for d in page.nodes)
        assert page.cursors and page.end_cursor == page.cursors[-1] and page.start_cursor == page.cursors[0]
        assert page.has_previous_page == (pages > 0)
        pages += 1
        # New deployments arrive while the client pages: they are newer than every cursor.
        await _start(services[pages % 5])
        if not page.has_next_page:
            break
        after = page.end_cursor
    assert seen == expected
    assert pages == 7
    assert page.total_count == TOTAL + pages - 1  # counted before the last insert


async def test_backward_pages_survive_inserts(db) -> None:
    services, ids = await _many(TOTAL)
    seen: list[int] = []
    before = None
    pages = 0
    while True:
        page = await list_deployments(owner(), None, last=33, before=before)
        seen = [d.id for d in page.nodes] + seen
        pages += 1
        await _start(services[pages % 5])
        if not page.has_previous_page:
            break
        assert page.has_next_page == (before is not None)
        before = page.start_cursor
    # `last` starts at the end of the newest-first list (the oldest rows) and pages towards
    # its start, where the rows inserted meanwhile arrive: they are reached too, once each.
    assert len(seen) == len(set(seen))
    assert seen[-TOTAL:] == list(reversed(ids))
    assert seen[:-TOTAL] == sorted(seen[:-TOTAL], reverse=True)
    assert len(seen) > TOTAL


async def test_page_size_and_cursor_validation(db) -> None:
    for kwargs, field in (
        ({"first": 0}, ["first"]),
        ({"first": 101}, ["first"]),
        ({"last": 0}, ["last"]),
        ({"last": 101}, ["last"]),
        ({"first": 5, "last": 5}, ["last"]),
        ({"after": "not-a-cursor"}, ["after"]),
        ({"before": "eyJ4IjoxfQ=="}, ["before"]),
    ):
        with pytest.raises(InvalidInput) as caught:
            await list_deployments(owner(), None, **kwargs)
        assert field in [e.field for e in caught.value.errors]
    with pytest.raises(InvalidInput) as caught:
        await list_deployments(owner(), DeploymentFilterSpec(status=["RUNNING"]))
    assert caught.value.errors[0].field == ["filter", "status"]
    empty = await list_deployments(owner(), None)
    assert (empty.nodes, empty.total_count, empty.start_cursor, empty.has_next_page) == ([], 0, None, False)


async def test_default_page_is_twenty(db) -> None:
    await _many(25)
    page = await list_deployments(owner(), None)
    assert len(page.nodes) == 20 and page.has_next_page and page.total_count == 25


async def test_every_filter(db) -> None:
    server_a, server_b = await server(max_queued_deployments=100), await server(max_queued_deployments=100)
    proj_a, proj_b = await project(environments=["production", "staging"]), await project()
    svc_a = await image_service(server_a, proj_a)
    svc_b = await image_service(server_b, proj_b)
    agent = owner(role=Role.AGENT, token_id=9)
    user = owner(token_kind=TokenKind.JWT)
    skipped = await _start(svc_a)
    succeeded = await _start(svc_a, agent)
    await succeed(succeeded.id)
    canceled = await _start(svc_b, user)
    await cancel_deployment(owner(), canceled.id, None)
    running = await _start(svc_b)
    await run_to(running.id, S.DEPLOY)
    queued = await _start(svc_a)
    # `skipped` was superseded by `succeeded`'s start.

    async def ids(**fields: Any) -> set[int]:
        page = await list_deployments(owner(), DeploymentFilterSpec(**fields), first=100)
        assert page.total_count == len(page.nodes)
        return {d.id for d in page.nodes}

    assert await ids(project_id=proj_a.id) == {skipped.id, succeeded.id, queued.id}
    assert await ids(service_id=svc_b.id) == {canceled.id, running.id}
    env_b = await Environment.get(project_id=proj_b.id, name="production")
    assert await ids(environment_id=env_b.id) == {canceled.id, running.id}
    assert await ids(server_id=server_a.id) == {skipped.id, succeeded.id, queued.id}
    assert await ids(status=["QUEUED", "DEPLOY"]) == {queued.id, running.id}
    assert await ids(conclusion=["SKIPPED"]) == {skipped.id}
    assert await ids(conclusion=["SUCCEEDED", "CANCELED"]) == {succeeded.id, canceled.id}
    assert await ids(trigger=["AGENT"]) == {succeeded.id}
    assert await ids(trigger=["USER"]) == {canceled.id}
    assert await ids(trigger=["API"], project_id=proj_b.id) == {running.id}
    assert await ids(created_after=canceled.created_at) == {running.id, queued.id}
    assert await ids(created_before=canceled.created_at) == {skipped.id, succeeded.id}
    assert await ids(created_after=skipped.created_at, created_before=queued.created_at) == {
        succeeded.id, canceled.id, running.id
    }
    assert await ids(status=[]) == set()


async def test_project_limited_principal_sees_only_its_projects(db) -> None:
    mine, theirs = await project(), await project()
    target = await server()
    my_service, their_service = await image_service(target, mine), await image_service(target, theirs)
    my_deployment, their_deployment = await _start(my_service), await _start(their_service)
    limited = owner(project_ids=[mine.id])
    page = await list_deployments(limited, None)
    assert [d.id for d in page.nodes] == [my_deployment.id] and page.total_count == 1
    for fields in ({"project_id": theirs.id}, {"service_id": their_service.id}):
        page = await list_deployments(limited, DeploymentFilterSpec(**fields))
        assert page.nodes == [] and page.total_count == 0
    assert await get_visible(limited, Deployment, their_deployment.id) is None
    assert await get_visible(limited, Service, their_service.id) is None
    assert await get_visible(limited, Project, theirs.id) is None
    assert await get_visible(limited, Environment, (await Environment.get(project_id=theirs.id)).id) is None
    assert await get_visible(limited, Deployment, my_deployment.id) is not None
    # Servers belong to no project.
    assert await get_visible(limited, Server, target.id) is not None
    assert await get_visible(owner(), Deployment, their_deployment.id) is not None
    assert await get_visible(owner(), Deployment, 10**9) is None


async def test_queue_positions_count_per_server(db) -> None:
    server_a, server_b = await server(), await server()
    a1, a2, b1 = await image_service(server_a), await image_service(server_a), await image_service(server_b)
    first, second, other = await _start(a1), await _start(a2), await _start(b1)
    assert [await queue_position(d) for d in (first, second, other)] == [1, 2, 1]
    await run_to(first.id, S.PREPARE)
    first = await Deployment.get(id=first.id)
    assert await queue_positions([first, second, other]) == {first.id: None, second.id: 1, other.id: 1}


async def test_log_lines_page_by_seq(db) -> None:
    deployment = await _start(await image_service())
    await append_logs(deployment.id, [LogEntry(text=f"line {n}") for n in range(1, 26)])
    page = await list_log_lines(deployment.id, first=10)
    assert [line.seq for line in page.nodes] == list(range(1, 11))
    assert page.has_next_page and not page.has_previous_page
    page = await list_log_lines(deployment.id, first=10, after=page.end_cursor)
    assert [line.seq for line in page.nodes] == list(range(11, 21)) and page.has_previous_page
    page = await list_log_lines(deployment.id, first=10, after=page.end_cursor)
    assert [line.text for line in page.nodes] == [f"line {n}" for n in range(21, 26)]
    assert not page.has_next_page
    # The cursor is the seq (what `Deployment.logs` hands out): a client may resume from a line it holds.
    assert page.start_cursor == "21" and page.cursors == [str(n) for n in range(21, 26)]
    assert [line.seq for line in (await list_log_lines(deployment.id, after="3", first=2)).nodes] == [4, 5]
    with pytest.raises(UserFacingError) as caught:
        await list_log_lines(deployment.id, first=500)
    assert caught.value.field == ["first"]
    for bad in ("x", "-1", str(2**31)):
        with pytest.raises(UserFacingError) as caught:
            await list_log_lines(deployment.id, after=bad)
        assert (caught.value.field, caught.value.message) == (["after"], "`after` is not a log cursor.")


async def test_fetched_rows_are_the_instances_tortoise_builds(db) -> None:
    from berth.auth.api_tokens import create_api_token
    from berth.models import ApiToken, DeploymentStep
    from berth.models.sql import fetch_rows

    _, ids = await _many(12)
    await succeed(ids[-1])  # timestamps, a conclusion and step details set
    await run_to(ids[-2], S.DEPLOY)
    await create_api_token("rows", Role.VIEWER, None, [], 30, "test", None)
    queries: list[Any] = [
        Deployment.all().order_by("-created_at", "-id"),
        Deployment.all().order_by("id").only("id", "created_at", "status", "actor", "service_id"),
        DeploymentStep.all().order_by("id"),
        Service.all(), Server.all(), Project.all(), Environment.all(), ApiToken.all(),
    ]  # fmt: skip
    for query in queries:
        built = await query
        fetched = await fetch_rows(query)
        assert built, query
        assert [type(row) for row in fetched] == [type(row) for row in built]
        for mine, theirs in zip(fetched, built, strict=True):
            assert vars(mine) == vars(theirs)
            assert {k: type(v) for k, v in vars(mine).items()} == {k: type(v) for k, v in vars(theirs).items()}
            for key, value in vars(theirs).items():
                if hasattr(value, "tzinfo"):
                    assert getattr(vars(mine)[key], "tzinfo", None) == value.tzinfo, key
