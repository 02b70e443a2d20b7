"""What a principal may see of a deployment's JSON documents (configSnapshot, declaredConfig,
frozenInput, the artifact, a service's declaredConfig).

Documents follow the same scopes as the edges (CONTRACT §2): a credential that gets
FORBIDDEN on `Deployment.server` must not read the server's endpoint through
`configSnapshot` or the artifact either. Each part of another type inside a document is
replaced by a marker naming the scope it needs, `{"redacted": "requires server:read"}`, so
the reader can tell "hidden from you" from "not there". The GraphQL fields and the HTTP
artifact download both go through `visible_document`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from berth.auth.principal import Principal
from berth.auth.scopes import Scope

REDACTED = "redacted"


class Document(StrEnum):
    CONFIG_SNAPSHOT = "configSnapshot"
    DECLARED_CONFIG = "declaredConfig"
    FROZEN_INPUT = "frozenInput"
    ARTIFACT = "artifact"


# The keys that hold (a reference to) an object of another scoped type, wherever they
# appear in the places listed below: the scope that type's fields require.
SCOPED_PARTS: Mapping[str, Scope] = {
    "server": Scope.SERVER_READ,
    "service": Scope.SERVICE_READ,
    "project": Scope.SERVICE_READ,
    "environment": Scope.SERVICE_READ,
}

# Where each document holds such keys: paths (from the document's top) of the objects
# whose SCOPED_PARTS keys are checked. The frozen input holds none: it is the
# deployment's own replayable snapshot (its compose project name is its own, too).
SCOPED_PLACES: Mapping[Document, Sequence[tuple[str, ...]]] = {
    Document.CONFIG_SNAPSHOT: [()],
    Document.DECLARED_CONFIG: [("target",)],
    Document.FROZEN_INPUT: [],
    Document.ARTIFACT: [(), ("configSnapshot",), ("declaredConfig", "target")],
}


def redaction(scope: Scope) -> dict[str, str]:
    return {REDACTED: f"requires {scope.value}"}


def _hide_in(section: Any, principal: Principal) -> Any:
    if not isinstance(section, dict):
        return section
    return {
        key: redaction(SCOPED_PARTS[key])
        if key in SCOPED_PARTS and value is not None and not principal.has(SCOPED_PARTS[key])
        else value
        for key, value in section.items()
    }


def _at(document: Any, path: tuple[str, ...], principal: Principal) -> Any:
    if not path:
        return _hide_in(document, principal)
    if not isinstance(document, dict) or path[0] not in document:
        return document
    return {**document, path[0]: _at(document[path[0]], path[1:], principal)}


def visible_document(principal: Principal, kind: Document, document: Any) -> Any:
    """`document` as `principal` may see it: a copy with the parts of types it lacks the scope
    for replaced by a redaction marker (the stored document is never changed)."""
    # Deepest places first, so a redacted parent never hides the path to a child.
    for path in sorted(SCOPED_PLACES[kind], key=len, reverse=True):
        document = _at(document, path, principal)
    return document
