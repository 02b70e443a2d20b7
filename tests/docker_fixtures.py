"""Pytest plugin: real Docker daemons, a local registry, a test app image and a git repo.

Load it with `pytest_plugins = ["tests.docker_fixtures"]` (or `-p tests.docker_fixtures`).
Services come from `scripts/test-services`; when one is missing the fixtures
skip (or fail with BERTH_REQUIRE_SERVICES=1, see tests/services.py).

The test app is busybox-static in a FROM-scratch image: `httpd` serves
/www/index.html (`berth-test-app <version>`) on port 8080, with a HEALTHCHECK
that fetches it. Docker state outlives a test run, so everything made per test
gets a unique name and shared things are reused when their content matches.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import docker
import docker.errors
import pytest
from docker.models.containers import Container

from tests.services import (
    DOCKER2_HOST,
    DOCKER_HOST,
    PG_DSN,
    PROXY_IMAGE,
    REGISTRY,
    SSH_DOCKER_HOST,
    SSH_KEY,
    SSH_KNOWN_HOSTS,
    TLS_DIR,
    TLS_DOCKER_HOST,
    docker_available,
    git_available,
    make_docker_client,
    postgres_available,
    registry_available,
    run,
    skip_or_fail,
    ssh_docker_available,
)

BUSYBOX = Path("/bin/busybox")
APP_REPO = f"{REGISTRY}/berth-test/app"
APP_PORT = 8080
APP_TAGS = ("v1", "v2")
# Applets linked into /bin. busybox-static 1.35's `wget -T` segfaults: bound
# waits with the HEALTHCHECK --timeout (or `timeout`) instead.
APPLETS = (
    "sh", "httpd", "wget", "nc", "echo", "cat", "sleep", "ls", "env", "true", "false",
    "test", "[", "printf", "kill", "ps", "date", "hostname", "id", "mkdir", "rm", "touch",
    "grep", "timeout", "ip", "nslookup",
)  # fmt: skip
# Fixed mtime for every file in a context: COPY keeps mtimes, so equal content
# gives byte-equal layers (and shared blobs) on every machine and every run.
EPOCH = 1577836800  # 2020-01-01
CONTENT_LABEL = "berth.test.content"
PAGE_PATH = "app/www/index.html"  # in a build context (and the git repository)

T = TypeVar("T")


def app_page(version: str) -> str:
    """The body the app of `version` serves at / and /index.html."""
    return f"berth-test-app {version}\n"


def build_busybox_context(
    directory: str | Path,
    version: str,
    extra_dockerfile_lines: Iterable[str] = (),
    extra_files: Mapping[str, str | bytes] | None = None,
) -> Path:
    """Write the test app's build context (Dockerfile, base/bin/, app/www/) into `directory`.

    `extra_dockerfile_lines` go after the defaults, so they can override them, e.g.
    `HEALTHCHECK --interval=1s --retries=1 CMD ["false"]` (never healthy) or
    `CMD ["httpd", "-f", "-p", "9090", "-h", "/www"]` (listens on the wrong port).
    `extra_files` maps absolute paths in the image to content, written executable,
    e.g. {"/www/cgi-bin/fail": "#!/bin/sh\\necho 'Status: 500 Boom'\\necho\\n"}
    makes GET /cgi-bin/fail answer HTTP 500.
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes | str] = {PAGE_PATH: app_page(version)}
    files.update({f"extra/{path.lstrip('/')}": data for path, data in (extra_files or {}).items()})
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        path.chmod(0o755 if rel.startswith("extra/") else 0o644)
    bin_dir = root / "base" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(BUSYBOX, bin_dir / "busybox")
    (bin_dir / "busybox").chmod(0o755)
    for applet in APPLETS:
        link = bin_dir / applet
        if not link.is_symlink():
            link.symlink_to("busybox")
    lines = [
        "FROM scratch",
        "ENV PATH=/bin",
        # Each COPY takes a tree whose top directories are in the context (with their
        # fixed mtimes): `COPY bin/ /bin/` would stamp /bin with the build time.
        "COPY base/ /",  # busybox: the same layer for every version and variant
        "COPY app/ /",
        *(["COPY extra/ /"] if extra_files else []),
        f"LABEL berth.test.version={version}",
        f"EXPOSE {APP_PORT}",
        "HEALTHCHECK --interval=1s --timeout=3s --retries=3"
        f' CMD ["/bin/wget", "-q", "-O-", "http://127.0.0.1:{APP_PORT}/"]',
        # A first log line, so "the last lines of the container's output" has something;
        # sh as PID 1 with a trap, because PID 1 without a handler ignores SIGTERM and
        # every `docker stop` would wait its full 10 s timeout.
        f'CMD ["/bin/sh", "-c", "echo berth-test-app {version} listening on {APP_PORT};'
        f" trap 'exit 0' TERM INT; httpd -f -p {APP_PORT} -h /www & wait\"]",
        *extra_dockerfile_lines,
    ]
    (root / "Dockerfile").write_text("\n".join(lines) + "\n")
    for path in [*root.rglob("*"), root]:
        os.utime(path, (EPOCH, EPOCH), follow_symlinks=False)
    return root


