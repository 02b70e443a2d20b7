"""Labels on everything the runner creates, so Docker itself says what belongs to whom.

The observer finds a service's containers by `SERVICE`/`ENVIRONMENT`; crash recovery
finds a lost deployment's leftovers by `DEPLOYMENT` and `ATTEMPT`. What a pull request's
preview creates carries `PREVIEW` too: a preview is a lane of its own beside the service
(its own containers, volumes, networks), and its teardown and the orphan sweep find all of
it by that label. Docker filters only select by label, never exclude, so the service's own
objects are told apart from its previews' with `in_lane` on what was listed.
All of them also carry `INSTALLATION` once it is known (see `load_installation`): a daemon
shared by several Berth databases must not mix their services up, since row ids repeat.
"""

from __future__ import annotations

from collections.abc import Mapping

PREFIX = "io.berth."
MANAGED = PREFIX + "managed"
SERVICE = PREFIX + "service-id"
ENVIRONMENT = PREFIX + "environment-id"
PROJECT = PREFIX + "project-id"
DEPLOYMENT = PREFIX + "deployment-id"
ATTEMPT = PREFIX + "attempt"
INSTALLATION = PREFIX + "installation"
PREVIEW = PREFIX + "preview-id"
# The per-server proxy (berth.runner.proxy) and its network: which server it serves.
PROXY = PREFIX + "proxy"
SERVER = PREFIX + "server-id"

_installation: str | None = None


async def load_installation() -> str:
    """Read (or create) this database's installation id once per process."""
    global _installation
    if _installation is None:
        from berth.domain.bootstrap import ensure_installation

        _installation = await ensure_installation()
    return _installation


def forget_installation() -> None:
    """Tests open many databases in one process."""
    global _installation
    _installation = None


def _scoped(labels: dict[str, str]) -> dict[str, str]:
    return {**labels, INSTALLATION: _installation} if _installation else labels


def deployment_labels(*, service_id: int, environment_id: int, project_id: int, deployment_id: int,
                      attempt: int, preview_id: int | None = None) -> dict[str, str]:
    found = {
        MANAGED: "true",
        SERVICE: str(service_id),
        ENVIRONMENT: str(environment_id),
        PROJECT: str(project_id),
        DEPLOYMENT: str(deployment_id),
        ATTEMPT: str(attempt),
    }
    if preview_id is not None:
        found[PREVIEW] = str(preview_id)
    return _scoped(found)


def service_filter(service_id: int, environment_id: int, preview_id: int | None = None) -> dict[str, str]:
    """A service's objects, its previews' too unless `preview_id` names one: keep those
    `in_lane` of what is listed."""
    found = {SERVICE: str(service_id), ENVIRONMENT: str(environment_id)}
    if preview_id is not None:
        found[PREVIEW] = str(preview_id)
    return _scoped(found)


def in_lane(carried: Mapping[str, str], preview_id: int | None) -> bool:
    """Whether an object belongs to the lane: the service itself (None) or one preview."""
    return carried.get(PREVIEW) == (None if preview_id is None else str(preview_id))


def preview_filter(preview_id: int | None = None) -> dict[str, str | None]:
    """Everything of one preview; without an id, everything of any preview (the sweep)."""
    return {**_scoped({}), PREVIEW: None if preview_id is None else str(preview_id)}


def preview_id_of(carried: Mapping[str, str]) -> int | None:
    value = carried.get(PREVIEW, "")
    return int(value) if value.isascii() and value.isdigit() else None


def service_only_filter(service_id: int) -> dict[str, str]:
    """Everything of one service, whichever environment or deployment (deleteService)."""
    return _scoped({SERVICE: str(service_id)})


def deployment_filter(deployment_id: int) -> dict[str, str]:
    return _scoped({DEPLOYMENT: str(deployment_id)})


def berth_labels(carried: Mapping[str, str]) -> dict[str, str]:
    """Berth's own labels among those an object carries."""
    return {key: value for key, value in carried.items() if key.startswith(PREFIX)}


def installation_tag() -> str:
    """A short form of the installation id for names Docker keeps per daemon (the proxy's)."""
    return (_installation or "")[:8]


def proxy_labels(server_id: int) -> dict[str, str]:
    return _scoped({MANAGED: "true", PROXY: "true", SERVER: str(server_id)})


def proxy_network_labels() -> dict[str, str]:
    return _scoped({MANAGED: "true", PROXY: "network"})


def managed_filter() -> dict[str, str]:
    """Everything this installation made."""
    return _scoped({MANAGED: "true"})
