"""Deleting a service (`deleteService`): the row stays, marked `deleted_at`, so its deployment
records stay readable; what it ran on its server is removed by the runner side (the observer
notices the mark, see berth/runner/service_removal.py), since the API process may not reach
Docker at all in a scale-out installation.

A deleted service is read-only: starting, rolling back and updating it are refused with
CONFLICT (`refuse_if_deleted`). Deleting is refused while a deployment of it is active
(queued or running): cancel it or let it finish first. Lock order as everywhere in the
domain: the service row is locked before its deployments are read, and `enqueue` re-checks
the mark under the same row lock, so no deployment is created for a service deleted meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence

from tortoise.transactions import in_transaction

from berth.auth.principal import Principal
from berth.domain.errors import UserErrorCode, UserFacingError, not_found
from berth.domain.queries import get_visible
from berth.models import Deployment, Environment, Project, Service
from berth.models.lifecycle import ACTIVE_STATUSES, now
from berth.models.sql import CONNECTION

SERVICE_FIELD = ["input", "serviceId"]


async def service_label(service: Service) -> str:
    """`project/environment/service`, as a person reads it."""
    project = await Project.get(id=service.project_id)
    environment = await Environment.get(id=service.environment_id)
    return f"{project.name}/{environment.name}/{service.name}"


def refuse_if_deleted(service: Service, label: str, field: Sequence[str] = SERVICE_FIELD) -> None:
    """CONFLICT for any change to a deleted service (its records stay, read-only)."""
    if service.deleted_at is not None:
        raise UserFacingError(
            UserErrorCode.CONFLICT,
            f"service {label} was deleted at {service.deleted_at.isoformat(timespec='seconds')}: "
            "its deployments stay readable, but it can no longer be deployed, rolled back or changed",
            field,
        )


async def delete_service(principal: Principal, service_id: int) -> Service:
    """Mark the service deleted; deleting a deleted service again returns it unchanged."""
    service = await get_visible(principal, Service, service_id)
    if service is None:
        raise not_found("service", SERVICE_FIELD)
    if service.deleted_at is not None:
        return service
    label = await service_label(service)
    async with in_transaction(CONNECTION) as conn:
        locked = await Service.filter(id=service.id).select_for_update(no_key=True).using_db(conn).get()
        if locked.deleted_at is not None:
            return locked
        active = (
            await Deployment.filter(service_id=service.id, status__in=sorted(ACTIVE_STATUSES))
            .using_db(conn)
            .order_by("number")
            .first()
        )
        if active is not None:
            raise UserFacingError(
                UserErrorCode.CONFLICT,
                f"service {label} has an active deployment ({label} #{active.number}, {active.status}): "
                "cancel it or let it finish, then delete the service",
                SERVICE_FIELD,
            )
        locked.deleted_at = now()
        await locked.save(using_db=conn, update_fields=["deleted_at"])
        return locked
