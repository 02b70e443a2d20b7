"""Paths of a checkout that compose will read, resolved as the filesystem resolves them.

The privilege policy judges a compose file's paths as text (berth.domain.compose_allowlist):
`./ctx` is a relative path inside the project, but in the repository `ctx` may be a
symlink to `/` or to the runner's own data. After CLONE the runner resolves every such
path (and the `.env` file compose reads from the project directory) with its real path;
on a server without `allowPrivileged` a path that leaves the checkout fails CLONE.

What a build reads inside its context is the builder's business: BuildKit and the classic
builder send a symlink of the context as a symlink, never its target.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from berth.domain.compose_allowlist import PathRef
from berth.domain.compose_env import steers_compose_from_dotenv
from berth.domain.privilege import POLICY_HINT, compose_paths

# Compose reads it from the project directory, unasked: variables for interpolation, and
# settings of its own.
DOTENV = ".env"
MAX_DOTENV_BYTES = 256 * 1024
_DOTENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def leaves(checkout: Path, path: Path) -> bool:
    """Whether `path`, with every symlink resolved, is outside `checkout`'s real path."""
    return not Path(os.path.realpath(path)).is_relative_to(Path(os.path.realpath(checkout)))


def compose_path_problems(checkout: Path, project_dir: Path, refs: Iterable[PathRef]) -> list[str]:
    """What would make compose read outside the checkout, each naming the place in the file.

    Compose resolves the paths relative to the project directory (a Dockerfile relative to
    its build context; `PathRef.path` already joins the two)."""
    return [f"{ref.where}: {ref.path!r} leads outside the checkout (through a symlink of the repository)"
            for ref in refs if leaves(checkout, project_dir / ref.path)]


def dotenv_problem(checkout: Path, project_dir: Path) -> str | None:
    dotenv = project_dir / DOTENV
    if not os.path.lexists(dotenv):
        return None
    name = os.path.relpath(dotenv, checkout)
    if leaves(checkout, dotenv):
        return f"{name}, the .env file compose reads, leads outside the checkout (through a symlink of the repository)"
    if not dotenv.is_file():
        return None
    if dotenv.stat().st_size > MAX_DOTENV_BYTES:
        return f"{name}, the .env file compose reads, is larger than {MAX_DOTENV_BYTES // 1024} KiB"
    settings = sorted({key for key in _dotenv_keys(dotenv.read_text(encoding="utf-8", errors="replace"))
                       if steers_compose_from_dotenv(key)})
    if settings:
        return (f"{name} sets {', '.join(settings)}: compose reads its own DOCKER_* and COMPOSE_* settings "
                "from the .env file of the project directory (the daemon, its credentials, the profiles), so it")
    return None


def _dotenv_keys(text: str) -> list[str]:
    """The names a .env file may assign: the name that starts each line (`KEY=value`,
    `export KEY=value`, v2's `KEY: value`); more than compose reads is harmless here."""
    keys = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        if match := _DOTENV_NAME.match(line):
            keys.append(match.group(0))
    return keys


def compose_files_problem(checkout: Path, documents: Mapping[str, Mapping[str, Any]], env: Mapping[str, str],
                          services: Iterable[str]) -> str | None:
    """Why compose would read outside the checkout for these files (path -> parsed document,
    in `-f` order), or None. `env` and `services` as the policy judged the files with."""
    project_dir = (checkout / next(iter(documents))).parent  # compose's: the first file's folder
    for path, document in documents.items():
        problems = compose_path_problems(checkout, project_dir, compose_paths(document, env, services))
        if problems:
            return f"compose file {path}: " + "; ".join(problems) + f" {POLICY_HINT}"
    if problem := dotenv_problem(checkout, project_dir):
        return f"{problem} {POLICY_HINT}"
    return None
