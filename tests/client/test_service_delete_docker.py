"""`berth service delete` for real: `berth serve` with its runner on the test Docker daemon.
The API only marks the service deleted; the observer (every second here) removes what it
ran, and Docker itself is asked, by label, whether anything is left."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from berth.runner.labels import INSTALLATION, SERVICE
from berth.schema.ids import from_global_id
from tests.client.conftest import _server, make_cli
from tests.client.support import Cli
from tests.databases import DatabaseTemplates
from tests.docker_fixtures import APP_PORT, BusyboxImage, compose_yaml
from tests.support.polling import wait_until

DEPLOY_TIMEOUT = 120.0


@pytest.fixture
def observing_cli(
    database_templates: DatabaseTemplates, tmp_path: Path, docker_client: docker.DockerClient
) -> Iterator[Cli]:
    env = {"BERTH_STABLE_SECONDS": "1", "BERTH_OBSERVER_INTERVAL_SECONDS": "1"}
    for served in _server(database_templates, "sqlite", tmp_path, [], env):
        yield from make_cli(served, tmp_path, served.token())


def left_behind(client: docker.DockerClient, service_pk: int, installation: str) -> dict[str, list[str]]:
    wanted = [f"{SERVICE}={service_pk}", f"{INSTALLATION}={installation}"]
    return {
        "containers": [c["Names"][0] for c in client.api.containers(all=True, filters={"label": wanted})],
        "volumes": [v["Name"] for v in client.api.volumes(filters={"label": wanted}).get("Volumes") or []],
    }


def test_service_delete_removes_what_it_ran_and_keeps_its_records(
    observing_cli: Cli, busybox_image: BusyboxImage, unique_name: str, tmp_path: Path,
    docker_client: docker.DockerClient, docker_cleanup: list[str],
) -> None:  # fmt: skip
    cli = observing_cli
    docker_cleanup.append(unique_name)
    compose = tmp_path / f"{unique_name}-stack" / "compose.yaml"
    compose.parent.mkdir()
    compose.write_text(compose_yaml(busybox_image.ref("v1")))
    deployed = {
        "image": cli.run("deploy", "--image", busybox_image.ref("v1"), "--name", unique_name, "--project", unique_name,
                         "--port", f"127.0.0.1::{APP_PORT}", "--volume", f"{unique_name}-data:/data", "--json",
                         timeout=DEPLOY_TIMEOUT),
        "compose": cli.run("deploy", "--compose", str(compose), "--project", unique_name, "--json",
                           timeout=DEPLOY_TIMEOUT),
    }  # fmt: skip
    records = {}
    for kind, result in deployed.items():
        assert result.code == 0, (kind, result)
        records[kind] = result.json()
        assert records[kind]["conclusion"] == "SUCCEEDED"
    pks = {kind: from_global_id(r["service"]["id"])[1] for kind, r in records.items()}  # type: ignore[index]
    # By name too: another Berth database on this daemon may have a service with the same row id.
    [running] = docker_client.containers.list(filters={"label": f"{SERVICE}={pks['image']}", "name": unique_name})
    installation = running.labels[INSTALLATION]
    before = left_behind(docker_client, pks["image"], installation)
    assert len(before["containers"]) == 1 and before["volumes"] == [f"{unique_name}-data"]
    assert left_behind(docker_client, pks["compose"], installation)["containers"]

    refused = cli.run("service", "delete", f"{unique_name}/production/{unique_name}")  # no terminal, no --yes
    assert refused.code == 3 and "--yes" in refused.assert_one_line_error()
    assert left_behind(docker_client, pks["image"], installation) == before

    compose_name = f"{unique_name}-stack"
    for name in (f"{unique_name}/production/{unique_name}", compose_name):
        result = cli.run("service", "delete", name, "--yes")
        assert result.code == 0, result
        assert "deleted service" in result.stdout and "stay readable" in result.stdout

    empty = {"containers": [], "volumes": []}
    for kind, pk in pks.items():
        wait_until(lambda pk=pk: left_behind(docker_client, pk, installation) == empty, 60,
                      f"the {kind} service's containers and volumes to be removed")  # fmt: skip
    project = f"berth-{unique_name}-production-{compose_name}"
    wait_until(lambda: not docker_client.networks.list(filters={"label": f"com.docker.compose.project={project}"}),
                  30, "the compose network to be removed")  # fmt: skip

    # The records stay, readable; the service is read-only now.
    for record in records.values():
        assert cli.json("show", record["id"])["conclusion"] == "SUCCEEDED"
        assert [d["id"] for d in cli.json("deployments", "--service", record["service"]["id"])] == [record["id"]]
    again = cli.run("deploy", "--service", records["image"]["service"]["id"], "--detach")
    assert again.code == 3 and "was deleted" in again.assert_one_line_error()
    listed = cli.json("services", "--deleted", "--project", unique_name)
    assert {s["name"] for s in listed if s["deletedAt"]} == {unique_name, compose_name}
    assert cli.json("services", "--project", unique_name) == []
