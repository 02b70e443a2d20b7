"""Registry credentials through the running server: created and listed without the password
(which no response, and no row but as ciphertext, holds), refused inputs naming their field
and storing nothing, one credential per registry and project, deletion."""

from __future__ import annotations

import uuid

from tortoise import connections

from berth.domain.secrets import decrypt
from berth.models import RegistryCredential

from .conftest import Api, pk

FIELDS = "registryCredential { id registry username createdAt lastUsedAt project { id name } }"
LIST = "query($id: ID!) { node(id: $id) { ... on Project { registryCredentials { id registry username } } } }"
DELETE = "mutation($id: ID!) { deleteRegistryCredential(id: $id) { registryCredential { id registry } " \
         "errors { code field message } } }"


async def test_create_list_refuse_and_delete(api: Api) -> None:
    password = f"registryPassword{uuid.uuid4().hex}"
    project = await api.create_project()
    created = (await api.ok("createRegistryCredential", {
        "projectId": project["id"], "registry": "Registry.Example.test:5443", "username": "deployer",
        "password": password}, FIELDS))["registryCredential"]
    assert created["registry"] == "registry.example.test:5443" and created["username"] == "deployer"
    assert created["lastUsedAt"] is None and created["project"]["id"] == project["id"]
    listed = (await api.query(LIST, {"id": project["id"]}))["node"]["registryCredentials"]
    assert listed == [{"id": created["id"], "registry": "registry.example.test:5443", "username": "deployer"}]

    row = await RegistryCredential.get(id=pk(created["id"]))
    assert decrypt(row.password_enc) == password  # stored, as ciphertext only
    dump = repr(await connections.get("default").execute_query_dict("SELECT * FROM registry_credential"))
    assert password not in dump

    again = await api.mutate("createRegistryCredential", {
        "projectId": project["id"], "registry": "registry.example.test:5443", "username": "other",
        "password": password}, FIELDS)
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("CONFLICT", ["input", "registry"])]

    before = await RegistryCredential.all().count()
    for registry, username, secret, field in (
        ("https://registry.example.test", "u", "p" * 8, "registry"),
        ("registry.example.test/path", "u", "p" * 8, "registry"),
        ("registry.example.test:99999", "u", "p" * 8, "registry"),
        ("registry.example.test", "", "p" * 8, "username"),
        ("registry.example.test", "a:b", "p" * 8, "username"),
        ("registry.example.test", "u", "", "password"),
    ):
        refused = await api.mutate("createRegistryCredential", {
            "projectId": project["id"], "registry": registry, "username": username, "password": secret}, FIELDS)
        assert refused["registryCredential"] is None
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID_INPUT", ["input", field])]
    assert await RegistryCredential.all().count() == before

    deleted = (await api.query(DELETE, {"id": created["id"]}))["deleteRegistryCredential"]
    assert deleted["errors"] == [] and deleted["registryCredential"]["id"] == created["id"]
    assert (await api.query(LIST, {"id": project["id"]}))["node"]["registryCredentials"] == []
    gone = (await api.query(DELETE, {"id": created["id"]}))["deleteRegistryCredential"]
    assert [e["code"] for e in gone["errors"]] == ["NOT_FOUND"]

    assert not [body for body in api.transcript if password in body]


async def test_a_credential_limited_to_another_project_sees_none(api: Api) -> None:
    mine, theirs = await api.create_project(), await api.create_project()
    created = (await api.ok("createRegistryCredential", {
        "projectId": theirs["id"], "registry": "ghcr.io", "username": "bot", "password": "hunter2hunter2"},
        FIELDS))["registryCredential"]
    limited = await api.token("owner", project_ids=[pk(mine["id"])])
    refused = await api.mutate("createRegistryCredential", {
        "projectId": theirs["id"], "registry": "quay.io", "username": "bot", "password": "hunter2hunter2"},
        FIELDS, token=limited)
    assert [e["code"] for e in refused["errors"]] == ["NOT_FOUND"]
    gone = (await api.query(DELETE, {"id": created["id"]}, token=limited))["deleteRegistryCredential"]
    assert [e["code"] for e in gone["errors"]] == ["NOT_FOUND"]
