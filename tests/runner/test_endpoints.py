"""endpoints: unix, tcp+TLS (through a TLS proxy made here) and ssh (through an sshd started here).

Each transport is checked end to end twice: docker-py (`DockerEngine`) and the docker
CLI with the endpoint's environment, which is what compose runs with.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import shutil
import socket
import ssl
import stat
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from berth.runner.docker_api import ContainerSpec, EndpointError
from berth.runner.docker_engine import DockerEngine
from berth.runner.endpoints import DockerEndpoint, EndpointConfig, open_endpoint, pinned_host_keys
from berth.runner.process import minimal_env
from tests.services import DOCKER_HOST, docker_available, skip_or_fail
from tests.support.polling import poll

BUSYBOX = Path("/bin/busybox")
RUN = uuid.uuid4().hex[:10]


def require_docker() -> str:
    """The local daemon's unix socket path."""
    reason = docker_available()
    if reason:
        skip_or_fail(reason)
    if not DOCKER_HOST.startswith("unix://"):
        pytest.skip("these tests proxy a local unix socket")
    return DOCKER_HOST.removeprefix("unix://")


def docker_cli(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", "version", "--format", "{{.Server.APIVersion}}"], env=minimal_env(env),
                          capture_output=True, text=True, timeout=60, check=False)


async def logs_stop_promptly(engine: DockerEngine, context: Path) -> None:
    """Follow a chatty container's logs, stop, and require the stream to end within 2 s."""
    tag = f"berth-rt-ep:{RUN}"
    await engine.build(context, tag=tag)
    container_id = await engine.run_container(ContainerSpec(
        name=f"berth-rt-ep-{uuid.uuid4().hex[:8]}", image=tag, labels={"berth.test.run": RUN},
        command=["sh", "-c", "while true; do echo tick; sleep 0.1; done"]))
    try:
        lines: list[str] = []
        stop = asyncio.Event()
        task = asyncio.ensure_future(engine.container_logs(container_id, on_line=lambda s, t: lines.append(t),
                                                           stop=stop))
        await poll(lambda: len(lines) >= 3, 10, "log lines")
        stop.set()
        await asyncio.wait_for(task, 2)
    finally:
        await engine.remove_container(container_id, force=True)
        await engine.remove_image(tag, force=True)


@pytest.fixture(scope="module")
def busybox_context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not BUSYBOX.exists():
        skip_or_fail("busybox-static (/bin/busybox) is not installed")
    directory = tmp_path_factory.mktemp("ctx")
    shutil.copy(BUSYBOX, directory / "busybox")
    (directory / "Dockerfile").write_text('FROM scratch\nCOPY busybox /bin/busybox\n'
                                          'RUN ["/bin/busybox", "--install", "-s", "/bin"]\n')
    return directory


# --------------------------------------------------------------------------- unix


async def test_unix_endpoint_and_cli_environment() -> None:
    require_docker()
    with open_endpoint(EndpointConfig(docker_host=DOCKER_HOST)) as endpoint:
        assert endpoint.env == {"DOCKER_HOST": DOCKER_HOST}
        assert endpoint.private_dir is None
        engine = DockerEngine(endpoint.api)
        version = await engine.version()
        cli = docker_cli(endpoint.env)
        assert cli.returncode == 0, cli.stderr
        assert cli.stdout.strip() == version.api_version


def test_unreachable_and_unsupported_hosts_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(EndpointError, match=r"^cannot reach Docker at unix://.*/nope.sock: "):
        open_endpoint(EndpointConfig(docker_host=f"unix://{tmp_path}/nope.sock", timeout=5))
    with pytest.raises(EndpointError, match="unsupported Docker host"):
        open_endpoint(EndpointConfig(docker_host="http://example.com"))
    with pytest.raises(EndpointError, match="needs the CA certificate"):
        open_endpoint(EndpointConfig(docker_host="tcp://127.0.0.1:1", tls_client_cert="x",
                                     tls_client_key="y"))


# --------------------------------------------------------------------------- tls


@dataclass
class Pki:
    ca: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str
    other_ca: str


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(subject: str, issuer_key: ec.EllipticCurvePrivateKey | None, issuer: str | None,
           *, ca: bool = False, server: bool = False) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer or subject))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
    return key, builder.sign(issuer_key or key, hashes.SHA256())


def _pem(obj: Any) -> str:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM).decode()
    return str(obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode())


@pytest.fixture(scope="module")
def pki() -> Pki:
    ca_key, ca = _issue("berth test ca", None, None, ca=True)
    server_key, server = _issue("localhost", ca_key, "berth test ca", server=True)
    client_key, client = _issue("berth client", ca_key, "berth test ca")
    _, other_ca = _issue("someone else", None, None, ca=True)
    return Pki(_pem(ca), _pem(server), _pem(server_key), _pem(client), _pem(client_key), _pem(other_ca))


