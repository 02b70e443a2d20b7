"""`berth registry add … --password-stdin` and `berth registry list` against
`berth serve --no-runner`: the password goes in through stdin only and is never printed."""

from __future__ import annotations

from tests.client.support import Cli


def test_registry_add_and_list(queue_cli: Cli) -> None:
    queue_cli.ok("deploy", "--image", "nginx:alpine", "--name", "web", "--project", "shop", "--detach")
    password = "s3cret-registry-password"
    added = queue_cli.run("registry", "add", "127.0.0.1:5443", "--username", "deployer", "--password-stdin",
                          "--project", "shop", "--json", input=password + "\n")
    assert added.code == 0, added
    credential = added.json()
    assert (credential["registry"], credential["username"], credential["lastUsedAt"]) == (
        "127.0.0.1:5443", "deployer", None)
    listed = queue_cli.json("registry", "list")
    assert [(c["project"], c["registry"], c["username"]) for c in listed] == [("shop", "127.0.0.1:5443", "deployer")]
    table = queue_cli.ok("registry").stdout
    assert "127.0.0.1:5443" in table and "never" in table
    for output in (added.stdout, added.stderr, table):
        assert password not in output

    # Refused by the server: the flag is named, the password is not repeated.
    again = queue_cli.run("registry", "add", "127.0.0.1:5443", "--username", "x", "--password-stdin",
                          "--project", "shop", input=password)
    assert again.code == 3 and "REGISTRY" in again.assert_one_line_error() and password not in again.stderr
    bad = queue_cli.run("registry", "add", "https://127.0.0.1", "--username", "x", "--password-stdin",
                        "--project", "shop", input=password)
    assert bad.code == 3 and "REGISTRY" in bad.assert_one_line_error()
    empty = queue_cli.run("registry", "add", "ghcr.io", "--username", "x", "--password-stdin", "--project", "shop",
                          input="")
    assert empty.code == 3 and "--password-stdin" in empty.assert_one_line_error()
