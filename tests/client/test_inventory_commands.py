"""The health-check flags of `berth deploy`, and `berth services`, `servers`, `tokens`,
`token revoke` against `berth serve --no-runner` (deployments stay QUEUED)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.client.conftest import Served
from tests.client.support import Cli

SERVICE = "query($id: ID!) { service(id: $id) { autoRollback healthCheck { kind port path expectedStatus timeoutSeconds intervalSeconds } } }"


def graphql(cli: Cli, document: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{cli.url}/graphql", json={"query": document, "variables": variables},
                          headers={"Authorization": f"Bearer {cli.token}"}, timeout=30)  # fmt: skip
    body = response.json()
    assert not body.get("errors"), body
    return body["data"]  # type: ignore[no-any-return]


def test_health_flags_reach_the_service(queue_cli: Cli) -> None:
    created = queue_cli.json("deploy", "--image", "nginx:alpine", "--name", "web", "--health-http", "8080:/ready",
                             "--expect-status", "200,204-206", "--health-timeout", "30", "--health-interval", "3",
                             "--no-auto-rollback", "--detach")  # fmt: skip
    service = graphql(queue_cli, SERVICE, {"id": created["service"]["id"]})["service"]
    assert service["autoRollback"] is False
    assert service["healthCheck"] == {"kind": "HTTP", "port": 8080, "path": "/ready",
                                      "expectedStatus": [200, 204, 205, 206], "timeoutSeconds": 30,
                                      "intervalSeconds": 3}  # fmt: skip

    queue_cli.ok("deploy", "--image", "nginx:alpine", "--name", "web", "--health-tcp", "80", "--auto-rollback",
                 "--detach")  # fmt: skip
    service = graphql(queue_cli, SERVICE, {"id": created["service"]["id"]})["service"]
    assert service["autoRollback"] is True
    assert (service["healthCheck"]["kind"], service["healthCheck"]["port"]) == ("TCP", 80)

    queue_cli.ok("deploy", "--image", "nginx:alpine", "--name", "web", "--health-docker", "--detach")
    service = graphql(queue_cli, SERVICE, {"id": created["service"]["id"]})["service"]
    assert (service["healthCheck"]["kind"], service["healthCheck"]["port"]) == ("DOCKER", None)


def test_services_servers_tokens_and_revoke(queue_server: Served, queue_cli: Cli) -> None:
    web = queue_cli.json("deploy", "--image", "nginx:alpine", "--name", "web", "--project", "shop", "--detach")
    queue_cli.json("deploy", "--image", "nginx:alpine", "--name", "api", "--project", "blog", "--detach")

    listed = queue_cli.json("services", "--project", "shop")
    assert [(s["name"], s["project"]["name"]) for s in listed] == [("web", "shop")]
    assert listed[0]["latestDeployment"]["number"] == 1 and listed[0]["deletedAt"] is None
    text = queue_cli.ok("services").stdout
    assert text.splitlines()[0].split()[:3] == ["ID", "SERVICE", "SOURCE"]
    assert "shop/production/web" in text and "blog/production/api" in text and "#1 QUEUED" in text
    assert web["service"]["id"] in text

    servers = queue_cli.json("servers")
    assert [s["name"] for s in servers] == ["local"]
    assert "local" in queue_cli.ok("servers").stdout

    # An admin lists and revokes tokens of its rank and below, never the owner's.
    admin = queue_cli.with_token(queue_server.token("admin", "the-admin"))
    queue_server.token("agent", "ci-bot")
    names = {t["name"] for t in admin.json("tokens")}
    assert {"the-admin", "ci-bot"} <= names and "cli" not in names  # "cli": the owner token of queue_cli
    assert "ci-bot" in admin.ok("tokens").stdout
    revoked = admin.ok("token", "revoke", "ci-bot")
    assert "revoked API token ci-bot" in revoked.stdout
    assert [t for t in admin.json("tokens") if t["name"] == "ci-bot"][0]["revokedAt"]
    owner_id = [t["id"] for t in queue_cli.json("tokens") if t["name"] == "cli"][0]
    refused = admin.run("token", "revoke", owner_id)
    assert refused.code == 3 and "ID|NAME" in refused.assert_one_line_error()
    assert queue_cli.ok("services").code == 0  # the owner token still works


ROUTE = "query($id: ID!) { service(id: $id) { route { host pathPrefix containerPort composeService drainSeconds } } }"


def test_route_flag_and_the_proxy_column(queue_cli: Cli) -> None:
    created = queue_cli.json("deploy", "--image", "nginx:alpine", "--name", "routed", "--route",
                             "web.example.test:8080", "--detach")  # fmt: skip
    route = graphql(queue_cli, ROUTE, {"id": created["service"]["id"]})["service"]["route"]
    assert route == {"host": "web.example.test", "pathPrefix": None, "containerPort": 8080,
                     "composeService": None, "drainSeconds": 10}  # fmt: skip
    # The API's refusal names the flag; a malformed flag is refused before any request.
    taken = queue_cli.run("deploy", "--image", "nginx:alpine", "--name", "other", "--route",
                          "web.example.test:8080", "--detach")  # fmt: skip
    assert taken.code != 0 and "--route: host web.example.test is already routed" in taken.assert_one_line_error()
    malformed = queue_cli.run("deploy", "--image", "nginx:alpine", "--name", "other", "--route", "web", "--detach")
    assert malformed.code != 0 and "--route" in malformed.assert_one_line_error()

    [local] = queue_cli.json("servers")
    assert local["proxy"] == {"state": "ABSENT", "httpAddress": None, "routes": 1, "upstreams": []}
    header, row = queue_cli.ok("servers").stdout.splitlines()[:2]
    assert header.split()[-1] == "PROXY" and row.endswith("ABSENT, 1 route")