@pytest.fixture(scope="module")
def tls_proxy(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """tcp://127.0.0.1:PORT: TLS with client certificates required, in front of the local daemon."""
    socket_path = require_docker()
    directory = tmp_path_factory.mktemp("tls")
    for name, content in [("ca.pem", pki.ca), ("cert.pem", pki.server_cert), ("key.pem", pki.server_key)]:
        (directory / name).write_text(content)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(directory / "ca.pem"))
    context.load_cert_chain(str(directory / "cert.pem"), str(directory / "key.pem"))
    context.verify_mode = ssl.CERT_REQUIRED

    loop = asyncio.new_event_loop()
    ready = threading.Event()
    address: list[int] = []

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        daemon_r, daemon_w = await asyncio.open_unix_connection(socket_path)
        await asyncio.gather(pipe(client_r, daemon_w), pipe(daemon_r, client_w))

    async def serve() -> asyncio.base_events.Server:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
        address.append(server.sockets[0].getsockname()[1])
        return server

    def run() -> None:
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(serve())
        ready.set()
        loop.run_forever()
        server.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    yield f"tcp://127.0.0.1:{address[0]}"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def tls_config(host: str, pki: Pki, ca: str | None = None) -> EndpointConfig:
    return EndpointConfig(docker_host=host, tls_ca_cert=ca or pki.ca, tls_client_cert=pki.client_cert,
                          tls_client_key=pki.client_key, timeout=10)


async def test_tls_endpoint(tls_proxy: str, pki: Pki, busybox_context: Path) -> None:
    endpoint = open_endpoint(tls_config(tls_proxy, pki))
    private = endpoint.private_dir
    assert private is not None
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    assert sorted(p.name for p in private.iterdir()) == ["ca.pem", "cert.pem", "key.pem"]
    assert {stat.S_IMODE(p.stat().st_mode) for p in private.iterdir()} == {0o600}
    assert endpoint.env == {"DOCKER_HOST": tls_proxy, "DOCKER_TLS_VERIFY": "1",
                            "DOCKER_CERT_PATH": str(private)}
    engine = DockerEngine.from_endpoint(endpoint)
    try:
        version = await engine.version()
        cli = docker_cli(endpoint.env)
        assert cli.returncode == 0, cli.stderr
        assert cli.stdout.strip() == version.api_version
        await logs_stop_promptly(engine, busybox_context)  # closing a TLS stream from the loop
    finally:
        await engine.close()
    assert not private.exists()


def test_tls_with_the_wrong_ca_is_refused(tls_proxy: str, pki: Pki) -> None:
    expected = f"^cannot reach Docker at {tls_proxy}: .*CERTIFICATE_VERIFY_FAILED"
    with pytest.raises(EndpointError, match=expected):
        open_endpoint(tls_config(tls_proxy, pki, ca=pki.other_ca))


# --------------------------------------------------------------------------- ssh


@dataclass
class Sshd:
    host: str
    port: int
    client_key: str
    known_hosts: str
    other_known_hosts: str


