"""Secret values at rest: env vars marked secret, TLS and SSH keys, frozen replay secrets.

Everything goes through the data keyring (`berth.crypto`); plaintext is decrypted only
where it is about to be used (the runner), never to build a view.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from berth.crypto import get_keyring
from berth.domain.specs import EnvVarSpec

REDACTED = "***"


def encrypt(plaintext: str) -> str:
    return get_keyring().encrypt(plaintext)


def decrypt(ciphertext: str) -> str:
    return get_keyring().decrypt(ciphertext)


def encrypt_optional(plaintext: str | None) -> str | None:
    return encrypt(plaintext) if plaintext else None


def encrypt_json(value: Any) -> str:
    return encrypt(json.dumps(value, sort_keys=True, separators=(",", ":")))


def decrypt_json(ciphertext: str) -> Any:
    return json.loads(decrypt(ciphertext))


def stored_env(env: Sequence[EnvVarSpec]) -> list[dict[str, Any]]:
    """The `Service.env` form: plain values as given, secret ones only as ciphertext."""
    stored: list[dict[str, Any]] = []
    for variable in env:
        if variable.secret:
            stored.append({"key": variable.key, "secret": True, "value_enc": encrypt(variable.value)})
        else:
            stored.append({"key": variable.key, "secret": False, "value": variable.value})
    return stored


def secret_env_values(env: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Decrypted secret values by key (for the frozen replay secrets only)."""
    return {item["key"]: decrypt(item["value_enc"]) for item in env if item.get("secret")}


def redact_env(env: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Env for views: every key and whether it is secret; secret values shown as `***`."""
    return [
        {
            "key": item["key"],
            "secret": bool(item.get("secret")),
            "value": REDACTED if item.get("secret") else item.get("value"),
        }
        for item in env
    ]


def redact(value: Any) -> Any:
    """Defensive pass over a JSON view: drop ciphertext fields, mask values marked secret.

    Views are built without secrets in the first place; this makes sure a future field
    cannot leak one into an artifact by accident.
    """
    if isinstance(value, list):
        return [redact(item) for item in value]
    if not isinstance(value, dict):
        return value
    cleaned: dict[str, Any] = {}
    for key, item in value.items():
        if key.endswith(("_enc", "Enc")):
            continue
        cleaned[key] = redact(item)
    if cleaned.get("secret") is True and cleaned.get("value") not in (None, REDACTED):
        cleaned["value"] = REDACTED
    return cleaned
