"""Secrets at rest and keyed hashes, all derived from one key (CONTRACT §1).

`BERTH_SECRET_KEY` when set (required for scale-out so every host agrees);
otherwise a random key generated once into the data dir with mode 0600.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from berth.settings import Settings, get_settings

KEY_FILE_NAME = "secret.key"


class DecryptionError(Exception):
    """Stored ciphertext could not be decrypted with the configured key."""


def load_master_key(settings: Settings) -> bytes:
    if settings.secret_key:
        return settings.secret_key.encode()
    key_path = settings.ensure_data_dir() / KEY_FILE_NAME
    try:
        return key_path.read_bytes().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(48).encode()
    # O_EXCL: when two processes start at once, exactly one writes the key.
    try:
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"berth:" + purpose).derive(master)


class Keyring:
    """Purpose-separated keys: one for encryption at rest, one for token hashes."""

    def __init__(self, master: bytes) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(master, b"encryption")))
        self._hash_key = _derive(master, b"token-hash")

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise DecryptionError("stored secret cannot be decrypted with this BERTH_SECRET_KEY") from exc

    def keyed_hash(self, value: str) -> str:
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def hashes_equal(a: str, b: str) -> bool:
        return hmac.compare_digest(a.encode(), b.encode())


@lru_cache(maxsize=4)
def _keyring_for(master: bytes) -> Keyring:
    return Keyring(master)


def get_keyring(settings: Settings | None = None) -> Keyring:
    return _keyring_for(load_master_key(settings or get_settings()))
