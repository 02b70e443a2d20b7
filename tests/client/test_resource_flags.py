"""`berth deploy --memory --cpus --pids --restart` against `berth serve --no-runner`: the
flags reach the service (and replace its resources as a whole), malformed ones are usage
errors naming the flag, limits the server refuses name the flag too."""

from __future__ import annotations

from tests.client.support import Cli
from tests.client.test_inventory_commands import graphql

SERVICE = "query($id: ID!) { service(id: $id) { resources { memoryMb cpus pidsLimit restartPolicy } } }"


def test_resource_flags_reach_the_service(queue_cli: Cli) -> None:
    created = queue_cli.json("deploy", "--image", "nginx:alpine", "--name", "limited", "--memory", "256m",
                             "--cpus", "0.5", "--pids", "200", "--restart", "always", "--detach")  # fmt: skip
    service_id = created["service"]["id"]
    resources = graphql(queue_cli, SERVICE, {"id": service_id})["service"]["resources"]
    assert resources == {"memoryMb": 256, "cpus": 0.5, "pidsLimit": 200, "restartPolicy": "always"}

    # Without resource flags the service keeps them; given ones replace them whole.
    queue_cli.ok("deploy", "--image", "nginx:alpine", "--name", "limited", "--detach")
    assert graphql(queue_cli, SERVICE, {"id": service_id})["service"]["resources"] == resources
    queue_cli.ok("deploy", "--image", "nginx:alpine", "--name", "limited", "--memory", "1g", "--detach")
    assert graphql(queue_cli, SERVICE, {"id": service_id})["service"]["resources"] == {
        "memoryMb": 1024, "cpus": None, "pidsLimit": None, "restartPolicy": "unless-stopped"}


def test_bad_resource_flags_name_the_flag(queue_cli: Cli) -> None:
    for flags, named in ((["--memory", "lots"], "--memory"), (["--cpus", "half"], "--cpus"),
                         (["--pids", "-3"], "--pids"), (["--memory", "1500k"], "--memory")):
        failed = queue_cli.run("deploy", "--image", "nginx:alpine", "--name", "bad", *flags)
        assert failed.code == 3 and named in failed.assert_one_line_error(), failed
    # Well-formed but refused by the server: INVALID_INPUT, shown with the flag's name.
    for flags, named in ((["--memory", "4m"], "--memory"), (["--cpus", "0"], "--cpus"),
                         (["--restart", "sometimes"], "--restart")):
        failed = queue_cli.run("deploy", "--image", "nginx:alpine", "--name", "bad", *flags)
        assert failed.code == 3 and named in failed.assert_one_line_error(), failed
