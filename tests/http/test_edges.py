"""The HTTP-edge helpers by themselves: origins, credentials in URLs, the access-log filter
and the WebSocket message size wrapper (the live tests are in tests/subscriptions)."""

from __future__ import annotations

import logging

import pytest
from starlette.types import Message

from berth.http.access_log import StripQueryString, uvicorn_log_config
from berth.http.origins import allowed_origins, normalize_origin, origin_allowed
from berth.http.url_credentials import credential_in_query
from berth.http.websocket_messages import MESSAGE_TOO_BIG, limit_message_size
from berth.settings import Settings


@pytest.mark.parametrize(("url", "origin"), [
    ("https://Berth.Example.test:443/graphql", "https://berth.example.test"),
    ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
    ("http://[::1]:80/", "http://[::1]"),
    ("null", None),
])
def test_normalize_origin(url: str, origin: str | None) -> None:
    assert normalize_origin(url) == origin


def test_only_configured_origins_and_the_public_url_are_allowed() -> None:
    allowed = allowed_origins(["https://dash.example.test"], "https://berth.example.test/")
    assert allowed == ("https://dash.example.test", "https://berth.example.test")
    assert origin_allowed(None, allowed)  # not a browser
    assert origin_allowed("https://berth.example.test", allowed)
    assert not origin_allowed("http://berth.example.test", allowed)  # another scheme, another origin
    assert not origin_allowed("http://evil.test", allowed)


@pytest.mark.parametrize(("host", "url"), [
    ("127.0.0.1", "http://127.0.0.1:8000"), ("0.0.0.0", "http://127.0.0.1:8000"),
    ("::1", "http://[::1]:8000"), ("berth.local", "http://berth.local:8000"),
])
def test_the_public_url_defaults_to_the_listening_address(host: str, url: str) -> None:
    settings = Settings(data_dir=None, database_url="sqlite://:memory:", secret_key=None,  # type: ignore[arg-type]
                        docker_host="unix:///nowhere")
    assert settings.with_public_url(host, 8000).public_url == url
    configured = Settings(data_dir=None, database_url="", secret_key=None, docker_host="",  # type: ignore[arg-type]
                          public_url="https://berth.example.test")
    assert configured.with_public_url(host, 8000).public_url == "https://berth.example.test"


@pytest.mark.parametrize(("query", "refused"), [
    (b"", False), (b"query=%7B__typename%7D&variables=%7B%7D", False),
    (b"token=abc", True), (b"Access_Token=abc", True), (b"x=berth_pat_" + b"a" * 43, True),
    (b"auth=Bearer%20abc", True), (b"q=Bearer%20abc", True),
])
def test_credentials_in_the_query_string(query: bytes, refused: bool) -> None:
    assert credential_in_query(query) is refused


def test_the_log_filter_cuts_query_strings_off_every_path_argument() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:1", "GET", "/graphql?token=secret", "1.1", 200), None)
    assert StripQueryString().filter(record)
    assert "secret" not in record.getMessage() and "/graphql HTTP/1.1" in record.getMessage()
    config = uvicorn_log_config()
    assert all("strip_query_string" in handler["filters"] for handler in config["handlers"].values())


async def test_an_oversized_websocket_message_closes_with_1009() -> None:
    incoming: list[Message] = [
        {"type": "websocket.receive", "text": "x" * 10},
        {"type": "websocket.receive", "text": "é" * 6},  # 12 bytes in UTF-8
        {"type": "websocket.receive", "bytes": b"x" * 11},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    limited = limit_message_size(receive, send, limit=10)
    assert (await limited())["text"] == "x" * 10
    assert (await limited())["type"] == "websocket.disconnect"
    assert sent[-1]["type"] == "websocket.close" and sent[-1]["code"] == MESSAGE_TOO_BIG
    assert (await limited())["type"] == "websocket.disconnect"
