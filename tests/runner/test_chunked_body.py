"""The chunked body decoder the log follower reads the daemon's connection with."""

from __future__ import annotations

import pytest

from berth.runner.chunked_body import ChunkedBody, ChunkedBodyError


def chunked(*chunks: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"


def reader(*pieces: bytes) -> ChunkedBody:
    """A body whose connection hands over `pieces`, one per read, then closes."""
    queue = [piece for piece in pieces if piece]  # an empty read means "closed"
    return ChunkedBody(lambda: queue.pop(0) if queue else b"")


def read_all(body: ChunkedBody) -> list[bytes]:
    reads = []
    while data := body.read():
        reads.append(data)
    return reads


def test_everything_that_arrived_in_one_read_comes_out_as_one() -> None:
    body = reader(chunked(b"one\n", b"two\n", b"three\n"))
    assert read_all(body) == [b"one\ntwo\nthree\n"]


def test_framing_cut_anywhere_between_reads_decodes_the_same() -> None:
    wire = chunked(b"first line\n", b"x" * 300, b"\r\nnot a boundary\r\n")
    expected = b"first line\n" + b"x" * 300 + b"\r\nnot a boundary\r\n"
    for cut in range(1, len(wire)):
        for second_cut in (cut, min(len(wire), cut + 1), min(len(wire), cut + 7)):
            body = reader(wire[:cut], wire[cut:second_cut], wire[second_cut:])
            assert b"".join(read_all(body)) == expected, (cut, second_cut)


def test_a_read_never_returns_empty_before_the_end() -> None:
    # The first read brings only a size line: the decoder reads on rather than say "ended".
    body = reader(b"5\r\n", b"hello\r\n", b"0\r\n\r\n")
    assert body.read() == b"hello"
    assert body.read() == b""


def test_chunk_extensions_and_upper_case_hex_are_understood() -> None:
    body = reader(b"A;name=value\r\n0123456789\r\n0\r\n\r\n")
    assert read_all(body) == [b"0123456789"]


def test_the_terminating_chunk_ends_the_body_without_reading_further() -> None:
    reads = [chunked(b"last"), b"never asked for"]
    body = ChunkedBody(lambda: reads.pop(0))
    assert read_all(body) == [b"last"]
    assert reads == [b"never asked for"]


def test_a_connection_closed_mid_chunk_ends_with_what_came() -> None:
    body = reader(b"a\r\nhalf")
    assert read_all(body) == [b"half"]


@pytest.mark.parametrize("wire", [b"zz\r\nabc\r\n", b"3\r\nabcXY", b"1" * 5000])
def test_what_is_not_chunked_encoding_is_refused(wire: bytes) -> None:
    with pytest.raises(ChunkedBodyError):
        read_all(reader(wire))
