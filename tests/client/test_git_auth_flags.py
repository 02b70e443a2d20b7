"""`berth deploy --repo … --git-token-stdin` and `--git-ssh-key FILE --git-known-hosts FILE`
against `berth serve --no-runner`: the credential reaches the service (shown as {kind,
username} only, never printed), and what is wrong names the flag."""

from __future__ import annotations

from pathlib import Path

from tests.client.support import Cli
from tests.client.test_inventory_commands import graphql

SERVICE = "query($id: ID!) { service(id: $id) { gitAuth { kind username } } }"
KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAcliKeyMaterial\n-----END OPENSSH PRIVATE KEY-----\n"
KNOWN = "[git.example.test]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPinnedHostKey\n"


def test_git_credential_flags_reach_the_service(queue_cli: Cli, tmp_path: Path) -> None:
    token = "cliGitToken0123456789"
    created = queue_cli.run("deploy", "--repo", "https://git.example.test/acme/app.git", "--name", "private",
                            "--git-token-stdin", "--git-username", "deployer", "--detach", "--json",
                            input=token + "\n")
    assert created.code == 0, created
    assert token not in created.stdout + created.stderr
    service_id = created.json()["service"]["id"]
    assert graphql(queue_cli, SERVICE, {"id": service_id})["service"]["gitAuth"] == {
        "kind": "https", "username": "deployer"}

    key, known = tmp_path / "deploy_key", tmp_path / "known_hosts"
    key.write_text(KEY)
    known.write_text(KNOWN)
    queue_cli.ok("deploy", "--repo", "ssh://git@git.example.test:2222/acme/app.git", "--name", "private",
                 "--git-ssh-key", str(key), "--git-known-hosts", str(known), "--detach")
    assert graphql(queue_cli, SERVICE, {"id": service_id})["service"]["gitAuth"] == {"kind": "ssh", "username": None}


def test_bad_git_credential_flags_name_the_flag(queue_cli: Cli, tmp_path: Path) -> None:
    bad_key, known = tmp_path / "not_a_key", tmp_path / "known_hosts"
    bad_key.write_text("hello\n")
    known.write_text(KNOWN)
    ssh = "ssh://git@git.example.test:2222/acme/app.git"
    for args, named in (
        (["--repo", ssh, "--git-ssh-key", str(bad_key), "--git-known-hosts", str(known)], "--git-ssh-key"),
        (["--repo", ssh, "--git-ssh-key", str(bad_key)], "--git-known-hosts"),
        (["--repo", ssh, "--git-ssh-key", str(tmp_path / "missing"), "--git-known-hosts", str(known)],
         "--git-ssh-key"),
        (["--image", "nginx:alpine", "--git-token-stdin"], "--repo"),
    ):
        failed = queue_cli.run("deploy", "--name", "bad", *args, input="some-token")
        assert failed.code == 3 and named in failed.assert_one_line_error(), failed
    refused = queue_cli.run("deploy", "--name", "bad", "--repo", ssh, "--git-token-stdin", input="some-token")
    assert refused.code == 3 and "--git-token-stdin" in refused.assert_one_line_error()
