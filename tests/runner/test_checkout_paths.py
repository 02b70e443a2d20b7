"""Paths compose would read, resolved in a checkout with its symlinks (no Docker needed)."""

from __future__ import annotations

import os
from pathlib import Path

from berth.domain.validation import parse_compose
from berth.runner.checkout_paths import compose_files_problem, leaves


def _checkout(tmp_path: Path) -> Path:
    checkout = tmp_path / "checkout"
    (checkout / "app").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    os.symlink("app", checkout / "inner")  # stays inside
    os.symlink("/", checkout / "root")
    os.symlink("../elsewhere", checkout / "up")
    os.symlink(tmp_path / "elsewhere", checkout / "app" / "deep")
    return checkout


def test_leaves(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path)
    assert not leaves(checkout, checkout / "app")
    assert not leaves(checkout, checkout / "inner" / "missing.env")  # compose says what is missing
    assert not leaves(checkout, checkout / "missing" / "x")
    assert leaves(checkout, checkout / "root")
    assert leaves(checkout, checkout / "root" / "etc" / "passwd")
    assert leaves(checkout, checkout / "up")
    assert leaves(checkout, checkout / "app" / "deep" / "x")


def _problem(checkout: Path, body: str, first: str = "compose.yaml") -> str | None:
    indented = "".join(f"    {line}\n" for line in body.splitlines())
    document = parse_compose(f"services:\n  web:\n    image: nginx\n{indented}")
    assert isinstance(document, dict)
    return compose_files_problem(checkout, {first: document}, {}, set())


def test_compose_paths_through_symlinks(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path)
    assert _problem(checkout, "build: ./inner") is None
    assert _problem(checkout, "build:\n  context: app\n  dockerfile: deep/Dockerfile") == (
        "compose file compose.yaml: services.web.build.dockerfile: 'app/deep/Dockerfile' leads outside the "
        "checkout (through a symlink of the repository) needs a target server with allowPrivileged")
    problem = _problem(checkout, "build: root\nenv_file: [up/x.env]")
    assert problem is not None
    assert "services.web.build: 'root'" in problem and "services.web.env_file: 'up/x.env'" in problem
    # Relative to the first file's folder, as compose resolves them.
    assert _problem(checkout, "env_file: deep/x.env", first="app/compose.yaml") is not None
    assert _problem(checkout, "env_file: deep/x.env") is None


def test_the_dotenv_file_compose_reads(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path)
    (checkout / "app" / "settings").write_text("A=1\n")
    os.symlink("app/settings", checkout / ".env")
    assert _problem(checkout, "") is None
    (checkout / ".env").unlink()
    os.symlink("/etc/hostname", checkout / ".env")
    assert _problem(checkout, "") == (".env, the .env file compose reads, leads outside the checkout (through a "
                                      "symlink of the repository) needs a target server with allowPrivileged")


def test_a_dotenv_file_may_not_set_composes_own_settings(tmp_path: Path) -> None:
    # Measured: compose v1 connects to a DOCKER_HOST of the .env file, v1 and v2 activate
    # its COMPOSE_PROFILES.
    checkout = _checkout(tmp_path)
    (checkout / ".env").write_text("# settings\nTZ=Europe/Berlin\nTAG=1\n")
    assert _problem(checkout, "") is None
    (checkout / ".env").write_text("TAG=1\nexport DOCKER_HOST=tcp://127.0.0.1:2375\n  COMPOSE_PROFILES: extra\n")
    assert _problem(checkout, "") == (
        ".env sets COMPOSE_PROFILES, DOCKER_HOST: compose reads its own DOCKER_* and COMPOSE_* settings from the "
        ".env file of the project directory (the daemon, its credentials, the profiles), so it needs a target "
        "server with allowPrivileged")
