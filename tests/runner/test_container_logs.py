"""Timestamped container log reading: parsing, line splitting and the re-read cursor."""

from __future__ import annotations

import calendar

from berth.runner.container_logs import LogCursor, read_lines, since_param, split_stamp
from berth.runner.docker_api import STDERR, STDOUT, docker_time_ns

NS = 1_000_000_000
BASE = calendar.timegm((2026, 11, 27, 3, 22, 1)) * NS


def test_split_stamp_reads_the_daemons_rfc3339_nanoseconds() -> None:
    assert split_stamp(b"2026-11-27T03:22:01.123456789Z hello world") == (BASE + 123456789, b"hello world")
    assert split_stamp(b"2026-11-27T03:22:01.5Z x") == (BASE + 500_000_000, b"x")
    assert split_stamp(b"2026-11-27T03:22:01Z ") == (BASE, b"")
    # The local log driver may write a zone offset: 04:22:01+01:00 is 03:22:01Z.
    assert split_stamp(b"2026-11-27T04:22:01.000000001+01:00 x") == (BASE + 1, b"x")
    assert split_stamp(b"no stamp here") == (None, b"no stamp here")


def test_since_param_keeps_every_nanosecond() -> None:
    assert since_param(BASE + 5) == f"{BASE // NS}.000000005"


def collect(messages: list[tuple[str, bytes]], tty: bool = False) -> list[tuple[str, str, int | None]]:
    """Each message read on its own (the hardest case: lines cut between reads)."""
    lines: list[tuple[str, str, int | None]] = []
    read_lines(iter([[message] for message in messages]), tty=tty, emit=lines.extend, closed=lambda: False)
    return lines


def test_lines_go_out_a_batch_per_read() -> None:
    batches: list[list[tuple[str, str, int | None]]] = []
    reads = [[(STDOUT, stamp(1) + b"a\n"), (STDOUT, stamp(2) + b"b\n")], [(STDERR, stamp(3) + b"c\n")]]
    read_lines(iter(reads), tty=False, emit=batches.append, closed=lambda: False)
    assert batches == [[(STDOUT, "a", BASE + 1), (STDOUT, "b", BASE + 2)], [(STDERR, "c", BASE + 3)]]


def stamp(ns: int) -> bytes:
    return b"2026-11-27T03:22:01.%09dZ " % ns


def test_a_line_split_over_messages_is_joined_and_carries_the_last_stamp() -> None:
    lines = collect([
        (STDOUT, stamp(1) + b"first half, "),
        (STDERR, stamp(2) + b"an error\n"),
        (STDOUT, stamp(3) + b"second half\n"),
        (STDOUT, stamp(4) + b"no newline at the end"),
    ])
    assert lines == [
        (STDERR, "an error", BASE + 2),
        (STDOUT, "first half, second half", BASE + 3),
        (STDOUT, "no newline at the end", BASE + 4),
    ]


def test_a_tty_stream_has_a_stamp_at_each_line_start() -> None:
    lines = collect([(STDOUT, stamp(1) + b"one\n" + stamp(2) + b"tw"), (STDOUT, b"o\n")], tty=True)
    assert lines == [(STDOUT, "one", BASE + 1), (STDOUT, "two", BASE + 2)]


def test_a_re_read_skips_exactly_what_was_delivered() -> None:
    seen: list[str] = []
    cursor = LogCursor(lambda stream, text: seen.append(text))
    assert cursor.resume() is None  # nothing delivered yet: read from the start
    for text, at in [("a", 1), ("b", 2), ("c", 2)]:
        cursor.deliver(STDOUT, text, BASE + at)
    # Two lines were seen at the last moment; a third at that same moment was not.
    assert cursor.resume() == since_param(BASE + 2)
    for text, at in [("b", 2), ("c", 2), ("d", 2), ("e", 3), ("unstamped", None)]:
        cursor.deliver_unseen(STDOUT, text, None if at is None else BASE + at)
    assert seen == ["a", "b", "c", "d", "e"]
    # A second re-read starts after "e".
    assert cursor.resume() == since_param(BASE + 3)
    cursor.deliver_unseen(STDOUT, "e", BASE + 3)
    cursor.deliver_unseen(STDOUT, "f", BASE + 4)
    assert seen[-1] == "f" and seen.count("e") == 1


def test_docker_times_compare_as_times_where_their_texts_do_not() -> None:
    # The daemon drops trailing zeros of the fraction: as text, .4Z sorts after .45Z.
    earlier, later = "2026-11-27T03:20:30.4Z", "2026-11-27T03:20:30.45Z"
    assert earlier > later
    assert docker_time_ns(earlier) == BASE - 91 * NS + 400_000_000
    assert (docker_time_ns(earlier) or 0) < (docker_time_ns(later) or 0)
    assert docker_time_ns("") is None and docker_time_ns("yesterday") is None