def _keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "berth-test", "-f", str(path)],
                   check=True, timeout=30)
    return Path(f"{path}.pub").read_text().split()[0] + " " + Path(f"{path}.pub").read_text().split()[1]


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """An sshd on a free port whose root login (by key) runs `docker system dial-stdio` locally."""
    require_docker()
    binary = shutil.which("sshd") or "/usr/sbin/sshd"
    if not os.path.exists(binary) or not shutil.which("ssh-keygen") or not shutil.which("ssh"):
        skip_or_fail("openssh (sshd, ssh, ssh-keygen) is not installed")
    if os.geteuid() != 0:
        pytest.skip("the test sshd logs in as root")
    directory = tmp_path_factory.mktemp("sshd")
    host_pub = _keygen(directory / "host_key")
    other_pub = _keygen(directory / "other_host_key")
    client_pub = _keygen(directory / "client_key")
    (directory / "authorized_keys").write_text(client_pub + "\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (directory / "sshd_config").write_text(f"""\
ListenAddress 127.0.0.1
Port {port}
HostKey {directory}/host_key
AuthorizedKeysFile {directory}/authorized_keys
PidFile {directory}/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
""")
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # the privilege separation dir sshd insists on
    process = subprocess.Popen([binary, "-D", "-e", "-f", str(directory / "sshd_config")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError("the test sshd did not start") from None
                time.sleep(0.1)
        yield Sshd(host="127.0.0.1", port=port, client_key=(directory / "client_key").read_text(),
                   known_hosts=f"[127.0.0.1]:{port} {host_pub}",
                   other_known_hosts=f"[127.0.0.1]:{port} {other_pub}")
    finally:
        process.terminate()
        process.wait(10)


def ssh_config(server: Sshd, known_hosts: str | None = None) -> EndpointConfig:
    return EndpointConfig(docker_host=f"ssh://root@{server.host}:{server.port}",
                          ssh_private_key=server.client_key,
                          ssh_known_hosts=known_hosts or server.known_hosts, timeout=15)


@pytest.fixture
def user_known_hosts() -> Iterator[Path]:
    """~/.ssh/known_hosts must be neither read nor written; its state before and after must match."""
    path = Path.home() / ".ssh" / "known_hosts"
    before = path.read_bytes() if path.exists() else None
    yield path
    assert (path.read_bytes() if path.exists() else None) == before


@pytest.fixture
async def ssh_endpoint(sshd: Sshd) -> AsyncIterator[DockerEndpoint]:
    endpoint = await asyncio.to_thread(open_endpoint, ssh_config(sshd))
    yield endpoint
    endpoint.close()


async def test_ssh_endpoint_over_paramiko(ssh_endpoint: DockerEndpoint, user_known_hosts: Path,
                                          busybox_context: Path) -> None:
    engine = DockerEngine(ssh_endpoint.api)
    assert (await engine.version()).api_version
    await logs_stop_promptly(engine, busybox_context)  # closing a paramiko channel from the loop


async def test_ssh_cli_environment_uses_the_pinned_key(ssh_endpoint: DockerEndpoint, sshd: Sshd,
                                                       user_known_hosts: Path) -> None:
    env = ssh_endpoint.env
    assert env["DOCKER_HOST"] == f"ssh://root@127.0.0.1:{sshd.port}"
    private = ssh_endpoint.private_dir
    assert private is not None and stat.S_IMODE(private.stat().st_mode) == 0o700
    config = (private / "ssh_config").read_text()
    assert "StrictHostKeyChecking yes" in config and "GlobalKnownHostsFile /dev/null" in config
    assert stat.S_IMODE((private / "id_key").stat().st_mode) == 0o600
    cli = await asyncio.to_thread(docker_cli, env)
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.strip()


async def test_ssh_wrong_host_key_is_refused_on_both_paths(sshd: Sshd, user_known_hosts: Path) -> None:
    with pytest.raises(EndpointError, match="does not match the known_hosts"):
        await asyncio.to_thread(open_endpoint, ssh_config(sshd, sshd.other_known_hosts))
    # The ssh binary with the same pinning: a good endpoint whose known_hosts file we swap.
    endpoint = await asyncio.to_thread(open_endpoint, ssh_config(sshd))
    try:
        assert endpoint.private_dir is not None
        (endpoint.private_dir / "known_hosts").write_text(sshd.other_known_hosts + "\n")
        cli = await asyncio.to_thread(docker_cli, endpoint.env)
        assert cli.returncode != 0
        assert "host key" in cli.stderr.lower() or "REMOTE HOST IDENTIFICATION" in cli.stderr
    finally:
        endpoint.close()


async def test_ssh_accepts_a_bare_host_key(sshd: Sshd) -> None:
    bare = sshd.known_hosts.split(" ", 1)[1]  # "ssh-ed25519 AAAA…" without the host field
    endpoint = await asyncio.to_thread(open_endpoint, ssh_config(sshd, bare))
    try:
        assert (await DockerEngine(endpoint.api).version()).api_version
    finally:
        endpoint.close()


def test_ssh_settings_are_checked_before_connecting() -> None:
    with pytest.raises(EndpointError, match="needs user and host"):
        open_endpoint(EndpointConfig(docker_host="ssh://127.0.0.1", ssh_private_key="k", ssh_known_hosts="x"))
    with pytest.raises(EndpointError, match="needs a private key"):
        open_endpoint(EndpointConfig(docker_host="ssh://u@h", ssh_known_hosts="h ssh-ed25519 AAAA"))
    with pytest.raises(EndpointError, match="known_hosts"):
        open_endpoint(EndpointConfig(docker_host="ssh://u@h", ssh_private_key="k"))


def _ed25519_public() -> str:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    public = Ed25519PrivateKey.generate().public_key()
    return public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


KEY = _ed25519_public().split()[1]
OTHER_KEY = _ed25519_public().split()[1]


def test_pinned_host_keys_selects_this_hosts_lines() -> None:
    text = "\n".join([
        "# comment",
        f"other.example ssh-ed25519 {KEY}",
        f"[db.example]:2222 ssh-ed25519 {KEY}",
        f"db.example,10.0.0.5 ssh-ed25519 {OTHER_KEY}",
    ])
    assert pinned_host_keys(text, "db.example", 2222) == [("ssh-ed25519", KEY), ("ssh-ed25519", OTHER_KEY)]
    with pytest.raises(EndpointError, match="unreadable known_hosts key"):
        pinned_host_keys(f"h ecdsa-sha2-nistp256 {KEY}", "h", 22)
    assert pinned_host_keys(f"ssh-ed25519 {KEY} comment", "any", 22) == [("ssh-ed25519", KEY)]
    with pytest.raises(EndpointError, match="no key for nowhere"):
        pinned_host_keys(text, "nowhere", 22)
    with pytest.raises(EndpointError, match="not supported"):
        pinned_host_keys(f"@cert-authority * ssh-ed25519 {KEY}", "db.example", 22)
