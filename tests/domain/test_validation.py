"""The pure checks behind validation and the privilege policy (no database)."""

from __future__ import annotations

import pytest
import yaml

from berth.domain.privilege import compose_violations, frozen_input_violations
from berth.domain.validation import (
    VolumeMount,
    docker_host_problem,
    git_ref_problem,
    git_url_problem,
    image_reference_problem,
    parse_volume,
    port_problem,
    split_image,
    with_tag,
)

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize("reference", [
    "nginx", "nginx:alpine", "library/nginx:1.27.0", "registry.example.test:5000/team/app:v1",
    "localhost/app", "localhost:5000/a/b/c:latest", f"nginx@{DIGEST}", f"ghcr.io/o/app:v1@{DIGEST}",
    "a__b/c-d.e_f:Tag_1.0-x", "[::1]:5000/app:v1",
])
def test_image_references_accepted(reference: str) -> None:
    assert image_reference_problem(reference) is None


@pytest.mark.parametrize("reference", [
    "", "Nginx", "nginx:", "nginx:-x", ":tag", "nginx@sha256:short", "nginx@md5:" + "0" * 32, "a//b",
    "nginx:tag with space", "-nginx", "nginx/", "http://registry/app", "a" * 256,
])
def test_image_references_refused(reference: str) -> None:
    assert image_reference_problem(reference) is not None


def test_image_tag_helpers() -> None:
    assert split_image("localhost:5000/app") == ("localhost:5000/app", None, None)
    assert split_image(f"localhost:5000/app:v1@{DIGEST}") == ("localhost:5000/app", "v1", DIGEST)
    assert with_tag(f"localhost:5000/app:v1@{DIGEST}", "v2") == "localhost:5000/app:v2"
    assert with_tag("nginx", "1.27") == "nginx:1.27"


@pytest.mark.parametrize("url,ok", [
    ("https://github.com/team/app.git", True),
    ("https://user@example.test:8443/team/app", True),
    ("ssh://git@example.test:2222/team/app.git", True),
    ("git@github.com:team/app.git", True),
    ("http://github.com/team/app.git", False),
    ("https://github.com", False),
    ("https://user:pw@github.com/a.git", False),
    ("ext::sh -c touch% /tmp/x", False),
    ("-uhttps://x/y", False),
    ("file:///srv/repo", False),
    ("git://example.test/app", False),
])
def test_git_urls(url: str, ok: bool) -> None:
    assert (git_url_problem(url, allow_file=False) is None) is ok


def test_file_urls_when_allowed() -> None:
    assert git_url_problem("file:///srv/repo", allow_file=True) is None
    assert git_url_problem("file://host/srv/repo", allow_file=True) is not None
    assert git_url_problem("file:///srv/../etc", allow_file=True) is not None


@pytest.mark.parametrize("ref,ok", [
    ("main", True), ("release/1.2", True), ("v1.2.3", True), ("a" * 40, True),
    ("-x", False), ("a..b", False), ("a b", False), ("x.lock", False), ("a/.hidden", False),
    ("a@{1}", False), ("", False), ("a~1", False), ("a:b", False), ("/a", False),
])
def test_git_refs(ref: str, ok: bool) -> None:
    assert (git_ref_problem(ref) is None) is ok


@pytest.mark.parametrize("spec,ok", [
    ("80", True), ("8080:80", True), ("127.0.0.1:8080:80", True), ("127.0.0.1::80/udp", True),
    ("[::1]:8080:80/tcp", True), ("0", False), ("65536", False), ("80/sctp", False), (":80", False),
    ("1.2.3:80:80", False), ("a:80", False), ("127.0.0.1:80", False), ("1:2:3:4", False), ("", False),
])
def test_ports(spec: str, ok: bool) -> None:
    assert (port_problem(spec) is None) is ok


def test_volumes() -> None:
    assert parse_volume("data:/var/lib/data:ro") == VolumeMount("data", "/var/lib/data", True, False)
    assert parse_volume("/srv:/data") == VolumeMount("/srv", "/data", False, True)
    assert parse_volume("./x:/y").host_bind  # type: ignore[union-attr]
    for bad in ("data", "d:/x", "data:/x:z", "data:/../x", "data:x", "a:b:c:d"):
        assert isinstance(parse_volume(bad), str), bad


@pytest.mark.parametrize("url,ok", [
    ("unix:///var/run/docker.sock", True), ("tcp://10.0.0.1:2376", True), ("tcp://docker.example.test:2375", True),
    ("ssh://deploy@host.example.test", True), ("ssh://deploy@10.0.0.1:2222", True),
    ("unix://relative.sock", False), ("tcp://10.0.0.1", False), ("ssh://host.example.test", False),
    ("ssh://u:pw@host", False), ("npipe:////./pipe/docker", False), ("tcp://h:2375/path", False), ("", False),
])
def test_docker_hosts(url: str, ok: bool) -> None:
    assert (docker_host_problem(url) is None) is ok


def test_compose_violations_cover_the_policy() -> None:
    document = yaml.safe_load("""
services:
  web:
    image: nginx
    ipc: host
    security_opt: [seccomp=unconfined]
    env_file: /etc/environment
    build: {context: /}
    extends: {file: ../other.yaml, service: base}
    volumes:
      - data:/data
      - type: volume
        source: named
        target: /named
  safe:
    image: busybox
    network_mode: "service:web"
    volumes: [cache:/cache]
    env_file: .env
secrets:
  key: {file: /root/.ssh/id_rsa}
include:
  - /srv/other/compose.yaml
volumes:
  data: {}
""")
    where = {v.where for v in compose_violations(document)}
    assert where == {
        "services.web.ipc", "services.web.security_opt[0]", "services.web.env_file", "services.web.build.context",
        "services.web.extends.file", "secrets.key.file", "include",
    }


def test_frozen_input_violations() -> None:
    assert frozen_input_violations({"volumes": ["data:/data"], "composeFiles": None}) == []
    found = frozen_input_violations({
        "volumes": ["/srv:/srv"],
        "composeFiles": [{"path": "compose.yaml", "content": "services:\n  a:\n    privileged: true\n"}],
    })
    assert [v.where for v in found] == ["volumes[0]", "services.a.privileged"]