def context_digest(directory: str | Path) -> str:
    """A hash of everything in a build context that ends up in the image."""
    root = Path(directory)
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            h.update(f"L {rel} {os.readlink(path)}\n".encode())
        elif path.is_file():
            h.update(f"F {rel} {path.stat().st_mode & 0o777:o} ".encode())
            h.update(hashlib.sha256(path.read_bytes()).digest())
        else:
            h.update(f"D {rel}\n".encode())
    return h.hexdigest()


def build_and_push(client: docker.DockerClient, context: str | Path, repo: str, tag: str) -> str:
    """Build `context` as repo:tag and push it; returns the pushed `repo@sha256:…`.

    A local or registry image with the same content label is reused instead of
    rebuilt, so repeated runs push the same manifest instead of a new one each time.
    """
    ref = f"{repo}:{tag}"
    content = context_digest(context)

    def matches() -> bool:
        try:
            return client.images.get(ref).labels.get(CONTENT_LABEL) == content
        except docker.errors.ImageNotFound:
            return False

    if not matches():
        try:
            client.images.pull(repo, tag=tag)
        except docker.errors.APIError:
            pass  # not pushed yet (or by another content): build it
    if not matches():
        labels = {CONTENT_LABEL: content}
        client.images.build(path=str(context), tag=ref, labels=labels, rm=True, forcerm=True)
    digest = None
    for event in client.images.push(repo, tag=tag, stream=True, decode=True):
        if "error" in event:
            raise AssertionError(f"push {ref} failed: {event['error']}")
        digest = event.get("aux", {}).get("Digest", digest)
    assert digest, f"push {ref} reported no digest"
    return f"{repo}@{digest}"


def delete_from_registry(repo_digest: str) -> None:
    """Delete a manifest (`REGISTRY/name@sha256:…`) from the test registry; best effort."""
    name, digest = repo_digest.removeprefix(f"{REGISTRY}/").split("@", 1)
    request = urllib.request.Request(f"http://{REGISTRY}/v2/{name}/manifests/{digest}", method="DELETE")
    try:
        urllib.request.urlopen(request, timeout=10).close()
    except (OSError, urllib.error.URLError):
        pass


def http_get(url: str, timeout: float = 3) -> tuple[int, str]:
    """(status, body) of a GET; HTTP error statuses are returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def published_url(container: Container, port: int = APP_PORT) -> str:
    """http://host:port where the container's `port` is published (reloads the container)."""
    container.reload()
    binding = container.ports[f"{port}/tcp"][0]
    host = binding["HostIp"] if binding["HostIp"] not in ("", "0.0.0.0") else "127.0.0.1"
    return f"http://{host}:{binding['HostPort']}"


@dataclass(frozen=True)
class BusyboxImage:
    repo: str
    tags: tuple[str, ...]
    digests: Mapping[str, str]  # tag -> repo@sha256:…

    def ref(self, tag: str) -> str:
        return f"{self.repo}:{tag}"

    def digest(self, tag: str) -> str:
        """The registry digest reference `repo@sha256:…` of `tag`."""
        return self.digests[tag]

    @staticmethod
    def page(tag: str) -> str:
        return app_page(tag)


@dataclass
class GitRepo:
    path: Path  # the bare repository
    workdir: Path  # a clone used by commit(); created on first use
    compose_image: str
    _env: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def url(self) -> str:
        return self.path.as_uri()

    def git(self, *args: str | Path, cwd: Path | None = None) -> str:
        return run("git", *args, cwd=cwd, env=self._env).strip()

    def head_sha(self, branch: str = "main") -> str:
        return self.git("--git-dir", self.path, "rev-parse", f"refs/heads/{branch}")

    def commit(self, files: Mapping[str, bytes | str | None], message: str) -> str:
        """Commit `files` (None deletes one) on main and push; returns the new SHA."""
        if not self.workdir.exists():
            self.git("clone", "--quiet", "--branch", "main", self.url, self.workdir)
        for rel, data in files.items():
            path = self.workdir / rel
            if data is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data.encode() if isinstance(data, str) else data)
        self.git("add", "--all", cwd=self.workdir)
        self.git("commit", "--quiet", "--allow-empty", "-m", message, cwd=self.workdir)
        self.git("push", "--quiet", "origin", "HEAD:main", cwd=self.workdir)
        return self.head_sha()

    def set_version(self, version: str) -> str:
        """Commit a new page for the Dockerfile app; returns the new SHA."""
        return self.commit({PAGE_PATH: app_page(version)}, f"app {version}")


