"""Turn a server's Docker host and credentials into a docker-py client and a CLI environment.

Supported: `unix://PATH`, `tcp://HOST:PORT` (optionally TLS with CA / client cert / key
given as PEM strings) and `ssh://USER@HOST[:PORT]` (a private key PEM and the host's
known_hosts line). Credential files go to a private temp dir (0700, files 0600) that
`DockerEndpoint.close()` removes.

SSH is pinned to the given host key on both paths:
* docker-py goes through paramiko with only that key loaded and RejectPolicy; neither
  ~/.ssh/known_hosts, /etc/ssh nor ~/.ssh/config are read.
* compose and the docker CLI run the ssh binary: `env` puts a wrapper named `ssh` first
  on PATH that runs `ssh -F <our config>`, with that key, that known_hosts file only,
  StrictHostKeyChecking=yes and BatchMode.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
import re
import shlex
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import docker
import docker.errors
import paramiko
import requests
from docker.transport import SSHHTTPAdapter

from berth.runner.docker_api import EndpointError

DEFAULT_TIMEOUT = 60.0
# A placeholder API version so that building the client sends nothing; the real one is
# negotiated right after, once the pinned SSH transport is in place.
_PLACEHOLDER_API_VERSION = "1.24"


@dataclass(frozen=True)
class EndpointConfig:
    docker_host: str
    tls_ca_cert: str | None = field(default=None, repr=False)
    tls_client_cert: str | None = field(default=None, repr=False)
    tls_client_key: str | None = field(default=None, repr=False)
    ssh_private_key: str | None = field(default=None, repr=False)
    ssh_known_hosts: str | None = None
    timeout: float = DEFAULT_TIMEOUT


class DockerEndpoint:
    """A connected endpoint: `api` for docker-py, `env` for compose / docker CLI children."""

    def __init__(self, docker_host: str, api: docker.APIClient, env: dict[str, str],
                 private_dir: Path | None) -> None:
        self.docker_host = docker_host
        self.api = api
        self.env = env
        self.private_dir = private_dir

    def close(self) -> None:
        try:
            self.api.close()
        finally:
            if self.private_dir is not None:
                shutil.rmtree(self.private_dir, ignore_errors=True)
                self.private_dir = None

    def __enter__(self) -> DockerEndpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def connect(config: EndpointConfig) -> DockerEndpoint:
    """`open_endpoint` off the event loop (it talks to the daemon to agree on a version)."""
    return await asyncio.to_thread(open_endpoint, config)


def open_endpoint(config: EndpointConfig) -> DockerEndpoint:
    """Connect to `config.docker_host`; raises EndpointError with the reason when it cannot."""
    scheme = urlsplit(config.docker_host).scheme
    if scheme == "unix":
        return _open_unix(config)
    if scheme == "tcp":
        return _open_tcp(config)
    if scheme == "ssh":
        return _open_ssh(config)
    raise EndpointError(f"unsupported Docker host {config.docker_host!r}: use unix://, tcp:// or ssh://")


# --------------------------------------------------------------------------- helpers


def _private_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="berth-endpoint-"))  # mkdtemp: mode 0700


def _write_private(path: Path, content: str, mode: int = 0o600) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content if content.endswith("\n") else content + "\n")
    return path


def _unreachable(host: str, exc: BaseException) -> EndpointError:
    text = str(exc).strip() or type(exc).__name__
    # docker-py wraps the cause in "Error while fetching server API version: (...)".
    text = text.removeprefix("Error while fetching server API version: ")
    return EndpointError(f"cannot reach Docker at {host}: {text.splitlines()[0][:500]}")


def _negotiate(api: docker.APIClient, host: str) -> None:
    # requests would otherwise let REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace the CA we
    # pin for TLS, and HTTP(S)_PROXY reroute the connection: a Docker host is reached
    # directly, with exactly the credentials given for it.
    api.trust_env = False
    try:
        api._version = str(api.version(api_version=False)["ApiVersion"])
    except (docker.errors.DockerException, requests.exceptions.RequestException, KeyError, OSError) as exc:
        api.close()
        raise _unreachable(host, exc) from None


# --------------------------------------------------------------------------- unix / tcp


def _open_unix(config: EndpointConfig) -> DockerEndpoint:
    try:
        api = docker.APIClient(base_url=config.docker_host, version=_PLACEHOLDER_API_VERSION,
                               timeout=int(config.timeout))
    except docker.errors.DockerException as exc:
        raise _unreachable(config.docker_host, exc) from None
    _negotiate(api, config.docker_host)
    return DockerEndpoint(config.docker_host, api, {"DOCKER_HOST": config.docker_host}, None)


def _open_tcp(config: EndpointConfig) -> DockerEndpoint:
    has_client_cert = bool(config.tls_client_cert) or bool(config.tls_client_key)
    if not config.tls_ca_cert and not has_client_cert:
        api = docker.APIClient(base_url=config.docker_host, version=_PLACEHOLDER_API_VERSION,
                               timeout=int(config.timeout))
        _negotiate(api, config.docker_host)
        return DockerEndpoint(config.docker_host, api, {"DOCKER_HOST": config.docker_host}, None)
    if not config.tls_ca_cert:
        raise EndpointError("TLS to a Docker host needs the CA certificate that signed its server "
                            "certificate")
    if bool(config.tls_client_cert) != bool(config.tls_client_key):
        raise EndpointError("a TLS client certificate needs its key, and a key its certificate")

    private = _private_dir()
    try:
        # The names the docker CLI and compose look for in DOCKER_CERT_PATH.
        ca = _write_private(private / "ca.pem", config.tls_ca_cert)
        client_cert = None
        if config.tls_client_cert and config.tls_client_key:
            client_cert = (str(_write_private(private / "cert.pem", config.tls_client_cert)),
                           str(_write_private(private / "key.pem", config.tls_client_key)))
        try:
            tls = docker.tls.TLSConfig(client_cert=client_cert, ca_cert=str(ca), verify=True)
            api = docker.APIClient(base_url=config.docker_host, tls=tls, version=_PLACEHOLDER_API_VERSION,
                                   timeout=int(config.timeout))
        except docker.errors.DockerException as exc:
            raise EndpointError(f"unusable TLS settings for {config.docker_host}: {exc}") from None
        _negotiate(api, config.docker_host)
    except BaseException:
        shutil.rmtree(private, ignore_errors=True)
        raise
    env = {"DOCKER_HOST": config.docker_host, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(private)}
    return DockerEndpoint(config.docker_host, api, env, private)


# --------------------------------------------------------------------------- ssh


def _key_type(token: str) -> bool:
    return token.startswith(("ssh-", "ecdsa-", "sk-"))


def _host_pattern(pattern: str) -> re.Pattern[str]:
    """An OpenSSH host pattern: `*` and `?` are wildcards, everything else (brackets too) literal."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))


