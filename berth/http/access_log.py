"""No query string in uvicorn's logs: a URL may carry what must not be written down (a
token a client put there despite berth.http.url_credentials, a filter naming a customer).

uvicorn logs the path with its query string in every access line (`uvicorn.access`) and in
its WebSocket handshake lines (`uvicorn.error`). The filter sits on uvicorn's handlers, so
every record they write is cleaned, whichever logger made it.
"""

from __future__ import annotations

import copy
import logging
from typing import Any


def strip_query(value: object) -> object:
    """A path with its query string cut off; anything else unchanged."""
    if isinstance(value, str) and value.startswith("/") and "?" in value:
        return value.split("?", 1)[0]
    return value


class StripQueryString(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(strip_query(arg) for arg in record.args)
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration with `StripQueryString` on each of its handlers."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["strip_query_string"] = {"()": f"{__name__}.StripQueryString"}
    for handler in config.get("handlers", {}).values():
        handler["filters"] = [*handler.get("filters", []), "strip_query_string"]
    return config
