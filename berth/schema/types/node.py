"""The Relay `Node` interface."""

from __future__ import annotations

import strawberry


@strawberry.interface(name="Node")
class Node:
    id: strawberry.ID
