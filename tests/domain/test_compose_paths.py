"""The relative paths the policy lets through as text, for the runner to resolve in the
checkout (berth.runner.checkout_paths): every key that makes compose read a file or a
directory on the runner's machine, where compose reads it from."""

from __future__ import annotations

import pytest

from berth.domain.privilege import compose_paths
from berth.domain.validation import parse_compose

CASES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "build as a string": ("build: ./ctx", [("services.web.build", "./ctx"),
                                           ("services.web.build.dockerfile", "ctx/Dockerfile")]),
    "build context and dockerfile": (
        "build:\n  context: app\n  dockerfile: docker/Dockerfile.prod",
        [("services.web.build.context", "app"), ("services.web.build.dockerfile", "app/docker/Dockerfile.prod")]),
    "build without a context": ("build:\n  dockerfile: Dockerfile.dev",
                                [("services.web.build.context", "."),
                                 ("services.web.build.dockerfile", "Dockerfile.dev")]),
    "inline dockerfile": ("build:\n  context: app\n  dockerfile_inline: FROM scratch",
                          [("services.web.build.context", "app")]),
    "additional contexts": (
        "build:\n  context: .\n  additional_contexts:\n    lib: ./lib\n    base: docker-image://alpine",
        [("services.web.build.context", "."), ("services.web.build.additional_contexts.lib", "./lib"),
         ("services.web.build.dockerfile", "Dockerfile")]),
    "env files": ("env_file:\n  - a.env\n  - path: b.env\n    required: false",
                  [("services.web.env_file", "a.env"), ("services.web.env_file", "b.env")]),
    "env file as a string": ("env_file: a.env", [("services.web.env_file", "a.env")]),
    "label file": ("label_file: labels.txt", [("services.web.label_file", "labels.txt")]),
    "interpolated": ("build: ${CTX}", [("services.web.build", "app"), ("services.web.build.dockerfile", "app/Dockerfile")]),
    "nothing to read": ("volumes: [data:/data]", []),
}


@pytest.mark.parametrize("name", list(CASES))
def test_paths_compose_reads(name: str) -> None:
    body, expected = CASES[name]
    indented = "".join(f"    {line}\n" for line in body.splitlines())
    document = parse_compose(f"services:\n  web:\n    image: nginx\n{indented}")
    assert isinstance(document, dict)
    assert [(ref.where, ref.path) for ref in compose_paths(document, {"CTX": "app"})] == expected


def test_secret_and_config_files() -> None:
    document = parse_compose("services:\n  web:\n    image: nginx\n"
                             "secrets:\n  token:\n    file: ./secrets/token\n"
                             "configs:\n  app:\n    file: conf/app.ini\n  other:\n    content: x\n")
    assert isinstance(document, dict)
    assert [(ref.where, ref.path) for ref in compose_paths(document)] == [
        ("secrets.token.file", "./secrets/token"), ("configs.app.file", "conf/app.ini")]


def test_paths_the_policy_refuses_as_text_are_not_listed() -> None:
    # They are violations already (absolute, `..`, unknown): nothing left to resolve.
    document = parse_compose("services:\n  web:\n    image: nginx\n    build: ../up\n    env_file: /etc/x\n"
                             "  api:\n    image: nginx\n    build: ${UNKNOWN}\n")
    assert isinstance(document, dict)
    assert compose_paths(document) == []
