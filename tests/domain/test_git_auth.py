"""source.gitAuth: each bad input names its field and stores nothing; what is stored (secrets
encrypted) and shown ({kind, username} only); a new source without gitAuth removes it."""

from __future__ import annotations

from typing import Any

import pytest

from berth.domain.errors import InvalidInput
from berth.domain.inventory import create_service, update_service
from berth.domain.secrets import decrypt
from berth.domain.specs import GitAuthSpec, ServiceSpec, ServiceUpdateSpec, SourceSpec
from berth.domain.views import declared_config_view
from tests.support.names import unique

from . import owner, project, raw_rows, row_counts, server

HTTPS = "https://git.example.test/acme/app.git"
SSH = "ssh://git@git.example.test:2222/acme/app.git"
KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAplantedKeyMaterial\n-----END OPENSSH PRIVATE KEY-----\n"
ENCRYPTED_KEY = ("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nabc\n"
                 "-----END RSA PRIVATE KEY-----\n")
KNOWN = "[git.example.test]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPinnedHostKey\n"


def source(repository: str | None, auth: GitAuthSpec, kind: str = "DOCKERFILE") -> SourceSpec:
    if kind == "IMAGE":
        return SourceSpec(type="IMAGE", image="nginx:alpine", git_auth=auth)
    return SourceSpec(type=kind, repository=repository, git_auth=auth)


BAD: list[tuple[SourceSpec, list[str]]] = [
    (source(None, GitAuthSpec(token="t0ken-value"), "IMAGE"), ["gitAuth"]),
    (source(HTTPS, GitAuthSpec()), ["gitAuth"]),
    (source(HTTPS, GitAuthSpec(token="t", ssh_private_key=KEY, ssh_known_hosts=KNOWN)), ["gitAuth"]),
    (source(SSH, GitAuthSpec(token="t0ken-value")), ["gitAuth", "token"]),
    (source(HTTPS, GitAuthSpec(token="")), ["gitAuth", "token"]),
    (source(HTTPS, GitAuthSpec(token="two\nlines")), ["gitAuth", "token"]),
    (source(HTTPS, GitAuthSpec(token="t0ken-value", username="a:b")), ["gitAuth", "username"]),
    (source(HTTPS, GitAuthSpec(token="t0ken-value", ssh_known_hosts=KNOWN)), ["gitAuth", "sshKnownHosts"]),
    (source(HTTPS, GitAuthSpec(ssh_private_key=KEY, ssh_known_hosts=KNOWN)), ["gitAuth", "sshPrivateKey"]),
    (source(SSH, GitAuthSpec(ssh_private_key="not a key", ssh_known_hosts=KNOWN)), ["gitAuth", "sshPrivateKey"]),
    (source(SSH, GitAuthSpec(ssh_private_key=ENCRYPTED_KEY, ssh_known_hosts=KNOWN)), ["gitAuth", "sshPrivateKey"]),
    (source(SSH, GitAuthSpec(ssh_private_key=KEY)), ["gitAuth", "sshKnownHosts"]),
    (source(SSH, GitAuthSpec(ssh_private_key=KEY, ssh_known_hosts="nonsense")), ["gitAuth", "sshKnownHosts"]),
    (source(SSH, GitAuthSpec(ssh_private_key=KEY, ssh_known_hosts=KNOWN, username="git")), ["gitAuth", "username"]),
]


async def _make(src: SourceSpec, **ids: Any) -> Any:
    target = ids.get("server_id") or (await server()).id
    proj = ids.get("project_id") or (await project()).id
    return await create_service(owner(), ServiceSpec(project_id=proj, environment="production", name=unique("svc"),
                                                     server_id=target, source=src))


@pytest.mark.parametrize(("bad", "field"), BAD)
async def test_bad_git_auth_names_its_field_and_stores_nothing(db, bad: SourceSpec, field: list[str]) -> None:
    target, proj = await server(), await project()
    before = await row_counts()
    with pytest.raises(InvalidInput) as refused:
        await _make(bad, server_id=target.id, project_id=proj.id)
    assert [e.field for e in refused.value.errors] == [["input", "source", *field]]
    assert await row_counts() == before


async def test_stored_encrypted_shown_without_secrets_and_replaced_with_the_source(db) -> None:
    token = "plantedGitToken0123456789"
    service = await _make(source(HTTPS, GitAuthSpec(token=token)))
    assert service.git_auth["kind"] == "https" and service.git_auth["username"] == "x-access-token"
    assert decrypt(service.git_auth["tokenEnc"]) == token
    assert declared_config_view(service)["gitAuth"] == {"kind": "https", "username": "x-access-token"}
    assert token not in await raw_rows("service")

    service = await update_service(owner(), ServiceUpdateSpec(service_id=service.id, source=source(
        SSH, GitAuthSpec(ssh_private_key=KEY, ssh_known_hosts=KNOWN))))
    assert (service.git_auth["kind"], service.git_auth["sshKnownHosts"]) == ("ssh", KNOWN)
    assert "plantedKeyMaterial" not in await raw_rows("service")
    service = await update_service(owner(), ServiceUpdateSpec(service_id=service.id, source=SourceSpec(
        type="DOCKERFILE", repository=HTTPS)))
    assert service.git_auth is None