GIT_VERSION = "git-v1"  # the page the repository's Dockerfile app serves at first


def compose_yaml(image: str) -> str:
    return f"""\
services:
  web:
    image: {image}
    ports:
      - "127.0.0.1::{APP_PORT}"
    healthcheck:
      test: ["CMD", "/bin/wget", "-q", "-O-", "http://127.0.0.1:{APP_PORT}/"]
      interval: 1s
      timeout: 3s
      retries: 3
"""


def _git_env(home: Path) -> dict[str, str]:
    # Identity and config of our own: the user's or CI's git config (signing,
    # hooks, default branch) must not change what the tests see.
    return {
        **os.environ,
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "Berth Tests",
        "GIT_AUTHOR_EMAIL": "tests@berth.invalid",
        "GIT_COMMITTER_NAME": "Berth Tests",
        "GIT_COMMITTER_EMAIL": "tests@berth.invalid",
    }


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    if reason := docker_available():
        skip_or_fail(reason)
    client = make_docker_client()
    yield client
    client.close()


@pytest.fixture(scope="session")
def docker2_client() -> Iterator[docker.DockerClient]:
    """The second daemon: another target server, on its own socket and bridge."""
    if reason := docker_available(DOCKER2_HOST):
        skip_or_fail(reason)
    client = make_docker_client(DOCKER2_HOST)
    yield client
    client.close()


@dataclass(frozen=True)
class TlsDocker:
    """The TLS daemon and the PEM texts a server record needs to reach it."""

    host: str
    cert_dir: Path  # DOCKER_CERT_PATH layout: ca.pem, cert.pem, key.pem
    ca_cert: str
    client_cert: str
    client_key: str


@dataclass(frozen=True)
class SshDocker:
    """ssh://root@127.0.0.1:2222 (the first daemon over SSH) and its credentials."""

    host: str
    key_path: Path
    known_hosts_path: Path
    private_key: str  # OpenSSH PEM of key_path
    known_hosts: str  # "[127.0.0.1]:2222 ssh-ed25519 AAAA…"


@pytest.fixture(scope="session")
def tls_docker() -> TlsDocker:
    """The third daemon: tcp:// with mutual TLS only (its unix socket is not for tests)."""
    if reason := docker_available(TLS_DOCKER_HOST):
        skip_or_fail(reason)
    return TlsDocker(
        host=TLS_DOCKER_HOST,
        cert_dir=TLS_DIR,
        ca_cert=(TLS_DIR / "ca.pem").read_text(),
        client_cert=(TLS_DIR / "cert.pem").read_text(),
        client_key=(TLS_DIR / "key.pem").read_text(),
    )


@pytest.fixture(scope="session")
def tls_docker_client(tls_docker: TlsDocker) -> Iterator[docker.DockerClient]:
    client = make_docker_client(tls_docker.host)
    yield client
    client.close()


@pytest.fixture(scope="session")
def ssh_docker() -> SshDocker:
    if reason := ssh_docker_available():
        skip_or_fail(reason)
    return SshDocker(
        host=SSH_DOCKER_HOST,
        key_path=SSH_KEY,
        known_hosts_path=SSH_KNOWN_HOSTS,
        private_key=SSH_KEY.read_text(),
        known_hosts=SSH_KNOWN_HOSTS.read_text(),
    )


@pytest.fixture(scope="session")
def pg_admin_dsn() -> str:
    if reason := postgres_available():
        skip_or_fail(reason)
    return PG_DSN


@pytest.fixture
def unique_name() -> str:
    """A short DNS-label-like name for what one test creates (containers, volumes, images)."""
    return f"t{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
def busybox_image(
    docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory
) -> BusyboxImage:
    """The app as APP_REPO:v1 and :v2 (different pages), built once and pushed to the registry."""
    if reason := registry_available():
        skip_or_fail(reason)
    if not BUSYBOX.is_file():
        skip_or_fail(f"{BUSYBOX} (busybox-static) is missing")
    digests = {}
    for tag in APP_TAGS:
        context = build_busybox_context(tmp_path_factory.mktemp(f"app-{tag}"), tag)
        digests[tag] = build_and_push(docker_client, context, APP_REPO, tag)
    return BusyboxImage(repo=APP_REPO, tags=APP_TAGS, digests=digests)


