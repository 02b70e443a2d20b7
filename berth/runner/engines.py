"""A Docker engine for a Server row: its endpoint with the TLS/SSH material decrypted."""

from __future__ import annotations

from berth.crypto import get_keyring
from berth.models import Server
from berth.runner import labels
from berth.runner.docker_engine import DockerEngine
from berth.runner.endpoints import EndpointConfig, connect


def endpoint_config(server: Server) -> EndpointConfig:
    keyring = get_keyring()

    def clear(ciphertext: str | None) -> str | None:
        return keyring.decrypt(ciphertext) if ciphertext else None

    return EndpointConfig(
        docker_host=server.docker_host,
        tls_ca_cert=clear(server.tls_ca_cert_enc),
        tls_client_cert=clear(server.tls_client_cert_enc),
        tls_client_key=clear(server.tls_client_key_enc),
        ssh_private_key=clear(server.ssh_private_key_enc),
        ssh_known_hosts=server.ssh_known_hosts,
    )


async def open_engine(server: Server) -> DockerEngine:
    """Connect to the server's daemon (raises EndpointError when unreachable); close() when done."""
    # Labels written or filtered through this engine name the installation.
    await labels.load_installation()
    return DockerEngine.from_endpoint(await connect(endpoint_config(server)))
