"""The benchmark's app image in the local registry (reusing the tests' image helpers).

The tests' busybox app (httpd on 8080, built FROM scratch) with its Docker HEALTHCHECK
turned off, so the service's own HTTP check is the only readiness gate and "by hand"
means polling that URL. Built once and pushed to REGISTRY/berth-bench/app:v1; a run
finds it there (same content, same digest) the next time.
"""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.config import REGISTRY

APP_REPO = f"{REGISTRY}/berth-bench/app"
APP_TAG = "v1"
APP_PORT = 8080


@dataclass(frozen=True)
class BenchImage:
    ref: str  # repo:tag
    digest: str  # repo@sha256:…


@functools.cache
def app_image() -> BenchImage:
    # Imported here: the helpers live with the tests (and import pytest).
    from tests.docker_fixtures import build_and_push, build_busybox_context
    from tests.services import docker_available, make_docker_client, registry_available

    for reason in (docker_available(), registry_available()):
        if reason:
            raise RuntimeError(reason)
    client = make_docker_client()
    try:
        with tempfile.TemporaryDirectory(prefix="berth-bench-image-") as tmp:
            context = build_busybox_context(Path(tmp), "bench", extra_dockerfile_lines=["HEALTHCHECK NONE"])
            digest = build_and_push(client, context, APP_REPO, APP_TAG)
    finally:
        client.close()
    return BenchImage(ref=f"{APP_REPO}:{APP_TAG}", digest=digest)
