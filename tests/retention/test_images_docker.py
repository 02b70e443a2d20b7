"""Images retention on a real daemon: the newest N per service stay, the current deployment's
and the default rollback target's stay, an image another container uses stays, the rest go;
the dry run removes nothing; and a rollback to a deployment whose logs were pruned (and one
whose image was pruned) still works."""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import timedelta
from pathlib import Path

import docker
import docker.errors

from berth.domain.retention import LogLines, prune_category
from berth.domain.specs import SourceSpec
from berth.models import Deployment, LogLine, Server
from berth.runner.docker_api import DockerApi
from berth.runner.engines import open_engine
from berth.runner.image_retention import prune_images
from berth.runner.pruner import Pruner
from tests.docker_fixtures import (
    REGISTRY,
    BusyboxImage,
    build_and_push,
    build_busybox_context,
    delete_from_registry,
)
from tests.runner.executor_support import Harness
from tests.runner.test_executor_image import assert_succeeded


def present(client: docker.DockerClient, image_id: str) -> bool:
    try:
        client.images.get(image_id)
    except docker.errors.ImageNotFound:
        return False
    return True


async def engine_factory(server: Server) -> DockerApi:
    return await open_engine(server)


async def test_images_beyond_n_go_but_what_rollback_needs_stays(
    harness: Harness, busybox_image: BusyboxImage, tmp_path: Path
) -> None:
    client: docker.DockerClient = harness.client
    repo, tag = f"{REGISTRY}/berth-test/retention", harness.token
    pushed: list[str] = []
    bystander = None
    try:
        service = await harness.service(SourceSpec(type="IMAGE", image=f"{repo}:{tag}", ports=["127.0.0.1::8080"]))
        deployments: list[Deployment] = []
        for version in ("v1", "v2", "v3", "v4"):
            page = f"{harness.token}-{version}"
            pushed.append(build_and_push(client, build_busybox_context(tmp_path / version, page), repo, tag))
            deployment = await harness.deploy(service)
            assert_succeeded(deployment)
            deployments.append(deployment)
        v1, v2, v3, v4 = deployments
        ids = [d.frozen_input["imageId"] for d in deployments]
        assert len(set(ids)) == 4 and all(present(client, image_id) for image_id in ids)
        # Something that is not Berth's runs v2's image: it must stay.
        bystander = client.containers.run(ids[1], name=f"{harness.token}-bystander", detach=True)

        # Keep 1: v4 is the newest (and runs), v3 is the default rollback target, v2 is in use.
        harness.settings = dataclasses.replace(harness.settings, retention_images=1)
        [planned] = [r for r in await prune_images(engine_factory, 1, dry_run=True)
                     if r.server == (await harness.server()).name]
        assert planned.error is None
        assert [d.image_id for d in planned.doomed] == [ids[0]]
        assert planned.kept_in_use == 1
        assert all(present(client, image_id) for image_id in ids)  # the dry run removed nothing

        pruner = Pruner(harness.settings, engine_factory, categories=[])
        report = await pruner.run_once()
        [mine] = [r for r in report.images if r.server == planned.server]
        assert [d.image_id for d in mine.removed] == [ids[0]]
        assert [present(client, image_id) for image_id in ids] == [False, True, True, True]

        # The default rollback target's logs age out; rolling back to it still works, and
        # its image is still here.
        assert v3.concluded_at is not None
        await prune_category(LogLines(days=30), v3.concluded_at + timedelta(days=31), 1000)
        assert await LogLine.filter(deployment_id=v3.id).count() == 0
        assert (await Deployment.get(id=v3.id)).logs_pruned_at is not None
        back = await harness.rollback(service)
        assert_succeeded(back)
        assert back.rollback_of_id == v3.id  # type: ignore[attr-defined]
        texts = [line.text for line in await harness.logs(back.id)]
        assert any("already on the server" in text for text in texts), texts
        assert harness.serving(service) == busybox_image.page(f"{harness.token}-v3")

        # And to v1, whose image went: pulled again by its digest.
        again = await harness.rollback(service, to=v1)
        assert_succeeded(again)
        assert f"pulling {v1.frozen_input['imageDigest']}" in [line.text for line in await harness.logs(again.id)]
        assert harness.serving(service) == busybox_image.page(f"{harness.token}-v1")
        del v2, v4
    finally:
        if bystander is not None:
            with contextlib.suppress(docker.errors.APIError):
                bystander.remove(force=True)
        for digest in pushed:
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(digest, force=True)
            delete_from_registry(digest)
