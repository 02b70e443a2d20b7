"""A deployment's (or service's) JSON document as the caller may see it (domain.documents)."""

from __future__ import annotations

from typing import Any

import strawberry

from berth.domain.documents import Document, visible_document
from berth.resolvers.common import principal_of


def document_for(info: strawberry.Info, kind: Document, document: Any) -> Any:
    return visible_document(principal_of(info), kind, document)


__all__ = ["Document", "document_for"]
