"""One grammar for ports, volumes and repository URLs: what the API accepts, the runner runs.

Each string of the tables goes through the API's validation (with the privilege policy, on an
ordinary server and on one with allowPrivileged) and through the runner's use of it (the
ContainerSpec parse and the translation into docker-py arguments, down to docker-py's own
HostConfig); the two must agree, and whatever the API accepts must translate.
"""

from __future__ import annotations

from typing import Any

import docker.types
import pytest

from berth.domain import privilege
from berth.domain.grammars import parse_repository_url
from berth.domain.specs import SourceSpec
from berth.domain.validation import validate_source
from berth.models.enums import SourceType
from berth.runner.docker_api import ContainerSpec, DockerOperationError
from berth.runner.docker_engine import port_arguments, volume_binds
from berth.settings import get_settings

PATH = ["input", "source"]

# (port spec, accepted)
PORTS: list[tuple[str, bool]] = [
    ("80", True), ("8080:80", True), ("127.0.0.1:8080:80", True), ("127.0.0.1::80/udp", True),
    ("[::1]:8080:80", True), ("[::1]::80", True), ("[::1]:0:80", True), ("[2001:db8::1]:443:443/tcp", True),
    ("8080:80/sctp", True), ("80/sctp", True), ("8000-8002:9000-9002", True), ("9000-9002:80", True),
    ("8000-8002", True), ("8000-8002:9000", True), ("0.0.0.0:53:53/udp", True),
    ("0", False), ("65536", False), (":80", False), ("8080:80/icmp", False), ("80/TCP", False),
    ("::1:8080:80", False), ("[::1]8080:80", False), ("[::1]:8080", False), ("localhost:80:80", False),
    ("1.2.3:80:80", False), ("9000:8000-8002", False), ("8000-8002:9000-9001", False), ("80-70", False),
    ("000000080", False), ("[fe80::1%eth0]:80:80", False), ("1:2:3:4", False), ("", False),
]

# (volume spec, accepted on an ordinary server, accepted with allowPrivileged)
VOLUMES: list[tuple[str, bool, bool]] = [
    ("data:/var/lib/data", True, True), ("data:/var/lib/data:ro", True, True), ("data:/d:rw,nocopy", True, True),
    ("my.vol_1-x:/d:ro,z", True, True), ("data:/d:cached", True, True),
    ("/srv/www:/usr/share/nginx/html:ro", False, True), ("/srv:/srv:rw,Z,rshared", False, True),
    ("/srv:/srv", False, True),
    ("/data", False, False),  # anonymous: gone with each deployment's new container
    ("./x:/y", False, False), ("~/x:/y", False, False),  # the Engine API has no directory to resolve them in
    ("d:/x", False, False), ("data:/x:q", False, False), ("data:/x:ro,rw", False, False),
    ("data:/x:z,Z", False, False), ("data:/x:rshared", False, False), ("/srv:/x:nocopy", False, False),
    ("data:/", False, False), ("data:x", False, False), ("data:/../x", False, False), ("/a/../b:/x", False, False),
    (":/x", False, False), ("a:b:c:d", False, False), ("/x:ro", False, False), ("", False, False),
]


def api_accepts(allow_privileged: bool, **source: Any) -> list[list[str] | None]:
    """The fields the API refuses for an IMAGE source with these fields (empty: accepted)."""
    spec = SourceSpec(type=SourceType.IMAGE, image="nginx:alpine", **source)
    errors, document = validate_source(spec, PATH, get_settings())
    if not errors:
        errors.extend(privilege.check_source(spec.volumes, document, PATH, allow_privileged).errors)
    return [error.field for error in errors.errors]


def runner_uses(**fields: Any) -> docker.types.HostConfig:
    """What DockerEngine.run_container does with the strings, through docker-py's HostConfig."""
    spec = ContainerSpec(name="c", image="nginx:alpine", **fields)
    exposed, bindings = port_arguments(spec.port_mappings())
    binds = volume_binds(spec.volume_mounts())
    assert all(isinstance(port, int) and proto in ("tcp", "udp", "sctp") for port, proto in exposed)
    return docker.types.HostConfig(version="1.41", port_bindings=bindings or None, binds=binds or None)


