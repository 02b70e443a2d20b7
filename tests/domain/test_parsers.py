"""The parsers of client-made values, as tables: each is total (a value or None/BadMoment,
never another exception) and gives back exactly what we issue."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from berth.domain.cursors import (
    decode_deployment_cursor,
    decode_log_cursor,
    encode_deployment_cursor,
    encode_log_cursor,
)
from berth.domain.moments import BadMoment, parse_moment
from berth.domain.opaque import decode_opaque
from berth.graphql_http import GRAPHQL_RESPONSE, JSON, negotiate
from berth.schema.ids import from_global_id, to_global_id

MOMENT = datetime(2024, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


NOT_OPAQUE = ["", "A", "====", "%%%", "é" + b64("x"), "\ud800", "x" * 513, 5, None]


@pytest.mark.parametrize("value", NOT_OPAQUE)
def test_opaque_refuses_what_is_not_base64url_text(value: object) -> None:
    assert decode_opaque(value) in (None, "")


def test_round_trips() -> None:
    assert decode_deployment_cursor(encode_deployment_cursor(MOMENT, 7)) == (MOMENT, 7)
    assert decode_log_cursor(encode_log_cursor(12)) == 12
    assert from_global_id(to_global_id("Deployment", 10**17)) == ("Deployment", 10**17)


@pytest.mark.parametrize("payload", [
    '{"t":"2024-01-01T00:00:00+00:00","i":1e999}', '{"t":"2024-01-01T00:00:00+00:00","i":NaN}',
    '{"t":"2024-01-01T00:00:00+00:00","i":true}', '{"t":"2024-01-01T00:00:00+00:00","i":1.0}',
    '{"t":"2024-01-01T00:00:00+00:00","i":9223372036854775808}', '{"t":"9999-12-31T23:59:59-05:00","i":1}',
    '{"t":"0001-01-01T00:00:00+05:00","i":1}', '{"t":null,"i":1}', '{"s":1}', "[" * 400, "1" * 5000,
    '{"t":"2024-01-01T00:00:00+00:00","i":1,"x":2}',
])
def test_deployment_cursor_refuses(payload: str) -> None:
    assert decode_deployment_cursor(b64(payload)) is None


@pytest.mark.parametrize("payload", [{"s": -1}, {"s": 2**31}, {"s": 1.5}, {"s": False}, {"t": "x", "i": 1}])
def test_log_cursor_refuses(payload: object) -> None:
    assert decode_log_cursor(b64(json.dumps(payload))) is None


@pytest.mark.parametrize("text", ["Deployment:²", "Deployment:٣", "Deployment:" + "9" * 19, "Deployment:-1",
                                  "Deployment:", ":1", "Deploy ment:1", "Deployment:1:2"])
def test_global_id_refuses(text: str) -> None:
    assert from_global_id(b64(text)) is None


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "", "2024-13-01",
                                  "٢٠٢٤-01-01", "x" * 65, 5, None])
def test_moment_refuses(text: object) -> None:
    with pytest.raises(BadMoment):
        parse_moment(text)


def test_moment_is_utc() -> None:
    assert parse_moment("2024-01-01T05:00:00+05:00") == datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_moment("2024-01-01T00:00:00") == datetime(2024, 1, 1, tzinfo=UTC)  # naive: UTC


@pytest.mark.parametrize(("accept", "chosen"), [
    (None, JSON), ("", JSON), ("*/*", JSON), ("application/*", JSON), ("application/json", JSON),
    (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE), (f"{GRAPHQL_RESPONSE}, {JSON};q=0.9", GRAPHQL_RESPONSE),
    (f"{GRAPHQL_RESPONSE};q=0.5, {JSON}", JSON), (f"{JSON}, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
    (f"{GRAPHQL_RESPONSE}, */*;q=0.1", GRAPHQL_RESPONSE), ("text/plain", None), ("application/json;q=0", None),
    ("application/json;q=nan", None), ("text/html, */*;q=0.8", JSON), ("image/*", None), (",,;", None),
])
def test_negotiate(accept: str | None, chosen: str | None) -> None:
    assert negotiate(accept) == chosen
