"""The names a COMPOSE service's env may not hand to the compose process: one list, which
the runner's environment for compose, the policy's interpolation and input validation share."""

from __future__ import annotations

from pathlib import Path

import pytest

from berth.domain.compose_env import (
    interpolation_variables,
    is_reserved,
    reserved_keys_listing,
    reserved_reason,
)
from berth.domain.errors import InvalidInput
from berth.domain.inventory import create_service, update_service
from berth.domain.privilege import compose_violations
from berth.domain.specs import EnvVarSpec, ServiceSpec, ServiceUpdateSpec, SourceSpec
from berth.domain.validation import parse_compose
from berth.models import Service
from berth.runner import process
from berth.runner.compose_cli import compose_process_env

from . import owner, project, row_counts, server, unique

RESERVED = [
    "COMPOSE_FILE", "COMPOSE_ENV_FILES", "COMPOSE_PROFILES", "COMPOSE_PROJECT_NAME", "COMPOSE_PATH_SEPARATOR",
    "DOCKER_CONFIG", "DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "DOCKER_CONTEXT",
    "BUILDX_BUILDER", "BUILDKIT_PROGRESS", "PATH", "HOME", "LD_PRELOAD", "LD_LIBRARY_PATH",
    "PYTHONPATH", "PYTHONSTARTUP", "GIT_SSH_COMMAND", "GIT_CONFIG_GLOBAL", "SSH_AUTH_SOCK",
    "TMPDIR", "XDG_CONFIG_HOME", "BASH_ENV", "ENV", "OTEL_EXPORTER_OTLP_ENDPOINT", "SSL_CERT_FILE",
    "HTTPS_PROXY", "https_proxy", "no_proxy", "compose_file", "Path", "GODEBUG", "GCONV_PATH",
]
UNRESERVED = ["API_TOKEN", "DATABASE_URL", "BERTH_IMAGE_TAG", "DOCKERFILE_TAG", "COMPOSER_HOME", "NODE_OPTIONS",
              "HOMEPAGE", "PATHNAME", "GITHUB_TOKEN", "SSHD_PORT", "LDAP_URL", "TAG"]


@pytest.mark.parametrize("key", RESERVED)
def test_reserved_names(key: str) -> None:
    assert is_reserved(key)
    assert reserved_reason(key)


@pytest.mark.parametrize("key", UNRESERVED)
def test_names_a_service_may_interpolate_with(key: str) -> None:
    assert not is_reserved(key)


