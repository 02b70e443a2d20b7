"""A rollback runs exactly what the replayed deployment ran: the tag has moved on to other
content and the old image is gone from the server, yet the old digest runs again."""

from __future__ import annotations

import contextlib
from pathlib import Path

import docker
import docker.errors

from berth.domain.specs import SourceSpec
from tests.docker_fixtures import (
    REGISTRY,
    BusyboxImage,
    build_and_push,
    build_busybox_context,
    delete_from_registry,
)
from tests.runner.conftest import postgres_only
from tests.runner.executor_support import Harness
from tests.runner.test_executor_image import assert_succeeded


@postgres_only
async def test_rollback_pulls_the_old_digest_after_the_tag_moved(
    harness: Harness, busybox_image: BusyboxImage, tmp_path: Path
) -> None:
    client: docker.DockerClient = harness.client
    repo = f"{REGISTRY}/berth-test/rollback"
    tag = harness.token
    old_page, new_page = f"{harness.token}-old", f"{harness.token}-new"
    old = build_and_push(client, build_busybox_context(tmp_path / "old", old_page), repo, tag)
    pushed = [old]
    try:
        service = await harness.service(SourceSpec(type="IMAGE", image=f"{repo}:{tag}", ports=["127.0.0.1::8080"]))
        first = await harness.deploy(service)
        assert_succeeded(first)
        assert first.frozen_input["imageDigest"] == old
        assert harness.serving(service) == busybox_image.page(old_page)

        new = build_and_push(client, build_busybox_context(tmp_path / "new", new_page), repo, tag)
        pushed.append(new)
        second = await harness.deploy(service)
        assert_succeeded(second)
        assert second.frozen_input["imageDigest"] == new != old
        assert harness.serving(service) == busybox_image.page(new_page)

        client.images.remove(first.frozen_input["imageId"], force=True)
        with contextlib.suppress(docker.errors.ImageNotFound):
            client.images.get(old)
            raise AssertionError("the old image is still on the server")

        replay = await harness.rollback(service)
        assert_succeeded(replay)
        assert replay.rollback_of_id == first.id  # type: ignore[attr-defined]
        assert replay.frozen_input["imageDigest"] == old
        assert (await harness.steps(replay.id))["PULL"].detail == old
        texts = [line.text for line in await harness.logs(replay.id)]
        assert f"pulling {old}" in texts
        assert harness.serving(service) == busybox_image.page(old_page)
        [container] = harness.containers(service)
        assert container.attrs["Config"]["Image"] == old
    finally:
        for digest in pushed:
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(digest, force=True)
            delete_from_registry(digest)
