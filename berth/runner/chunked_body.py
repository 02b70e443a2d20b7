"""An HTTP/1.1 chunked body decoded from the connection itself, as much as has arrived.

http.client's `read1` on a chunked response returns at most one chunk, and the daemon
sends every log message as a chunk of its own: following a busy container that is one
trip through http.client (and one GIL hand-over in the reading thread) per line. Reading
the connection's buffered file ourselves takes everything that has arrived in one system
call and strips the chunk framing in a loop over bytes.
"""

from __future__ import annotations

from collections.abc import Callable

# A chunk-size line is a few hex digits and an optional extension: anything longer
# without its CRLF is not HTTP.
MAX_SIZE_LINE = 4096


class ChunkedBodyError(ValueError):
    """The body is not valid chunked encoding."""


class ChunkedBody:
    """`read()` returns the next decoded bytes (whatever has arrived, never empty before the
    end) and b"" at the terminating chunk or when the connection closed. Trailers after the
    terminating chunk are not read: the caller closes the connection."""

    def __init__(self, read_some: Callable[[], bytes]) -> None:
        self._read_some = read_some
        self._rest = b""  # undecoded bytes: part of a size line or of a chunk's CRLF
        self._left = 0  # bytes of the current chunk still to come
        self._crlf = False  # a chunk's data ended: its CRLF is still to skip
        self._done = False

    def read(self) -> bytes:
        out: list[bytes] = []
        while not out and not self._done:
            data = self._read_some()
            if not data:
                self._done = True  # closed mid-body: what came is all there is
                break
            out = self._decode(self._rest + data if self._rest else data)
        return b"".join(out)

    def _decode(self, buf: bytes) -> list[bytes]:
        out: list[bytes] = []
        pos, end = 0, len(buf)
        while pos < end:
            if self._left:
                take = min(self._left, end - pos)
                out.append(buf[pos:pos + take])
                pos += take
                self._left -= take
                self._crlf = self._left == 0
            elif self._crlf:
                if end - pos < 2:
                    break
                if buf[pos:pos + 2] != b"\r\n":
                    raise ChunkedBodyError("chunk data not followed by CRLF")
                pos += 2
                self._crlf = False
            else:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    if end - pos > MAX_SIZE_LINE:
                        raise ChunkedBodyError("chunk-size line too long")
                    break
                size_text = buf[pos:eol].split(b";", 1)[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise ChunkedBodyError(f"bad chunk size {size_text[:20]!r}") from None
                pos = eol + 2
                if size == 0:
                    self._done = True
                    pos = end
                else:
                    self._left = size
        self._rest = buf[pos:]
        return out