@pytest.fixture(scope="session")
def proxy_image() -> str:
    """The Caddy 2 image of the per-server proxy, as scripts/test-services pushed it."""
    if reason := registry_available():
        skip_or_fail(reason)
    name, _, tag = PROXY_IMAGE.removeprefix(f"{REGISTRY}/").rpartition(":")
    request = urllib.request.Request(f"http://{REGISTRY}/v2/{name}/manifests/{tag}", method="HEAD", headers={
        "Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    try:
        urllib.request.urlopen(request, timeout=10).close()
    except (OSError, urllib.error.URLError) as exc:
        skip_or_fail(f"the proxy image {PROXY_IMAGE} is not in the registry ({exc}): run scripts/test-services")
    return PROXY_IMAGE


@pytest.fixture(scope="session")
def _git_template(busybox_image: BusyboxImage, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bare repository with the Dockerfile app and compose.yaml, made once and copied per test."""
    if reason := git_available():
        skip_or_fail(reason)
    base = tmp_path_factory.mktemp("git-template")
    env = _git_env(base)
    work = build_busybox_context(base / "work", GIT_VERSION)
    (work / "compose.yaml").write_text(compose_yaml(busybox_image.ref("v1")))
    bare = base / "app.git"
    run("git", "init", "--quiet", "--initial-branch=main", work, env=env)
    run("git", "add", "--all", cwd=work, env=env)
    run("git", "commit", "--quiet", "-m", "Test app: Dockerfile and compose.yaml", cwd=work, env=env)
    run("git", "init", "--quiet", "--bare", "--initial-branch=main", bare, env=env)
    run("git", "push", "--quiet", bare, "main", cwd=work, env=env)
    return bare


@pytest.fixture
def git_repo(_git_template: Path, busybox_image: BusyboxImage, tmp_path: Path) -> GitRepo:
    """This test's own bare repository (file://…/app.git, branch main); tests may commit to it."""
    bare = tmp_path / "app.git"
    shutil.copytree(_git_template, bare, symlinks=True)
    return GitRepo(
        path=bare,
        workdir=tmp_path / "app-work",
        compose_image=busybox_image.ref("v1"),
        _env=_git_env(tmp_path),
    )


LEFTOVER_AGE = timedelta(minutes=30)


def _created(attrs: dict[str, Any]) -> datetime:
    """Docker's `Created` (RFC 3339 with nanoseconds); unreadable counts as new (kept)."""
    text = str(attrs.get("Created") or "")
    head, _, rest = text.partition(".")
    zone = rest[rest.find("+"):] if "+" in rest else ("+00:00" if rest.endswith("Z") or not rest else "")
    try:
        return datetime.fromisoformat(head + zone)
    except ValueError:
        return datetime.now(UTC)


def prune_leftover_compose_networks(client: docker.DockerClient) -> int:
    """Remove unused networks of Berth compose projects (`berth-…`) left by interrupted runs.

    Docker state outlives test runs on a machine, and a daemon has only a few dozen
    address pools for bridge networks: leftovers would make every later `compose up`
    fail with "could not find an available, non-overlapping IPv4 address pool".
    """
    removed = 0
    # A network this young may belong to a run going on beside this one (another checkout's
    # suite on the same daemon), created by `compose up` a moment before its containers.
    young = datetime.now(UTC) - LEFTOVER_AGE
    for network in client.networks.list(filters={"label": "com.docker.compose.project"}):
        if not network.name.startswith("berth-"):
            continue
        network.reload()
        if network.attrs.get("Containers") or _created(network.attrs) > young:
            continue
        try:
            network.remove()
            removed += 1
        except docker.errors.APIError:
            pass  # in use by now: not a leftover
    return removed


@pytest.fixture(scope="session", autouse=True)
def _no_leftover_compose_networks() -> Iterator[None]:
    """Before and after the session, free the address pools leftovers would hold."""
    if docker_available():
        yield
        return
    client = make_docker_client()
    try:
        prune_leftover_compose_networks(client)
        yield
        prune_leftover_compose_networks(client)
    finally:
        client.close()


def remove_installation_objects(uid: str) -> None:
    """Remove what a test's Berth installation left running on the test daemons.

    Deployments that succeed keep their containers (restart policy unless-stopped); a
    test database is gone after the test, so nothing would ever retire them.
    """
    from berth.runner.labels import INSTALLATION

    for host in (DOCKER_HOST, DOCKER2_HOST):
        if docker_available(host):
            continue
        client = make_docker_client(host)
        try:
            selector = {"label": f"{INSTALLATION}={uid}"}
            for container in client.containers.list(all=True, filters=selector):
                with contextlib.suppress(docker.errors.APIError):
                    container.remove(force=True)
            for volume in client.volumes.list(filters=selector):
                with contextlib.suppress(docker.errors.APIError):
                    volume.remove(force=True)
            # The proxy's network (berth.runner.proxy): one per installation.
            for network in client.networks.list(filters=selector):
                with contextlib.suppress(docker.errors.APIError):
                    network.remove()
            prune_leftover_compose_networks(client)
        finally:
            client.close()
