"""Deployment lists end to end: keyset pagination forward and backward over 250 deployments
while new ones are created between pages (no row repeated, none missing), page limits and
bad cursors, and every filter of `DeploymentFilter`."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from tortoise.transactions import in_transaction

from berth.models import Deployment as DeploymentRow
from berth.models import Service as ServiceRow
from berth.models.enums import DeploymentConclusion, DeploymentStatus, DeploymentTrigger
from berth.models.lifecycle import create_deployment
from tests.domain import S, run_to, succeed

from .conftest import Api, gid, pk

PAGE = """query P($first: Int, $after: String, $last: Int, $before: String, $filter: DeploymentFilter) {
  deployments(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    totalCount
    edges { cursor node { id createdAt } }
    nodes { id }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""
BASE = 250
PAGE_SIZE = 40
NEW_PER_PAGE = 3
EAST = timezone(timedelta(hours=5, minutes=30))
WEST = timezone(timedelta(hours=-8))


async def insert_base(service: dict[str, Any], count: int) -> list[int]:
    """`count` concluded deployments in the past, five to a timestamp (so the keyset's id
    tie-break matters); returns their ids newest first."""
    row = await ServiceRow.get(id=pk(service["id"]))
    start = datetime.now(UTC) - timedelta(hours=1)
    created: list[tuple[datetime, int]] = []
    async with in_transaction() as conn:
        for index in range(count):
            moment = start + timedelta(milliseconds=index // 5)
            deployment = await create_deployment(
                conn, service_id=row.id, project_id=row.project_id, environment_id=row.environment_id,
                server_id=row.server_id, number=index + 1, trigger=DeploymentTrigger.API, created_at=moment,
                actor={"subject": "e2e", "email": None, "role": "OWNER", "tokenKind": "API_TOKEN"},
                input={"sourceType": "IMAGE"}, config_snapshot={}, declared_config={}, frozen_input={},
            )
            created.append((moment, deployment.id))
        await DeploymentRow.filter(id__in=[pk_ for _, pk_ in created]).using_db(conn).update(
            status=DeploymentStatus.COMPLETED, conclusion=DeploymentConclusion.SUCCEEDED, concluded_at=start)
        await ServiceRow.filter(id=row.id).using_db(conn).update(last_deployment_number=count)
    return [pk_ for _, pk_ in sorted(created, reverse=True)]


async def test_pages_forward_and_backward_while_deployments_arrive(api: Api) -> None:
    service = await api.create_service()
    base = await insert_base(service, BASE)
    flt = {"serviceId": service["id"]}
    arrived: list[int] = []

    async def arrive() -> None:
        for _ in range(NEW_PER_PAGE):
            arrived.append(pk((await api.start(service, selection="id"))["id"]))

    # Forward from the newest: what arrives meanwhile is newer than the first page, so the
    # pass returns exactly the deployments that existed when it began, in order.
    forward: list[int] = []
    after = None
    pages = 0
    while True:
        page = (await api.query(PAGE, {"first": PAGE_SIZE, "after": after, "filter": flt}))["deployments"]
        ids = [pk(node["id"]) for node in page["nodes"]]
        assert [pk(edge["node"]["id"]) for edge in page["edges"]] == ids
        assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        assert page["pageInfo"]["hasPreviousPage"] is (pages > 0)
        assert page["totalCount"] == BASE + len(arrived)
        forward.extend(ids)
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        assert len(ids) == PAGE_SIZE
        await arrive()
        after = page["pageInfo"]["endCursor"]
    assert pages == -(-BASE // PAGE_SIZE)
    assert forward == base

    # Backward from the oldest: each page is newer than the last, so what arrives meanwhile
    # is reached at the end; every deployment once, none missing.
    backward_pages: list[list[int]] = []
    before = None
    while True:
        page = (await api.query(PAGE, {"last": PAGE_SIZE, "before": before, "filter": flt}))["deployments"]
        ids = [pk(node["id"]) for node in page["nodes"]]
        assert page["pageInfo"]["hasNextPage"] is bool(backward_pages)
        assert page["totalCount"] == BASE + len(arrived)
        backward_pages.append(ids)
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        assert len(ids) == PAGE_SIZE
        await arrive()
        before = page["pageInfo"]["startCursor"]
    backward = [pk_ for ids in reversed(backward_pages) for pk_ in ids]
    assert len(backward) == len(set(backward))
    assert backward == list(reversed(arrived)) + base
    assert len(arrived) > 10 * NEW_PER_PAGE

    # The service's own connection pages the same list.
    nested = await api.query('query S($id: ID!) { service(id: $id) { deployments(first: 100) { totalCount '
                             'nodes { id } } } }', {"id": service["id"]})
    assert [pk(n["id"]) for n in nested["service"]["deployments"]["nodes"]] == backward[:100]
    assert nested["service"]["deployments"]["totalCount"] == len(backward)


async def test_page_limits_and_bad_cursors(api: Api) -> None:
    service = await api.create_service()
    await api.start(service, selection="id")
    token = await api.token()
    flt = {"serviceId": service["id"]}
    default = (await api.query(PAGE, {"filter": {}}))["deployments"]
    assert len(default["nodes"]) == min(20, default["totalCount"])  # default page: 20
    valid = (await api.query(PAGE, {"first": 1, "filter": flt}))["deployments"]["pageInfo"]["endCursor"]
    moment = json.loads(base64.urlsafe_b64decode(valid))["t"]
    huge = base64.urlsafe_b64encode(json.dumps({"t": moment, "i": 10**30}).encode()).decode()
    for variables in ({"first": 0}, {"first": 101}, {"last": 0}, {"last": 101}, {"first": 5, "last": 5},
                      {"after": "not-a-cursor"}, {"before": "bm9wZQ"}, {"after": huge}):
        body = api.post(PAGE, {**variables, "filter": flt}, token)
        assert body["data"]["deployments"] is None, (variables, body)
        assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
            (["deployments"], "BAD_USER_INPUT")], (variables, body)
    largest = (await api.query(PAGE, {"first": 100, "filter": flt}))["deployments"]
    assert largest["totalCount"] == 1


@dataclass
class Row:
    id: str
    project: str
    environment: str
    server: str
    service: str
    status: str
    conclusion: str | None
    trigger: str
    created_at: datetime


async def test_every_filter(api: Api) -> None:
    began = datetime.now(UTC)
    s1, s2 = await api.create_server(), await api.create_server()
    p1 = await api.create_project(environments=["production", "staging"])
    p2 = await api.create_project()
    a = await api.create_service(s1, p1)
    b = await api.create_service(s2, p1, environment="staging")
    c = await api.create_service(s1, p2)

    a1 = await api.start(a, selection="id")
    await succeed(pk(a1["id"]))
    a2 = await api.start(a, role="agent", selection="id")
    a3 = await api.start(a, selection="id")  # supersedes a2
    b1 = await api.start(b, role="agent", selection="id")
    await api.ok("cancelDeployment", {"deploymentId": b1["id"]}, "deployment { id }")
    b2 = await api.start(b, selection="id")
    await run_to(pk(b2["id"]), S.PREPARE)
    c1 = await api.start(c, role="agent", selection="id")
    c2 = await api.start(c, role="operator", selection="id")  # supersedes c1

    # The world as the API reports it, plus the two servers' blockers (see conftest).
    ids = [d["id"] for d in (a1, a2, a3, b1, b2, c1, c2)]
    ids += [gid("Deployment", api.server.blockers[s["id"]]) for s in (s1, s2)]
    selection = ("id status conclusion trigger createdAt project { id } environment { id } server { id } "
                 "service { id }")
    world = []
    for deployment_id in ids:
        d = await api.deployment(deployment_id, selection)
        world.append(Row(d["id"], d["project"]["id"], d["environment"]["id"], d["server"]["id"], d["service"]["id"],
                         d["status"], d["conclusion"], d["trigger"], datetime.fromisoformat(d["createdAt"])))
    by_id = {row.id: row for row in world}
    assert [(by_id[d["id"]].status, by_id[d["id"]].conclusion, by_id[d["id"]].trigger)
            for d in (a1, a2, a3, b1, b2, c1, c2)] == [
        ("COMPLETED", "SUCCEEDED", "API"), ("COMPLETED", "SKIPPED", "AGENT"), ("QUEUED", None, "API"),
        ("FAILED", "CANCELED", "AGENT"), ("PREPARE", None, "API"), ("COMPLETED", "SKIPPED", "AGENT"),
        ("QUEUED", None, "API")]
    newest_first = sorted(world, key=lambda r: (r.created_at, pk(r.id)), reverse=True)
    since = {"createdAfter": began.isoformat()}  # confines the filters that are not ids to this world
    staging = next(env["id"] for env in p1["environments"] if env["name"] == "staging")
    middle = by_id[b1["id"]].created_at

    cases: list[tuple[dict[str, Any], Any]] = [
        ({"projectId": p1["id"]}, lambda r: r.project == p1["id"]),
        ({"projectId": p2["id"]}, lambda r: r.project == p2["id"]),
        ({"serviceId": b["id"]}, lambda r: r.service == b["id"]),
        ({"environmentId": staging}, lambda r: r.environment == staging),
        ({"environmentId": a["environment"]["id"]}, lambda r: r.environment == a["environment"]["id"]),
        ({"serverId": s1["id"]}, lambda r: r.server == s1["id"]),
        ({"serverId": s2["id"]}, lambda r: r.server == s2["id"]),
        ({**since, "status": ["QUEUED"]}, lambda r: r.status == "QUEUED"),
        ({**since, "status": ["PREPARE", "FAILED"]}, lambda r: r.status in ("PREPARE", "FAILED")),
        ({**since, "conclusion": ["SKIPPED"]}, lambda r: r.conclusion == "SKIPPED"),
        ({**since, "conclusion": ["SUCCEEDED", "CANCELED"]}, lambda r: r.conclusion in ("SUCCEEDED", "CANCELED")),
        ({**since, "trigger": ["AGENT"]}, lambda r: r.trigger == "AGENT"),
        ({**since, "trigger": ["API", "USER"]}, lambda r: r.trigger == "API"),
        ({"createdAfter": middle.isoformat()}, lambda r: r.created_at > middle),
        ({**since, "createdBefore": middle.isoformat()}, lambda r: r.created_at < middle),
        # The same moments written with other offsets are the same moments.
        ({"createdAfter": middle.astimezone(EAST).isoformat()}, lambda r: r.created_at > middle),
        ({**since, "createdBefore": middle.astimezone(WEST).isoformat()}, lambda r: r.created_at < middle),
        ({"projectId": p1["id"], "status": ["QUEUED", "PREPARE"], "trigger": ["API"]},
         lambda r: r.project == p1["id"] and r.status in ("QUEUED", "PREPARE") and r.trigger == "API"),
        ({"serverId": s1["id"], "conclusion": ["SKIPPED"], "createdBefore": by_id[c2["id"]].created_at.isoformat()},
         lambda r: r.server == s1["id"] and r.conclusion == "SKIPPED" and r.created_at < by_id[c2["id"]].created_at),
    ]
    for flt, wanted in cases:
        page = (await api.query(PAGE, {"first": 100, "filter": flt}))["deployments"]
        expected = [row.id for row in newest_first if wanted(row)]
        assert expected, flt  # every case selects something …
        assert len(expected) < len(world), flt  # … and leaves something out
        assert [node["id"] for node in page["nodes"]] == expected, flt
        assert page["totalCount"] == len(expected), flt

    # The same filter on a service's connection applies within that service.
    nested = await api.query('query S($id: ID!) { service(id: $id) { deployments(filter: {conclusion: [SKIPPED]}) '
                             '{ nodes { id } } } }', {"id": a["id"]})
    assert nested["service"]["deployments"]["nodes"] == [{"id": a2["id"]}]
    # An id of the wrong type is an error on the field, not an empty list.
    body = api.post(PAGE, {"filter": {"serviceId": p1["id"]}}, await api.token())
    assert body["data"]["deployments"] is None and body["errors"], body
