"""How a person reads a deployment's name, and the file it is saved as.

Row ids are the database's business: everything a person reads (log lines, step details,
error messages, CLI output, download names) names a deployment by its place,
`<project>/<environment>/<service> #<number>`. Pure functions (stdlib only), so the CLI
uses the same ones.
"""

from __future__ import annotations

import re
from typing import Any

UNKNOWN = "?"
# Everything but letters, digits, dot and dash becomes a dash in a file name: names are
# DNS-label-like already, this only keeps a name that is not from becoming a path.
_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


def deployment_name(project: str | None, environment: str | None, service: str | None, number: int) -> str:
    """`shop/production/web #7`; a part the reader may not see is `?`."""
    parts = "/".join(part or UNKNOWN for part in (project, environment, service))
    return f"{parts} #{number}"


def _safe(part: str) -> str:
    return _UNSAFE.sub("-", part).strip(".-") or "-"


def deployment_file_name(
    project: str | None, environment: str | None, service: str | None, number: int, suffix: str = ".json"
) -> str:
    """`shop_production_web_7.json`: `_` joins the parts (names never contain it); a part the
    reader may not see is left out, the number always stays."""
    parts = [_safe(part) for part in (project, environment, service) if part]
    return "_".join([*(parts or ["deployment"]), str(number)]) + suffix


def artifact_file_name(document: dict[str, Any]) -> str:
    """The download name of an artifact document, from the names it shows its reader."""

    def name(key: str) -> str | None:
        value = document.get(key)
        found = value.get("name") if isinstance(value, dict) else None
        return found if isinstance(found, str) else None

    return deployment_file_name(
        name("project"), name("environment"), name("service"), int(document["number"])
    )
