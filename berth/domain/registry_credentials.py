"""Registry credentials: a project's username and password for one registry, used by the
runner for every pull and build of the project's services, on any server.

The password is stored Fernet-encrypted and never leaves the domain except to the runner
(`credentials_for`), which hands it to the daemon and to its log masker. A reference's
registry is the one Docker would contact: the first path component when it looks like a host
(with a '.' or ':', or `localhost`), else Docker Hub, `docker.io`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from berth.auth.principal import Principal
from berth.domain.errors import ErrorList, UserErrorCode, UserFacingError, not_found
from berth.domain.grammars import GrammarError, parse_image_reference
from berth.domain.limits import MAX_REGISTRY, MAX_REGISTRY_PASSWORD, MAX_REGISTRY_USERNAME
from berth.domain.queries import get_visible
from berth.domain.secrets import decrypt, encrypt
from berth.domain.specs import RegistryCredentialSpec
from berth.models import Project, RegistryCredential
from berth.models.lifecycle import now
from berth.models.sql import CONNECTION

INPUT = ["input"]
DOCKER_HUB = "docker.io"
# Names Docker uses for Docker Hub; a credential for any of them is Docker Hub's.
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
# host[:port], as the image reference grammar reads a registry (port 1-65535 checked apart).
_REGISTRY = re.compile(
    r"^(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])(?:\.(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9]))*"
    r"(?::(?P<port>[0-9]{1,5}))?$"
)
REGISTRY_USAGE = "registry must be host[:port] as image references name it, e.g. registry.example.com or 127.0.0.1:5443"


def normal_registry(registry: str) -> str:
    registry = registry.lower()
    return DOCKER_HUB if registry in _HUB_ALIASES else registry


def registry_problem(registry: str) -> str | None:
    if len(registry) > MAX_REGISTRY:
        return f"registry must be at most {MAX_REGISTRY} characters"
    match = _REGISTRY.fullmatch(registry.lower())
    if match is None or (match.group("port") and not 1 <= int(match.group("port")) <= 65535):
        return REGISTRY_USAGE
    return None


def registry_of(reference: str) -> str:
    """The registry an image reference pulls from (`docker.io` for Docker Hub)."""
    try:
        domain = parse_image_reference(reference).domain
    except GrammarError:
        domain = None
    return normal_registry(domain) if domain else DOCKER_HUB


def validate_credential(spec: RegistryCredentialSpec) -> ErrorList:
    errors = ErrorList()
    if problem := registry_problem(spec.registry):
        errors.add([*INPUT, "registry"], problem)
    if not spec.username or len(spec.username) > MAX_REGISTRY_USERNAME or ":" in spec.username or any(
            not ch.isprintable() for ch in spec.username):
        errors.add([*INPUT, "username"], f"username must be 1 to {MAX_REGISTRY_USERNAME} printable characters "
                                         "without ':'")
    if not spec.password:
        errors.add([*INPUT, "password"], "password must not be empty")
    elif len(spec.password) > MAX_REGISTRY_PASSWORD or any(ch in spec.password for ch in "\x00\r\n"):
        errors.add([*INPUT, "password"], f"password must be at most {MAX_REGISTRY_PASSWORD} characters on one "
                                         "line")
    return errors


async def create_registry_credential(principal: Principal, spec: RegistryCredentialSpec) -> RegistryCredential:
    project = await get_visible(principal, Project, spec.project_id)
    if project is None:
        raise not_found("project", [*INPUT, "projectId"])
    validate_credential(spec).raise_if_any()
    registry = normal_registry(spec.registry)
    conflict = UserFacingError(UserErrorCode.CONFLICT, f"the project has credentials for {registry}; delete "
                               "them first to replace them", [*INPUT, "registry"])
    try:
        async with in_transaction(CONNECTION) as conn:
            if await RegistryCredential.filter(project_id=project.id, registry=registry).using_db(conn).exists():
                raise conflict
            return await RegistryCredential.create(
                using_db=conn, project_id=project.id, registry=registry, username=spec.username,
                password_enc=encrypt(spec.password),
            )
    except IntegrityError:
        raise conflict from None


async def delete_registry_credential(principal: Principal, pk: int) -> RegistryCredential:
    credential = await get_visible(principal, RegistryCredential, pk)
    if credential is None:
        raise not_found("registry credential", ["id"])
    await credential.delete()
    return credential


async def project_credentials(project_id: int) -> list[RegistryCredential]:
    return list(await RegistryCredential.filter(project_id=project_id).order_by("registry", "id"))


# ---- for the runner


@dataclass(frozen=True)
class RegistryAuth:
    """What the daemon is given for one registry; the password is not in the repr."""

    id: int
    registry: str
    username: str
    password: str = field(repr=False)

    def auth_config(self) -> dict[str, str]:
        """docker-py's `auth_config` (the X-Registry-Auth of a pull)."""
        return {"username": self.username, "password": self.password, "serveraddress": self.registry}


async def credentials_for(project_id: int) -> dict[str, RegistryAuth]:
    """The project's credentials by registry, decrypted (the runner's only way to them)."""
    return {
        row.registry: RegistryAuth(row.id, row.registry, row.username, decrypt(row.password_enc))
        for row in await project_credentials(project_id)
    }


def credential_for(credentials: Mapping[str, RegistryAuth], reference: str) -> RegistryAuth | None:
    return credentials.get(registry_of(reference))


async def mark_used(credentials: Iterable[RegistryAuth]) -> None:
    ids = sorted({credential.id for credential in credentials})
    if ids:
        await RegistryCredential.filter(id__in=ids).update(last_used_at=now())
