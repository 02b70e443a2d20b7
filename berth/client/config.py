"""Where the server is and which credential to send.

`BERTH_URL` and `BERTH_TOKEN` win over the config file that `berth login` writes:
`$BERTH_CONFIG`, else `$XDG_CONFIG_HOME/berth/config.json`, else
`~/.config/berth/config.json`. The file holds a secret, so it is written with
mode 0600 (its directory 0700), atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from berth.client.errors import UsageProblem

DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class ClientConfig:
    url: str  # base URL, no trailing slash, no /graphql
    token: str | None

    @property
    def graphql_url(self) -> str:
        return self.url + "/graphql"

    @property
    def ws_url(self) -> str:
        scheme, rest = self.url.split("://", 1)
        return ("wss" if scheme == "https" else "ws") + "://" + rest + "/graphql"


def config_path() -> Path:
    explicit = os.environ.get("BERTH_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "berth" / "config.json"


def normalize_url(url: str, source: str) -> str:
    """`http(s)://host[:port][/prefix]`, accepting a trailing `/graphql` or slash."""
    value = url.strip().rstrip("/")
    value = value.removesuffix("/graphql")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageProblem(f"{source}: {url!r} is not an http(s):// URL of a Berth server")
    return value


def read_file(path: Path | None = None) -> dict[str, Any]:
    path = path or config_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise UsageProblem(f"cannot read the config file {path}: {error.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageProblem(
            f"the config file {path} is not valid JSON ({error.msg}, line {error.lineno})"
        ) from None
    if not isinstance(data, dict):
        raise UsageProblem(f"the config file {path} must hold a JSON object")
    return data


def load() -> ClientConfig:
    stored = read_file()
    env_url = os.environ.get("BERTH_URL")
    if env_url:
        url = normalize_url(env_url, "BERTH_URL")
    elif stored.get("url"):
        url = normalize_url(str(stored["url"]), f"url in {config_path()}")
    else:
        url = DEFAULT_URL
    token = os.environ.get("BERTH_TOKEN") or (str(stored["token"]) if stored.get("token") else None)
    return ClientConfig(url=url, token=token.strip() if token else None)


def save(url: str, token: str) -> Path:
    """Write url and token to the config file, readable by the owner only."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = {**read_file(path), "url": url, "token": token}
    # A temporary file created 0600 in the same directory, then renamed over the old one:
    # the secret is never in a file anyone else may read, not even for a moment.
    fd, temporary = tempfile.mkstemp(prefix=".config-", suffix=".json", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
