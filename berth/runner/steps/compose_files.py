"""A COMPOSE deployment's project as compose will see it: the frozen files, in order, plus
one file of Berth's own that labels every service's containers (so the observer and
crash recovery find them like any other) and, when replaying, pins each image to the
digest the replayed deployment ran.

Variables stay variables in the stored files; their values (secrets included) reach
compose through its environment, for `${VAR}` interpolation, and through Berth's own file,
as every service's `environment:` (see docs/compose.md): `--env KEY=VALUE` on a COMPOSE
service reaches its containers as it would an IMAGE service's. Berth's file comes last, so
its values win over the same keys set by the compose files. That file exists only in the
private temp dir compose_cli writes for one command (0700, files 0600) and is never stored.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from berth.domain.preview_isolation import isolated_compose
from berth.domain.resources import compose_limits
from berth.runner import labels as berth_labels
from berth.runner.docker_api import ComposeProject

OVERRIDE_FILE = "berth.override.yml"
IMAGES_KEY = "composeImages"
"""Frozen-input key: {service: repository@digest} of the images a deployment ran."""


class ComposeFilesError(Exception):
    pass


def file_name(path: str) -> str:
    return posixpath.basename(path)


def frozen_files(frozen: Mapping[str, Any]) -> dict[str, str]:
    """file name -> content, in `-f` order; every file must have its content by now."""
    files: dict[str, str] = {}
    for entry in frozen.get("composeFiles") or []:
        content = entry.get("content")
        if content is None:
            raise ComposeFilesError(f"compose file {entry.get('path')} has not been read from the repository")
        name = file_name(str(entry["path"]))
        if name in files or name == OVERRIDE_FILE:
            raise ComposeFilesError(f"two compose files are named {name!r}")
        files[name] = str(content)
    if not files:
        raise ComposeFilesError("the deployment has no compose files")
    return files


def _documents(files: Mapping[str, str]) -> list[dict[str, Any]]:
    documents = []
    for content in files.values():
        document = yaml.safe_load(content) or {}
        documents.append(document if isinstance(document, dict) else {})
    return documents


def merged_services(files: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Services over all files, later files' keys over earlier ones (shallow, as needed here)."""
    merged: dict[str, dict[str, Any]] = {}
    for document in _documents(files):
        for name, config in (document.get("services") or {}).items():
            merged.setdefault(str(name), {}).update(config or {})
    return merged


