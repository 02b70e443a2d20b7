"""Fixtures for the auth tests: a loopback OAuth issuer and settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from berth.auth import reset_jwks_cache
from berth.settings import reset_settings

from .issuer import Issuer


@pytest.fixture(autouse=True)
def _secret_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A fixed key: API token hashes are computed without writing a key file
    # into the working directory.
    monkeypatch.setenv("BERTH_SECRET_KEY", "test-secret-key-for-berth-auth-tests")
    reset_settings()
    yield
    reset_settings()


@pytest.fixture(scope="session")
def issuer() -> Iterator[Issuer]:
    server = Issuer().start()
    yield server
    server.stop()


class FakeClock:
    """Stands in for time.monotonic in berth.auth.jwks, so rate limits are tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr("berth.auth.jwks.monotonic", fake)
    return fake


def _point_at(
    issuer: Issuer, monkeypatch: pytest.MonkeyPatch, *, jwks_url: bool, refresh_min_seconds: float = 60
) -> None:
    issuer.reset()
    monkeypatch.setenv("BERTH_OAUTH_ISSUER", issuer.url)
    monkeypatch.setenv("BERTH_OAUTH_AUDIENCE", issuer.audience)
    monkeypatch.setenv("BERTH_JWKS_REFRESH_MIN_SECONDS", str(refresh_min_seconds))
    if jwks_url:
        monkeypatch.setenv("BERTH_OAUTH_JWKS_URL", issuer.jwks_url)
    else:
        monkeypatch.delenv("BERTH_OAUTH_JWKS_URL", raising=False)
    for name in ("BERTH_OAUTH_ROLE_CLAIM", "BERTH_OAUTH_PROJECTS_CLAIM", "BERTH_OAUTH_LEEWAY_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    reset_settings()
    reset_jwks_cache()


@pytest.fixture
def oauth(issuer: Issuer, monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> Iterator[Issuer]:
    """Settings trust `issuer`, with its JWKS URL configured; fresh key cache and counters."""
    _point_at(issuer, monkeypatch, jwks_url=True)
    yield issuer
    reset_settings()
    reset_jwks_cache()


@pytest.fixture
def oauth_discovery(issuer: Issuer, monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> Iterator[Issuer]:
    """Like `oauth`, but without BERTH_OAUTH_JWKS_URL: keys are found via the issuer's metadata."""
    _point_at(issuer, monkeypatch, jwks_url=False)
    yield issuer
    reset_settings()
    reset_jwks_cache()
