"""Where the integration-test services live and whether they answer.

`scripts/test-services` starts them and prints the env vars read here; the
defaults match what it starts. Tests call `skip_or_fail` when a service is
missing: a skip on a developer machine without Docker, a failure in CI, where
`BERTH_REQUIRE_SERVICES=1` says the services must be there.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

import docker
import docker.constants
import docker.tls
import pytest

REQUIRE_SERVICES = os.environ.get("BERTH_REQUIRE_SERVICES") == "1"

PG_DSN = os.environ.get("BERTH_TEST_PG_DSN", "postgres://berth:berth@127.0.0.1:5432/postgres")
REGISTRY = os.environ.get("BERTH_TEST_REGISTRY", "127.0.0.1:5000")
# The first daemon: wherever the Docker CLI would go.
DOCKER_HOST = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
DOCKER2_HOST = os.environ.get("BERTH_TEST_DOCKER2_HOST", "unix:///run/berth-docker2/docker.sock")

# A third daemon, only over TCP with mutual TLS; DOCKER_CERT_PATH-style files in TLS_DIR.
TLS_DOCKER_HOST = os.environ.get("BERTH_TEST_TLS_DOCKER_HOST", "tcp://127.0.0.1:23760")
TLS_DIR = Path(os.environ.get("BERTH_TEST_TLS_DIR", "/var/lib/berth-test-tls"))
# The first daemon again, through sshd and `docker system dial-stdio`.
SSH_DOCKER_HOST = os.environ.get("BERTH_TEST_SSH_DOCKER_HOST", "ssh://root@127.0.0.1:2222")
SSH_KEY = Path(os.environ.get("BERTH_TEST_SSH_KEY", "/var/lib/berth-test-ssh/id_ed25519"))
SSH_KNOWN_HOSTS = Path(os.environ.get("BERTH_TEST_SSH_KNOWN_HOSTS", "/var/lib/berth-test-ssh/known_hosts"))
# A Docker config dir whose cli-plugins/ holds the Compose v2+ plugin: `docker compose`
# answers with DOCKER_CONFIG pointing here, and only then (v1 is what is on PATH).
COMPOSE_V2_CONFIG = Path(os.environ.get("BERTH_TEST_COMPOSE_V2_CONFIG", "/var/lib/berth-test-compose-v2"))

# The private registry (TLS, htpasswd) and the private image pushed there (scripts/test-services).
PRIVATE_REGISTRY = os.environ.get("BERTH_TEST_PRIVATE_REGISTRY", "")
PRIVATE_REGISTRY_USER = os.environ.get("BERTH_TEST_PRIVATE_REGISTRY_USER", "")
PRIVATE_REGISTRY_PASSWORD = os.environ.get("BERTH_TEST_PRIVATE_REGISTRY_PASSWORD", "")
PRIVATE_IMAGE = os.environ.get("BERTH_TEST_PRIVATE_IMAGE", "")

# git over HTTPS with basic auth (scripts/git-https-server); tests add bare repositories under ROOT.
GIT_HTTPS_URL = os.environ.get("BERTH_TEST_GIT_HTTPS_URL", "")
GIT_HTTPS_ROOT = Path(os.environ.get("BERTH_TEST_GIT_HTTPS_ROOT", "/var/lib/berth-test-git-https/repos"))
GIT_HTTPS_USER = os.environ.get("BERTH_TEST_GIT_HTTPS_USER", "")
GIT_HTTPS_TOKEN = os.environ.get("BERTH_TEST_GIT_HTTPS_TOKEN", "")

# git over ssh with git-shell (a second sshd); tests add bare repositories, owned by USER, under ROOT.
GIT_SSH_URL = os.environ.get("BERTH_TEST_GIT_SSH_URL", "")
GIT_SSH_ROOT = Path(os.environ.get("BERTH_TEST_GIT_SSH_ROOT", "/var/lib/berth-test-git-ssh/repos"))
GIT_SSH_USER = os.environ.get("BERTH_TEST_GIT_SSH_USER", "berth-git")
GIT_SSH_KEY = Path(os.environ.get("BERTH_TEST_GIT_SSH_KEY", "/var/lib/berth-test-git-ssh/deploy_key"))
GIT_SSH_KNOWN_HOSTS = Path(os.environ.get("BERTH_TEST_GIT_SSH_KNOWN_HOSTS",
                                          "/var/lib/berth-test-git-ssh/known_hosts"))
# The Caddy 2 image the per-server proxy runs (BERTH_PROXY_IMAGE): built FROM scratch by
# scripts/test-services, as there is no Docker Hub here.
PROXY_IMAGE = os.environ.get("BERTH_TEST_PROXY_IMAGE", f"{REGISTRY}/berth/caddy:2")

TIMEOUT = 3.0  # seconds for an availability probe: a service that is up answers at once


def skip_or_fail(reason: str) -> NoReturn:
    if REQUIRE_SERVICES:
        pytest.fail(f"required test service missing: {reason}")
    pytest.skip(reason)


def tls_config(client_cert: bool = True) -> docker.tls.TLSConfig:
    """TLS settings for TLS_DOCKER_HOST: verify the server by the test CA, present the client cert."""
    cert = (str(TLS_DIR / "cert.pem"), str(TLS_DIR / "key.pem")) if client_cert else None
    return docker.tls.TLSConfig(client_cert=cert, ca_cert=str(TLS_DIR / "ca.pem"), verify=True)


def make_docker_client(host: str | None = None, timeout: float = 120) -> docker.DockerClient:
    """A client for one of the test daemons (unix:// or the TLS one; ssh:// needs berth's endpoint code).

    The API version is negotiated: the engine speaks 1.41.
    """
    host = host or DOCKER_HOST
    if host != TLS_DOCKER_HOST:
        return docker.DockerClient(base_url=host, version="auto", timeout=timeout)
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE (set on many CI images) replace
    # a session's CA file (psf/requests#3829), which drops the test CA: turn the
    # environment off for this client first, then negotiate the version by hand.
    client = docker.DockerClient(
        base_url=host, version=docker.constants.MINIMUM_DOCKER_API_VERSION, timeout=timeout, tls=tls_config()
    )
    client.api.trust_env = False
    client.api._version = str(client.api.version(api_version=False)["ApiVersion"])
    return client


def ssh_command(*remote: str) -> list[str]:
    """The ssh invocation that reaches SSH_DOCKER_HOST with the test key, pinned to its host key."""
    target = urllib.parse.urlsplit(SSH_DOCKER_HOST)
    return [
        "ssh", "-p", str(target.port or 22), "-l", target.username or "root",
        "-i", str(SSH_KEY), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
        "-o", f"UserKnownHostsFile={SSH_KNOWN_HOSTS}", "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes", "-F", "/dev/null",
        "--", target.hostname or "127.0.0.1", *remote,
    ]  # fmt: skip


def docker_over_ssh(request: bytes, timeout: float = 30) -> bytes:
    """Send one raw HTTP/1.0 request to the daemon behind SSH_DOCKER_HOST, as Docker clients do."""
    proc = subprocess.run(
        ssh_command("docker", "system", "dial-stdio"),
        input=request, capture_output=True, timeout=timeout, check=False,
    )  # fmt: skip
    if proc.returncode != 0 or not proc.stdout:
        raise OSError(f"ssh dial-stdio exited {proc.returncode}: {proc.stderr.decode(errors='replace')}")
    return proc.stdout


@functools.cache
def docker_available(host: str | None = None) -> str | None:
    """None when the daemon at `host` (default: the first one) answers, else why not."""
    host = host or DOCKER_HOST
    try:
        client = make_docker_client(host, timeout=TIMEOUT)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # any failure means "not available"; keep its reason
        return f"Docker at {host} does not answer: {exc}"
    return None


@functools.cache
def ssh_docker_available() -> str | None:
    """None when SSH_DOCKER_HOST reaches a daemon through `docker system dial-stdio`."""
    if shutil.which("ssh") is None:
        return "the ssh client is not installed"
    try:
        reply = docker_over_ssh(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n", timeout=TIMEOUT * 3)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"Docker over {SSH_DOCKER_HOST} does not answer: {exc}"
    if not reply.endswith(b"\r\n\r\nOK"):
        return f"Docker over {SSH_DOCKER_HOST} answered {reply[:200]!r}"
    return None


@functools.cache
def registry_available() -> str | None:
    """None when the registry answers its API root without credentials."""
    url = f"http://{REGISTRY}/v2/"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as resp:
            if resp.status == 200:
                return None
            return f"registry {url} answered HTTP {resp.status}"
    except (OSError, urllib.error.URLError) as exc:
        return f"registry {url} does not answer: {exc}"


@functools.cache
def postgres_available() -> str | None:
    """None when PG_DSN accepts a login and `select 1`."""
    import asyncpg

    async def probe() -> None:
        conn = await asyncpg.connect(PG_DSN, timeout=TIMEOUT)
        try:
            await conn.fetchval("select 1", timeout=TIMEOUT)
        finally:
            await conn.close(timeout=TIMEOUT)

    # A fresh loop in its own thread: callers may already be inside a running loop
    # (async tests), where asyncio.run would refuse to start.
    error: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(probe())
        except BaseException as exc:  # reported as the reason below
            error.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(TIMEOUT * 3)
    if thread.is_alive():
        return f"PostgreSQL at {PG_DSN} did not answer within {TIMEOUT * 3:.0f}s"
    if error:
        return f"PostgreSQL at {PG_DSN} does not answer: {error[0]!r}"
    return None


def compose_v2_env() -> dict[str, str]:
    """Our environment with DOCKER_CONFIG at COMPOSE_V2_CONFIG: `docker compose` is v2+ there."""
    return {**os.environ, "DOCKER_CONFIG": str(COMPOSE_V2_CONFIG)}


def _short_version(argv: list[str], env: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """(the version `argv` prints, None) when it answers, else (None, why not)."""
    try:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=TIMEOUT * 5, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{' '.join(argv)} did not answer: {exc}"
    if proc.returncode != 0 or not proc.stdout.strip():
        return None, f"{' '.join(argv)} exited {proc.returncode}: {(proc.stdout + proc.stderr).strip()[:200]}"
    return proc.stdout.strip().removeprefix("v"), ""


@functools.cache
def compose_v1_available() -> str | None:
    """None when `docker-compose` (v1) is on PATH and answers."""
    if shutil.which("docker-compose") is None:
        return "docker-compose (v1) is not installed"
    version, why = _short_version(["docker-compose", "version", "--short"])
    if version is None:
        return why
    return None if version.startswith("1.") else f"docker-compose on PATH is {version}, not v1"


@functools.cache
def compose_v2_available() -> str | None:
    """None when `docker compose` (the v2+ plugin) answers with DOCKER_CONFIG=COMPOSE_V2_CONFIG."""
    if shutil.which("docker") is None:
        return "the docker CLI is not installed"
    plugin = COMPOSE_V2_CONFIG / "cli-plugins" / "docker-compose"
    if not plugin.is_file():
        return f"no Compose v2+ plugin at {plugin} (scripts/test-services puts it there)"
    version, why = _short_version(["docker", "compose", "version", "--short"], compose_v2_env())
    if version is None:
        return f"with DOCKER_CONFIG={COMPOSE_V2_CONFIG}: {why}"
    return None if not version.startswith("1.") else f"docker compose in {COMPOSE_V2_CONFIG} is {version}"


@functools.cache
def git_available() -> str | None:
    if shutil.which("git") is None:
        return "git is not installed"
    return None


def run(
    *args: str | Path,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> str:
    """Run a command, fail with its output when it fails, return its stdout."""
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, args))} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc.stdout