@pytest.mark.parametrize("spec,accepted", PORTS, ids=[p or "empty" for p, _ in PORTS])
def test_ports_the_api_accepts_are_the_ports_the_runner_runs(spec: str, accepted: bool) -> None:
    refused = api_accepts(False, ports=[spec])
    assert (refused == []) is accepted, refused
    if not accepted:
        assert refused == [[*PATH, "ports", "0"]]
        with pytest.raises(DockerOperationError, match="invalid port mapping"):
            runner_uses(ports=[spec])
        return
    host_config = runner_uses(ports=[spec])
    assert host_config["PortBindings"]


def test_port_translation_is_what_docker_expects() -> None:
    config = runner_uses(ports=["[::1]:8080:80", "127.0.0.1::53/udp", "8000-8001:9000-9001", "9100-9110:80/sctp"])
    assert config["PortBindings"] == {
        "80/tcp": [{"HostIp": "::1", "HostPort": "8080"}],
        "53/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
        "9000/tcp": [{"HostIp": "", "HostPort": "8000"}],
        "9001/tcp": [{"HostIp": "", "HostPort": "8001"}],
        "80/sctp": [{"HostIp": "", "HostPort": "9100-9110"}],
    }


@pytest.mark.parametrize("spec,ordinary,privileged", VOLUMES, ids=[v or "empty" for v, _, _ in VOLUMES])
def test_volumes_the_api_accepts_are_the_volumes_the_runner_mounts(
    spec: str, ordinary: bool, privileged: bool
) -> None:
    assert (api_accepts(False, volumes=[spec]) == []) is ordinary
    assert (api_accepts(True, volumes=[spec]) == []) is privileged
    if privileged:
        assert runner_uses(volumes=[spec])["Binds"] == [spec]
    else:
        with pytest.raises(DockerOperationError, match="invalid volume"):
            runner_uses(volumes=[spec])


def test_a_service_does_not_name_a_host_port_or_a_mount_point_twice() -> None:
    assert api_accepts(False, ports=["8080:80", "127.0.0.1:8080:81"]) == [[*PATH, "ports", "1"]]
    assert api_accepts(False, ports=["8000-8002:80-82", "8002:90/tcp"]) == [[*PATH, "ports", "1"]]
    assert api_accepts(False, ports=["127.0.0.1:8080:80", "[::1]:8080:80", "8080:80/udp"]) == []
    assert api_accepts(False, volumes=["a1:/data", "b1:/data/"]) == [[*PATH, "volumes", "1"]]


SECRET = "ghp_s3cr3tTOKEN"


@pytest.mark.parametrize("url", [
    f"https://{SECRET}@github.com/team/app.git",
    f"https://user:{SECRET}@github.com/team/app.git",
    f"https://x-access-token:{SECRET}@example.test:8443/team/app",
    f"ssh://git:{SECRET}@example.test/team/app.git",
    f"git:{SECRET}@example.test:team/app.git",
    f"https://example.test/team/app.git?private_token={SECRET}",
    f"HTTPS://{SECRET}@github.com/team/app.git",
])
def test_credentials_in_repository_urls_are_refused_without_being_repeated(url: str) -> None:
    spec = SourceSpec(type=SourceType.DOCKERFILE, repository=url)
    errors, _ = validate_source(spec, PATH, get_settings())
    assert [e.field for e in errors.errors] == [[*PATH, "repository"]]
    message = errors.errors[0].message
    assert SECRET not in message and url not in message
    if "?" not in url:
        assert "gitAuth" in message


@pytest.mark.parametrize("url,user", [
    ("ssh://git@example.test/team/app.git", "git"),
    ("ssh://deploy@example.test:2222/team/app.git", "deploy"),
    ("git@github.com:team/app.git", "git"),
    ("https://github.com/team/app.git", None),
])
def test_a_user_name_without_a_secret_is_normal_for_ssh(url: str, user: str | None) -> None:
    assert parse_repository_url(url, allow_file=False).user == user