def test_everything_the_runner_itself_sets_for_compose_is_reserved() -> None:
    # Its basics and every endpoint's variables (berth.runner.endpoints: TLS, SSH):
    # a service value for one of them never reaches compose, so the policy must not count on it.
    endpoint_keys = ["DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "PATH", "COMPOSE_PARAMIKO_SSH"]
    assert [key for key in [*process._INHERITED_ENV, *endpoint_keys] if not is_reserved(key)] == []


def test_the_compose_process_gets_the_services_unreserved_variables_under_the_runners(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/runner/bin")
    monkeypatch.setenv("HOME", "/runner/home")
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    monkeypatch.setenv("BERTH_SECRET_KEY", "not-for-children")
    service = {"API_TOKEN": "t", "PATH": "/evil", "HOME": "/evil", "COMPOSE_FILE": "/evil.yml",
               "DOCKER_CONFIG": "/evil", "LD_PRELOAD": "/evil.so", "DOCKER_HOST": "tcp://evil:2375"}
    env = compose_process_env(service, {"DOCKER_HOST": "unix:///run/docker.sock"})
    assert env["API_TOKEN"] == "t"
    assert env["PATH"] == "/runner/bin" and env["HOME"] == "/runner/home"
    assert env["DOCKER_HOST"] == "unix:///run/docker.sock"
    for key in ("COMPOSE_FILE", "DOCKER_CONFIG", "LD_PRELOAD", "BERTH_SECRET_KEY"):
        assert key not in env
    assert interpolation_variables(service) == {"API_TOKEN": "t"}


@pytest.mark.parametrize("key", ["HOME", "LD_PRELOAD", "XDG_CONFIG_HOME", "GIT_DIR", "DOCKER_X", "TZ"])
def test_the_policy_does_not_count_on_a_reserved_variable(key: str) -> None:
    # Compose sees the runner's value (or none), not the service's: unknown, so refused.
    document = parse_compose(f"services:\n  web:\n    image: nginx\n    privileged: ${{{key}}}\n")
    assert isinstance(document, dict)
    assert [v.where for v in compose_violations(document, {key: "false"})] == ["services.web.privileged"]
    assert compose_violations(document, {"UNRESERVED": "false"} | {key: "x"}) != []
    ok = parse_compose("services:\n  web:\n    image: nginx\n    privileged: ${FLAG}\n")
    assert isinstance(ok, dict) and compose_violations(ok, {"FLAG": "false", key: "x"}) == []


COMPOSE = "services:\n  web:\n    image: nginx\n"


def _spec(proj_id: int, server_id: int, source: SourceSpec, env: list[EnvVarSpec]) -> ServiceSpec:
    return ServiceSpec(project_id=proj_id, environment="production", name=unique("svc"), server_id=server_id,
                       source=source, env=env)


async def test_create_refuses_reserved_keys_in_a_compose_services_env(db) -> None:
    target, proj = await server(allow_privileged=True), await project()
    env = [EnvVarSpec("API_TOKEN", "t"), EnvVarSpec("COMPOSE_FILE", "x.yml"),
           EnvVarSpec("DOCKER_CONFIG", "/tmp/x", secret=True)]
    before = await row_counts()
    with pytest.raises(InvalidInput) as caught:
        await create_service(owner(), _spec(proj.id, target.id, SourceSpec(type="COMPOSE", compose_content=COMPOSE),
                                            env))
    errors = {tuple(error.field): error.message for error in caught.value.errors}
    assert set(errors) == {("input", "env", "1", "key"), ("input", "env", "2", "key")}
    assert errors[("input", "env", "1", "key")].startswith("COMPOSE_FILE is reserved in the env of a COMPOSE service")
    assert "plugins" in errors[("input", "env", "2", "key")]  # says why
    assert "/tmp/x" not in repr(errors)
    assert await row_counts() == before
    # IMAGE and DOCKERFILE services: the env reaches only the container, where these are harmless.
    image = await create_service(owner(), _spec(proj.id, target.id, SourceSpec(type="IMAGE", image="nginx:1"), env))
    assert [item["key"] for item in image.env] == ["API_TOKEN", "COMPOSE_FILE", "DOCKER_CONFIG"]


async def test_update_refuses_reserved_keys_for_a_compose_service(db) -> None:
    target, proj = await server(), await project()
    compose = await create_service(owner(), _spec(proj.id, target.id,
                                                  SourceSpec(type="COMPOSE", compose_content=COMPOSE),
                                                  [EnvVarSpec("TAG", "1")]))
    with pytest.raises(InvalidInput) as caught:
        await update_service(owner(), ServiceUpdateSpec(service_id=compose.id,
                                                        env=[EnvVarSpec("TAG", "2"), EnvVarSpec("PATH", "/x")]))
    assert [error.field for error in caught.value.errors] == [["input", "env", "1", "key"]]
    assert (await Service.get(id=compose.id)).env == [{"key": "TAG", "secret": False, "value": "1"}]

    # An IMAGE service with such a key cannot become a COMPOSE service without a new env.
    image = await create_service(owner(), _spec(proj.id, target.id, SourceSpec(type="IMAGE", image="nginx:1"),
                                                [EnvVarSpec("LD_PRELOAD", "/x.so")]))
    with pytest.raises(InvalidInput) as caught:
        await update_service(owner(), ServiceUpdateSpec(
            service_id=image.id, source=SourceSpec(type="COMPOSE", compose_content=COMPOSE)))
    [error] = caught.value.errors
    assert error.field == ["input", "env"] and "LD_PRELOAD is reserved" in error.message
    updated = await update_service(owner(), ServiceUpdateSpec(
        service_id=image.id, source=SourceSpec(type="COMPOSE", compose_content=COMPOSE), env=[]))
    assert updated.source_type == "COMPOSE" and updated.env == []


def test_docs_list_the_reserved_names_as_they_are() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "privilege.md").read_text(encoding="utf-8")
    listed = doc.split("<!-- reserved-keys: begin -->")[1].split("<!-- reserved-keys: end -->")[0]
    assert listed.strip() == reserved_keys_listing().strip(), (
        "docs/privilege.md is out of date: paste compose_env.reserved_keys_listing() between the markers")