def active_services(files: Mapping[str, str], profiles: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The services `up` starts: those without profiles, and those of an active profile."""
    active = set(profiles)
    return {name: config for name, config in merged_services(files).items()
            if not config.get("profiles") or active & set(config["profiles"])}


def built_services(files: Mapping[str, str], profiles: Sequence[str]) -> list[str]:
    return [name for name, config in active_services(files, profiles).items() if config.get("build")]


def declared_volumes(files: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    volumes: dict[str, dict[str, Any]] = {}
    for document in _documents(files):
        for name, config in (document.get("volumes") or {}).items():
            volumes.setdefault(str(name), {}).update(config or {})
    return volumes


def escape_interpolation(value: str) -> str:
    """A value compose must take literally: it interpolates `$` in every file, ours too."""
    return value.replace("$", "$$")


def label_map(value: Any) -> dict[str, str]:
    """Compose's `labels` (a mapping, or a list of `key=value`) as a mapping."""
    if isinstance(value, dict):
        return {str(key): "" if item is None else str(item) for key, item in value.items()}
    if isinstance(value, list):
        pairs = (str(item).partition("=") for item in value)
        return {key: item for key, _, item in pairs}
    return {}


def _volumes(files: Mapping[str, str], volume_labels: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """The declared volumes Berth labels, each with its labels as the volume carries them.

    Compose warns ("label … has changed. It may need to be recreated") about every label a
    volume carries that its files do not declare; so the files declare them. The whole
    entry is repeated: compose v1 takes a volume's entry from the last file that has one.
    """
    declared = declared_volumes(files)
    return {key: {**declared[key], "labels": {**label_map(declared[key].get("labels")), **carried}}
            for key, carried in volume_labels.items() if key in declared}


def preview_files(files: Mapping[str, str]) -> dict[str, str]:
    """The files as a preview runs them (`preview_isolation.isolated_compose`)."""
    isolated = {}
    for name, content in files.items():
        document = yaml.safe_load(content) or {}
        isolated[name] = yaml.safe_dump(isolated_compose(document), sort_keys=False) if isinstance(
            document, dict) else content
    return isolated


# A preview's default network carries these (stable across its deployments, so compose
# never sees its configuration change), so the teardown and the sweep find it by label.
_NETWORK_LABELS = (berth_labels.MANAGED, berth_labels.SERVICE, berth_labels.PREVIEW, berth_labels.INSTALLATION)


def network_labels(labels: Mapping[str, str]) -> dict[str, str]:
    if berth_labels.PREVIEW not in labels:
        return {}
    return {key: labels[key] for key in _NETWORK_LABELS if key in labels}


def override(files: Mapping[str, str], labels: Mapping[str, str], pins: Mapping[str, str],
             environment: Mapping[str, str] | None = None,
             volume_labels: Mapping[str, Mapping[str, str]] | None = None,
             resources: Mapping[str, Any] | None = None) -> str:
    """Berth's own file: labels and image pins, the service's env as each compose service's
    `environment:` (merged by key over the compose files', ours winning), the service's
    resources (the restart policy always; each limit the service sets, over the files' own),
    the labels of the named volumes Berth labels, and a preview's labels on its default network."""
    first = _documents(files)[0] if files else {}
    version = str(first.get("version") or "")
    container_env = {key: escape_interpolation(value) for key, value in (environment or {}).items()}
    services: dict[str, Any] = {}
    for name, config in merged_services(files).items():
        entry: dict[str, Any] = {"labels": dict(labels)}
        if resources is not None:
            # A frozen input from before resources has none: a replay adds nothing (as it ran).
            entry.update(compose_limits(resources, version, config))
        if name in pins:
            entry["image"] = pins[name]
        if container_env:
            entry["environment"] = dict(container_env)
        services[name] = entry
    document: dict[str, Any] = {}
    if first.get("version"):
        document["version"] = first["version"]  # compose v1 wants one format across files
    document["services"] = services
    volumes = _volumes(files, volume_labels or {})
    if volumes:
        document["volumes"] = volumes
    if network := network_labels(labels):
        document["networks"] = {"default": {"labels": network}}
    return yaml.safe_dump(document, sort_keys=False)


def interpolation_env(frozen: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    values = dict(env)
    image_override = frozen.get("imageOverride") or {}
    if image_override.get("variable") and image_override.get("tag"):
        values[str(image_override["variable"])] = str(image_override["tag"])
    return values


def project_for(
    frozen: Mapping[str, Any],
    env: Mapping[str, str],
    labels: Mapping[str, str],
    checkout: Path | None,
    *,
    pin_images: bool = True,
    volume_labels: Mapping[str, Mapping[str, str]] | None = None,
) -> ComposeProject:
    """The compose project of a frozen input; relative paths resolve in the checkout when
    there is one (as compose would, against the first file's folder). `volume_labels`:
    {volume key: Berth's labels on that volume} (see `_volumes`)."""
    files = frozen_files(frozen)
    if frozen.get("preview"):
        files = preview_files(files)
    built = set(built_services(files, frozen.get("composeProfiles") or []))
    # Images that are built here are rebuilt from the commit, never pinned.
    pins = {name: ref for name, ref in (frozen.get(IMAGES_KEY) or {}).items()
            if pin_images and name not in built}
    rendered = {**files, OVERRIDE_FILE: override(files, labels, pins, env, volume_labels,
                                                 frozen.get("resources"))}
    project_dir = None
    if checkout is not None:
        first = str((frozen.get("composeFiles") or [{}])[0].get("path") or "")
        project_dir = (checkout / first).parent
    return ComposeProject(
        name=str(frozen["composeProject"]),
        files=rendered,
        profiles=tuple(frozen.get("composeProfiles") or ()),
        env=interpolation_env(frozen, env),
        project_dir=project_dir,
    )
