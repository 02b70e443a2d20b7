"""Labels on everything the runner creates, so Docker itself says what belongs to whom.

The observer finds a service's containers by `SERVICE`/`ENVIRONMENT`; crash recovery
finds a lost deployment's leftovers by `DEPLOYMENT` and `ATTEMPT`.
"""

from __future__ import annotations

PREFIX = "io.berth."
MANAGED = PREFIX + "managed"
SERVICE = PREFIX + "service-id"
ENVIRONMENT = PREFIX + "environment-id"
PROJECT = PREFIX + "project-id"
DEPLOYMENT = PREFIX + "deployment-id"
ATTEMPT = PREFIX + "attempt"


def deployment_labels(*, service_id: int, environment_id: int, project_id: int, deployment_id: int,
                      attempt: int) -> dict[str, str]:
    return {
        MANAGED: "true",
        SERVICE: str(service_id),
        ENVIRONMENT: str(environment_id),
        PROJECT: str(project_id),
        DEPLOYMENT: str(deployment_id),
        ATTEMPT: str(attempt),
    }


def service_filter(service_id: int, environment_id: int) -> dict[str, str]:
    return {SERVICE: str(service_id), ENVIRONMENT: str(environment_id)}


def deployment_filter(deployment_id: int) -> dict[str, str]:
    return {DEPLOYMENT: str(deployment_id)}