def _matches_host(patterns: str, host: str, port: int) -> bool:
    # A line for "host" is accepted whatever the port: it was given for this server.
    names = {host, f"[{host}]:{port}"}
    for pattern in patterns.split(","):
        if pattern.startswith("|1|"):  # hashed: |1|salt|hash
            salt = pattern.split("|")[2]
            if any(paramiko.HostKeys.hash_host(name, salt) == pattern for name in names):
                return True
        elif not pattern.startswith("!") and any(_host_pattern(pattern).fullmatch(n) for n in names):
            return True
    return False


def pinned_host_keys(known_hosts: str, host: str, port: int) -> list[tuple[str, str]]:
    """(key type, base64 key) pairs for `host` from known_hosts text.

    Lines may carry a host field (then it must name this host, with or without the
    port) or be a bare "type base64" key.
    """
    keys = []
    for raw in known_hosts.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            raise EndpointError("known_hosts markers (@cert-authority, @revoked) are not supported")
        fields = line.split()
        if _key_type(fields[0]) and len(fields) >= 2:
            key_type, key_b64 = fields[0], fields[1]
        elif len(fields) >= 3 and _key_type(fields[1]):
            if not _matches_host(fields[0], host, port):
                continue
            key_type, key_b64 = fields[1], fields[2]
        else:
            raise EndpointError(f"unreadable known_hosts line: {line[:60]!r}")
        try:
            paramiko.PKey.from_type_string(key_type, base64.b64decode(key_b64))
        except (binascii.Error, paramiko.SSHException, ValueError, TypeError) as exc:
            raise EndpointError(f"unreadable known_hosts key ({key_type}): {exc}") from None
        keys.append((key_type, key_b64))
    if not keys:
        raise EndpointError(f"ssh_known_hosts has no key for {host}")
    return keys


