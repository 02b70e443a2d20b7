"""A COMPOSE deployment's named volumes carry Berth's labels from the start, as compose itself
declares them (the override lists them), so the next deployment's `up` sees no change: no
`label "io.berth…" has changed` warning, with compose v1 and v2+. The labels still say which
deployment created the volume, which the cleanup rules rely on."""

from __future__ import annotations

import pytest
import yaml

from berth.domain.specs import SourceSpec
from berth.runner import labels
from berth.runner.steps import compose_files
from tests.docker_fixtures import BusyboxImage
from tests.runner.conftest import postgres_only
from tests.runner.executor_support import Harness
from tests.runner.test_compose_v2_executor import compose_v2  # noqa: F401 (fixture)
from tests.runner.test_executor_compose import inline
from tests.runner.test_executor_image import assert_succeeded

# What compose (v1: "label … has changed", v2+: "already exists but …") says about a volume
# whose labels differ from the files'.
WARNINGS = ("has changed", "may need to be recreated", "already exists but", "doesn't match")


def _with_labeled_volume(content: str) -> str:
    """The test app's compose file with a user label on its volume (kept beside Berth's)."""
    assert content.endswith("volumes:\n  data: {}\n")
    return content.removesuffix("  data: {}\n") + "  data:\n    labels:\n      team: blue\n"


async def _two_deployments_without_volume_warnings(harness: Harness, busybox_image: BusyboxImage) -> None:
    service = await harness.service(
        SourceSpec(type="COMPOSE", compose_content=_with_labeled_volume(inline(busybox_image)))
    )
    first = await harness.deploy(service)
    assert_succeeded(first)
    second = await harness.deploy(service, image_tag="v2")
    assert_succeeded(second)
    third = await harness.deploy(service)  # the volume's labels were set once, by the first
    assert_succeeded(third)
    for deployment in (first, second, third):
        texts = [line.text for line in await harness.logs(deployment.id)]
        warned = [text for text in texts if "olume" in text and any(w in text for w in WARNINGS)]
        assert warned == [], warned
    project = first.frozen_input["composeProject"]
    volume = harness.client.volumes.get(f"{project}_data")
    carried = volume.attrs["Labels"]
    # The first deployment created it: that is who owns it (cleanup removes volumes by it).
    assert carried[labels.DEPLOYMENT] == str(first.id) and carried[labels.SERVICE] == str(service.id)
    assert carried[labels.INSTALLATION] and carried["team"] == "blue"
    assert carried["com.docker.compose.project"] == project


@postgres_only
async def test_compose_v1_redeploys_without_volume_label_warnings(
    harness: Harness, busybox_image: BusyboxImage
) -> None:
    await _two_deployments_without_volume_warnings(harness, busybox_image)


@postgres_only
@pytest.mark.usefixtures("compose_v2")
async def test_compose_v2_redeploys_without_volume_label_warnings(
    harness: Harness, busybox_image: BusyboxImage
) -> None:
    await _two_deployments_without_volume_warnings(harness, busybox_image)


def test_the_override_repeats_each_labeled_volume_whole_with_its_labels() -> None:
    files = {
        "compose.yaml": "services:\n  web:\n    image: x\nvolumes:\n  data:\n    labels: [team=blue]\n  cache: {}\n"
                        "  ext:\n    external: true\n",
    }  # fmt: skip
    carried = {"data": {labels.DEPLOYMENT: "7"}, "gone": {labels.DEPLOYMENT: "7"}}
    document = yaml.safe_load(compose_files.override(files, {labels.MANAGED: "true"}, {}, volume_labels=carried))
    # Only volumes the files declare and Berth labels; compose v1 takes the last file's entry whole.
    assert document["volumes"] == {"data": {"labels": {"team": "blue", labels.DEPLOYMENT: "7"}}}
    assert "volumes" not in yaml.safe_load(compose_files.override(files, {}, {}, volume_labels={}))
