"""What `cleanup` removes of a deployment, on the fake (the real daemon: test_executor_cleanup,
test_crash): only what carries the deployment's id, and networks only once idle."""

from __future__ import annotations

from berth.runner import labels
from berth.runner.cleanup import remove_leftovers
from berth.runner.docker_api import COMPOSE_PROJECT_LABEL, ComposeProject, ContainerSpec
from berth.runner.docker_fake import FakeDocker

LOST, PREVIOUS = 41, 40


def of(deployment_id: int) -> dict[str, str]:
    return labels.deployment_labels(service_id=7, environment_id=3, project_id=2, deployment_id=deployment_id,
                                    attempt=1)


async def test_a_lost_deployment_loses_its_containers_volumes_and_idle_networks() -> None:
    fake = FakeDocker()
    fake.add_local_image("app:1")
    project = ComposeProject(name="berth-p-production-web",
                             files={"compose.yaml": "services:\n  web:\n    image: app:1\n"})
    await fake.compose_up(project)  # the project's network, and a container of the compose project
    for container in list(fake.containers.values()):
        await fake.remove_container(container.id, force=True)
    await fake.create_volume("fresh", labels=of(LOST))
    await fake.create_volume("kept", labels=of(PREVIOUS))
    await fake.run_container(ContainerSpec(name="new", image="app:1", labels=of(LOST), volumes=["fresh:/data"]))
    await fake.run_container(ContainerSpec(name="old", image="app:1", labels=of(PREVIOUS), volumes=["kept:/data"]))

    removed = await remove_leftovers(fake, LOST, project.name)

    assert (removed.containers, removed.volumes, removed.networks) == (["new"], ["fresh"], [f"{project.name}_default"])
    assert removed.problems == []
    assert [c.name for c in fake.containers.values()] == ["old"] and set(fake.volumes) == {"kept"}
    assert removed.summary() == ["removed its containers: new", "removed its volumes: fresh",
                                 f"removed its networks: {project.name}_default"]


async def test_a_volume_in_use_and_a_network_with_containers_stay() -> None:
    fake = FakeDocker()
    fake.add_local_image("app:1")
    project = ComposeProject(name="berth-p-production-api",
                             files={"compose.yaml": "services:\n  api:\n    image: app:1\n"})
    await fake.compose_up(project)  # its container (the previous version) keeps the network busy
    await fake.create_volume("shared", labels=of(LOST))
    await fake.run_container(ContainerSpec(name="user", image="app:1", labels={COMPOSE_PROJECT_LABEL: "other"},
                                           volumes=["shared:/data"]))

    removed = await remove_leftovers(fake, LOST, project.name)

    assert removed.volumes == [] and removed.networks == []
    assert [problem.split(":")[0] for problem in removed.problems] == ["kept volume shared"]
    assert "shared" in fake.volumes and f"{project.name}_default" in fake.networks