class _PinnedSSHAdapter(SSHHTTPAdapter):
    """docker-py's paramiko transport, minus everything it would read from the system."""

    def __init__(self, base_url: str, *, pkey: paramiko.PKey, host_keys: list[tuple[str, str]],
                 timeout: float, **kwargs: Any) -> None:
        self._pkey = pkey
        self._pinned = host_keys
        self._connect_timeout = timeout
        super().__init__(base_url, timeout=int(timeout), shell_out=False, **kwargs)

    def _create_paramiko_client(self, base_url: str) -> None:
        parsed = urlsplit(base_url)
        hostname, port = parsed.hostname or "", parsed.port or 22
        self.ssh_client = paramiko.SSHClient()
        pattern = hostname if port == 22 else f"[{hostname}]:{port}"
        host_keys = self.ssh_client.get_host_keys()  # starts empty: no system files loaded
        for key_type, key_b64 in self._pinned:
            key = paramiko.PKey.from_type_string(key_type, base64.b64decode(key_b64))
            host_keys.add(pattern, key_type, key)
        self.ssh_client.set_missing_host_key_policy(paramiko.RejectPolicy())
        self.ssh_params = {
            "hostname": hostname, "port": port, "username": parsed.username, "pkey": self._pkey,
            "look_for_keys": False, "allow_agent": False, "timeout": self._connect_timeout,
            "banner_timeout": self._connect_timeout, "auth_timeout": self._connect_timeout,
        }


_SSH_CONFIG = """\
Host *
  IdentityFile {key}
  IdentitiesOnly yes
  IdentityAgent none
  UserKnownHostsFile {known_hosts}
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  CheckHostIP no
  UpdateHostKeys no
  BatchMode yes
  PasswordAuthentication no
  KbdInteractiveAuthentication no
  ControlMaster no
  ControlPath none
  ForwardAgent no
  ConnectTimeout {timeout}
"""


def _ssh_wrapper(private: Path) -> str:
    real_ssh = shutil.which("ssh")
    if real_ssh is None:
        return ("#!/bin/sh\necho 'berth: the ssh client is not installed; compose over ssh:// needs it' >&2\n"
                "exit 255\n")
    return f"#!/bin/sh\nexec {shlex.quote(real_ssh)} -F {shlex.quote(str(private / 'ssh_config'))} \"$@\"\n"


def _open_ssh(config: EndpointConfig) -> DockerEndpoint:
    parsed = urlsplit(config.docker_host)
    if not parsed.hostname or not parsed.username:
        raise EndpointError(f"an ssh Docker host needs user and host: ssh://user@host[:port], "
                            f"not {config.docker_host!r}")
    if not config.ssh_private_key:
        raise EndpointError("an ssh Docker host needs a private key")
    if not config.ssh_known_hosts:
        raise EndpointError("an ssh Docker host needs its known_hosts line (the host key to trust)")
    port = parsed.port or 22
    host_keys = pinned_host_keys(config.ssh_known_hosts, parsed.hostname, port)

    private = _private_dir()
    try:
        key_path = _write_private(private / "id_key", config.ssh_private_key)
        try:
            pkey = paramiko.PKey.from_path(key_path)
        except (paramiko.SSHException, ValueError, OSError) as exc:
            raise EndpointError(f"unusable ssh private key: {exc}") from None
        pattern = parsed.hostname if port == 22 else f"[{parsed.hostname}]:{port}"
        known_hosts = _write_private(private / "known_hosts",
                                     "".join(f"{pattern} {kt} {kb}\n" for kt, kb in host_keys))
        _write_private(private / "ssh_config", _SSH_CONFIG.format(
            key=key_path, known_hosts=known_hosts, timeout=int(config.timeout)))
        (private / "bin").mkdir(mode=0o700)
        _write_private(private / "bin" / "ssh", _ssh_wrapper(private), mode=0o700)

        api = docker.APIClient(base_url=config.docker_host, version=_PLACEHOLDER_API_VERSION,
                               timeout=int(config.timeout), use_ssh_client=True)  # connects nothing yet
        try:
            adapter = _PinnedSSHAdapter(config.docker_host, pkey=pkey, host_keys=host_keys,
                                        timeout=config.timeout)
        except (paramiko.SSHException, OSError) as exc:
            api.close()
            # RejectPolicy says "not found in known_hosts" when the server offers no key of
            # a pinned type; either way the server is not the one we were told to trust.
            if isinstance(exc, paramiko.BadHostKeyException) or "known_hosts" in str(exc):
                raise EndpointError(f"ssh host key of {parsed.hostname}:{port} does not match the "
                                    f"known_hosts given for this server") from None
            raise EndpointError(f"cannot reach Docker at {config.docker_host}: ssh: {exc}") from None
        api._custom_adapter = adapter
        api.mount("http+docker://ssh", adapter)
        _negotiate(api, config.docker_host)
    except BaseException:
        shutil.rmtree(private, ignore_errors=True)
        raise

    env = {
        "DOCKER_HOST": config.docker_host,
        "PATH": f"{private / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/local/bin:/usr/bin:/bin')}",
        # compose v1 would otherwise be free to use paramiko with the system's settings.
        "COMPOSE_PARAMIKO_SSH": "0",
    }
    return DockerEndpoint(config.docker_host, api, env, private)
