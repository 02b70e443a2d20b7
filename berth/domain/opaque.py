"""Opaque tokens of our own making (global ids, cursors): base64url text, decoded strictly.

One decoder for every kind, so that a value a client made up is refused the same way
everywhere: anything but the base64url alphabet (padding optional), more than
`MAX_OPAQUE_CHARS`, or bytes that are not UTF-8 decode to None — never to an exception.
(The standard library's lenient mode silently drops characters outside the alphabet,
so `é` + a valid cursor would decode as that cursor.)
"""

from __future__ import annotations

import base64
import binascii
import re

# Far more than any id or cursor we issue; a longer value cannot be one of ours.
MAX_OPAQUE_CHARS = 512
_ALPHABET = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def encode_opaque(text: str, *, padded: bool = False) -> str:
    encoded = base64.urlsafe_b64encode(text.encode()).decode()
    return encoded if padded else encoded.rstrip("=")


def decode_opaque(token: object) -> str | None:
    """The text inside `token`, or None when it is not base64url of UTF-8 text."""
    if not isinstance(token, str) or len(token) > MAX_OPAQUE_CHARS or not _ALPHABET.fullmatch(token):
        return None
    body = token.rstrip("=")
    if len(body) % 4 == 1:
        return None  # no byte string encodes to this length
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
