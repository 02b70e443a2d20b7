"""Small builders for model rows in tests (through the lifecycle module, as the app does)."""

from __future__ import annotations

import uuid
from typing import Any

from tortoise.transactions import in_transaction

from berth.models import Deployment, Environment, Project, Server, Service
from berth.models.enums import DeploymentTrigger, SourceType
from berth.models.lifecycle import create_deployment, notify_created


def short_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def make_service(server: Server | None = None, **fields: Any) -> Service:
    server = server or await Server.create(name=short_name("srv"), docker_host="unix:///var/run/docker.sock")
    project = await Project.create(name=short_name("proj"))
    environment = await Environment.create(project=project, name="production")
    defaults: dict[str, Any] = {
        "name": short_name("svc"),
        "source_type": SourceType.IMAGE,
        "source": {"image": "127.0.0.1:5000/berth-test/app:v1"},
    }
    defaults.update(fields)
    return await Service.create(project=project, environment=environment, server=server, **defaults)


async def make_deployment(service: Service, **fields: Any) -> Deployment:
    async with in_transaction() as conn:
        await (
            Service.filter(id=service.id)
            .using_db(conn)
            .update(last_deployment_number=service.last_deployment_number + 1)
        )
        service.last_deployment_number += 1
        values: dict[str, Any] = {
            "service_id": service.id,
            "project_id": service.project_id,  # type: ignore[attr-defined]
            "environment_id": service.environment_id,  # type: ignore[attr-defined]
            "server_id": service.server_id,  # type: ignore[attr-defined]
            "number": service.last_deployment_number,
            "trigger": DeploymentTrigger.API,
            "actor": {"subject": "token:1", "email": None, "role": "OWNER", "tokenKind": "API_TOKEN"},
            "input": {"sourceType": "IMAGE", "image": "127.0.0.1:5000/berth-test/app", "imageTag": "v1"},
            "config_snapshot": {},
            "declared_config": {},
            "frozen_input": {},
        }
        values.update(fields)
        deployment = await create_deployment(conn, **values)
    await notify_created(deployment.id)
    return deployment
