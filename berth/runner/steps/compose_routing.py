"""COMPOSE services with a route: blue/green (issue 16).

Each deployment runs as one of two compose projects, `<composeProject>-blue` and `-green`,
the other one than the version now serving; the new project comes up beside the old, its
`composeService` joins the proxy network, HEALTH waits as usual, FINALIZE moves the route
to it, lets the old drain, then removes the old project's containers and networks. Named
volumes keep the project's one name (`<composeProject>_<key>`) for both colours: the
switch never removes them, and both colours mount the same data while both run.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import yaml

from berth.models.enums import StepKind
from berth.runner.docker_api import COMPOSE_PROJECT_LABEL, ComposeProject, DockerApi
from berth.runner.proxy.container import network_name
from berth.runner.steps import compose_files
from berth.runner.steps.context import RunContext

COLOURS = ("blue", "green")


def base_name(project: str) -> str:
    for colour in COLOURS:
        if project.endswith(f"-{colour}"):
            return project.removesuffix(f"-{colour}")
    return project


def choose_project(ctx: RunContext) -> str:
    """The colour the serving version (the newest successful deployment) does not use, blue
    first; recorded in the frozen input, so the record says where this one ran. The same
    answer every time within a run: it depends on that deployment only."""
    current = str(ctx.frozen["composeProject"])
    previous = ctx.records.previous
    serving = str((previous.frozen_input or {}).get("composeProject") or "") if previous is not None else ""
    colour = "green" if serving.endswith("-blue") else "blue"
    name = f"{base_name(current)}-{colour}"
    if name != current:
        ctx.record_frozen(composeProject=name)
    return name


def _with_network(declared: Any) -> Any:
    # The same form as the compose file's own `networks:` (compose merges like with like).
    proxy = network_name()
    if isinstance(declared, dict):
        return {**({} if declared else {"default": {}}), proxy: {}}
    return ([] if declared else ["default"]) + [proxy]


def routed_project(ctx: RunContext, project: ComposeProject, route: dict[str, Any]) -> ComposeProject:
    """The project with Berth's override extended: `composeService` on the proxy network,
    named volumes under the colour-free name."""
    override = yaml.safe_load(project.files[compose_files.OVERRIDE_FILE]) or {}
    originals = {name: text for name, text in project.files.items() if name != compose_files.OVERRIDE_FILE}
    service = str(route["composeService"])
    declared = compose_files.merged_services(originals).get(service) or {}
    entry = override.setdefault("services", {}).setdefault(service, {})
    entry["networks"] = _with_network(declared.get("networks"))
    override.setdefault("networks", {})[network_name()] = {"external": True, "name": network_name()}
    base = base_name(project.name)
    volumes = override.get("volumes") or {}
    for key, config in compose_files.declared_volumes(originals).items():
        config = config or {}
        if config.get("external") or config.get("name") or config.get("driver") or config.get("driver_opts"):
            continue  # named, external or a driver's own: compose names them as declared
        volumes[key] = {**config, **(volumes.get(key) or {}), "name": f"{base}_{key}"}
    if volumes:
        override["volumes"] = volumes
    files = {**project.files, compose_files.OVERRIDE_FILE: yaml.safe_dump(override, sort_keys=False)}
    return dataclasses.replace(project, files=files)


async def remove_old_networks(ctx: RunContext, docker: DockerApi, new_project: str) -> list[str]:
    """The other colour's networks, once its containers are retired."""
    removed: list[str] = []
    for colour in COLOURS:
        name = f"{base_name(new_project)}-{colour}"
        if name != new_project:
            removed += await docker.remove_idle_networks({COMPOSE_PROJECT_LABEL: name})
    for network in removed:
        ctx.log.system(f"removed network {network} of the previous colour", StepKind.FINALIZE)
    return removed
