"""All configuration, read from the environment in one place (CONTRACT §1).

Every interval and deadline is a setting so tests can run them short.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path


def _env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


class SettingsError(ValueError):
    """A setting with a value Berth cannot use; the message names the variable."""


def _env_count(name: str, default: int, *, minimum: int = 0, maximum: int = 1_000_000) -> int:
    """A whole number from `minimum` to `maximum` (retention: 0 keeps forever), else SettingsError."""
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number (0 keeps forever), not {raw[:20]!r}") from None
    if not minimum <= value <= maximum:
        raise SettingsError(f"{name} must be between {minimum} and {maximum}, not {value}")
    return value


def _env_positive(name: str, default: float, *, maximum: float) -> float:
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw[:20]!r}") from None
    if not 0 < value <= maximum:
        raise SettingsError(f"{name} must be more than 0 and at most {maximum:g}, not {value:g}")
    return value


def _env_list(name: str) -> tuple[str, ...]:
    raw = os.environ.get(name, "")
    return tuple(item.strip() for item in raw.replace(",", " ").split() if item.strip())


# Operation limits (docs/limits.md). The cost limit: every query the CLI, the benchmark and
# the test suite sends costs under a quarter of it; the attack run's nested, aliased
# artifact query over twenty times more (berth.schema.cost says how cost is counted).
DEFAULT_MAX_QUERY_COST = 100_000
# A page of 100 deployments with their artifacts is around a megabyte.
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
DEFAULT_QUERY_TIMEOUT_SECONDS = 10.0
# CONTRACT §5: a WebSocket without `connection_init` within this is closed (4408).
DEFAULT_WS_INIT_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class StepDeadlines:
    """Per-step deadlines in seconds (CONTRACT §3); HEALTH uses the service's own timeout."""

    clone: float = 600.0
    build: float = 1800.0
    pull: float = 900.0
    volume: float = 120.0
    start: float = 120.0
    deployment: float = 3600.0


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    secret_key: str | None
    docker_host: str
    production: bool = False
    allow_file_repos: bool = False
    allowed_origins: tuple[str, ...] = ()
    # BERTH_PUBLIC_URL: the address people and other systems reach this server at, e.g.
    # `https://berth.example.com` behind a proxy. The one place for "our own URL": the
    # WebSocket origin check accepts its origin (GraphiQL served here opens its socket from
    # it), and links Berth hands out (webhook URLs) are built on it. None: `berth serve`
    # sets `http://HOST:PORT` of the address it listens on (see `with_public_url`).
    public_url: str | None = None
    # Operation limits (docs/limits.md): the estimated cost over which an operation is
    # refused before it runs, the largest response (or WebSocket event) sent, the time an
    # operation may run, and how long a WebSocket may stay without `connection_init`.
    max_query_cost: int = DEFAULT_MAX_QUERY_COST
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    query_timeout_seconds: float = DEFAULT_QUERY_TIMEOUT_SECONDS
    ws_init_timeout_seconds: float = DEFAULT_WS_INIT_TIMEOUT_SECONDS
    # OAuth / JWT access tokens (RFC 9068)
    oauth_issuer: str | None = None
    oauth_audience: str | None = None
    oauth_jwks_url: str | None = None
    oauth_role_claim: str = "berth_role"
    oauth_projects_claim: str = "berth_projects"
    oauth_leeway_seconds: float = 30.0
    jwks_refresh_min_seconds: float = 60.0
    # The dashboard's "Sign in with <issuer>" (authorization code + PKCE): its OAuth client
    # id at the issuer, and the scope it asks for (none: the issuer's default).
    oauth_client_id: str | None = None
    oauth_scope: str | None = None
    # Runner and observer
    lease_seconds: float = 30.0
    heartbeat_seconds: float = 10.0
    runner_poll_seconds: float = 1.0
    observer_interval_seconds: float = 30.0
    shutdown_grace_seconds: float = 20.0
    stable_seconds: float = 5.0
    # Previews no pull-request event touched for this long are closed and cleaned.
    preview_ttl_hours: float = 72.0
    health_default_timeout_seconds: int = 60
    health_default_interval_seconds: int = 2
    # BERTH_PROXY_IMAGE: the Caddy 2 image of each server's proxy (berth.runner.proxy).
    proxy_image: str = "caddy:2-alpine"
    step_deadlines: StepDeadlines = field(default_factory=StepDeadlines)
    # Commit statuses (docs/webhooks.md): the sender's poll, its HTTP timeout, and the retry
    # backoff (base doubled per failed attempt, capped) up to the attempts after which a
    # status is abandoned.
    status_poll_seconds: float = 2.0
    status_timeout_seconds: float = 10.0
    status_retry_base_seconds: float = 5.0
    status_retry_max_seconds: float = 600.0
    status_max_attempts: int = 10
    # BERTH_METRICS_TOKEN: the bearer credential `/metrics` wants; None: it is open.
    metrics_token: str | None = field(default=None, repr=False)
    # Notifications (docs/notifications.md): the same knobs for their sender. 20 s doubled
    # per failure makes six attempts over about ten minutes (20+40+80+160+320 s).
    notify_poll_seconds: float = 2.0
    notify_timeout_seconds: float = 5.0
    notify_retry_base_seconds: float = 20.0
    notify_retry_max_seconds: float = 600.0
    notify_max_attempts: int = 6
    # BERTH_AUDIT_RETENTION_DAYS: audit entries older than this are pruned (docs/audit.md);
    # None (the default): kept forever.
    audit_retention_days: float | None = None
    # Retention (docs/retention.md); 0 keeps forever. Log lines of deployments concluded
    # more than `retention_log_days` ago go (the deployment record stays, `logsPrunedAt` set);
    # a service keeps its newest `retention_observations` observations; settled webhook,
    # notification and commit-status deliveries go after `retention_deliveries_days`; each
    # server keeps the newest `retention_images` images of each service, and every image a
    # rollback could still need. A pass every `retention_interval_seconds`, in batches of
    # `retention_batch` rows, one short transaction each.
    retention_log_days: int = 30
    retention_observations: int = 100
    retention_deliveries_days: int = 30
    retention_images: int = 5
    retention_interval_seconds: float = 3600.0
    retention_batch: int = 1000

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = Path(os.environ.get("BERTH_DATA_DIR") or "./.berth").resolve()
        database_url = os.environ.get("BERTH_DATABASE_URL") or f"sqlite://{data_dir / 'berth.sqlite3'}"
        if database_url.startswith("postgresql://"):
            database_url = "postgres://" + database_url.removeprefix("postgresql://")
        deadlines = StepDeadlines(
            clone=_env_float("BERTH_CLONE_TIMEOUT_SECONDS", 600.0),
            build=_env_float("BERTH_BUILD_TIMEOUT_SECONDS", 1800.0),
            pull=_env_float("BERTH_PULL_TIMEOUT_SECONDS", 900.0),
            volume=_env_float("BERTH_VOLUME_TIMEOUT_SECONDS", 120.0),
            start=_env_float("BERTH_START_TIMEOUT_SECONDS", 120.0),
            deployment=_env_float("BERTH_DEPLOYMENT_TIMEOUT_SECONDS", 3600.0),
        )
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            secret_key=os.environ.get("BERTH_SECRET_KEY") or None,
            docker_host=os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock",
            production=_env_bool("BERTH_PRODUCTION"),
            allow_file_repos=_env_bool("BERTH_ALLOW_FILE_REPOS"),
            allowed_origins=_env_list("BERTH_ALLOWED_ORIGINS"),
            public_url=(os.environ.get("BERTH_PUBLIC_URL") or "").rstrip("/") or None,
            max_query_cost=_env_int("BERTH_MAX_QUERY_COST", DEFAULT_MAX_QUERY_COST),
            max_response_bytes=_env_int("BERTH_MAX_RESPONSE_BYTES", DEFAULT_MAX_RESPONSE_BYTES),
            query_timeout_seconds=_env_float("BERTH_QUERY_TIMEOUT_SECONDS", DEFAULT_QUERY_TIMEOUT_SECONDS),
            ws_init_timeout_seconds=_env_float("BERTH_WS_INIT_TIMEOUT_SECONDS", DEFAULT_WS_INIT_TIMEOUT_SECONDS),
            oauth_issuer=os.environ.get("BERTH_OAUTH_ISSUER") or None,
            oauth_audience=os.environ.get("BERTH_OAUTH_AUDIENCE") or None,
            oauth_jwks_url=os.environ.get("BERTH_OAUTH_JWKS_URL") or None,
            oauth_role_claim=os.environ.get("BERTH_OAUTH_ROLE_CLAIM") or "berth_role",
            oauth_projects_claim=os.environ.get("BERTH_OAUTH_PROJECTS_CLAIM") or "berth_projects",
            oauth_leeway_seconds=_env_float("BERTH_OAUTH_LEEWAY_SECONDS", 30.0),
            jwks_refresh_min_seconds=_env_float("BERTH_JWKS_REFRESH_MIN_SECONDS", 60.0),
            oauth_client_id=os.environ.get("BERTH_OAUTH_CLIENT_ID") or None,
            oauth_scope=os.environ.get("BERTH_OAUTH_SCOPE") or None,
            lease_seconds=_env_float("BERTH_LEASE_SECONDS", 30.0),
            heartbeat_seconds=_env_float("BERTH_HEARTBEAT_SECONDS", 10.0),
            runner_poll_seconds=_env_float("BERTH_RUNNER_POLL_SECONDS", 1.0),
            observer_interval_seconds=_env_float("BERTH_OBSERVER_INTERVAL_SECONDS", 30.0),
            shutdown_grace_seconds=_env_float("BERTH_SHUTDOWN_GRACE_SECONDS", 20.0),
            stable_seconds=_env_float("BERTH_STABLE_SECONDS", 5.0),
            preview_ttl_hours=_env_float("BERTH_PREVIEW_TTL_HOURS", 72.0),
            proxy_image=os.environ.get("BERTH_PROXY_IMAGE") or "caddy:2-alpine",
            step_deadlines=deadlines,
            status_poll_seconds=_env_float("BERTH_STATUS_POLL_SECONDS", 2.0),
            status_timeout_seconds=_env_float("BERTH_STATUS_TIMEOUT_SECONDS", 10.0),
            status_retry_base_seconds=_env_float("BERTH_STATUS_RETRY_BASE_SECONDS", 5.0),
            status_retry_max_seconds=_env_float("BERTH_STATUS_RETRY_MAX_SECONDS", 600.0),
            status_max_attempts=_env_int("BERTH_STATUS_MAX_ATTEMPTS", 10),
            metrics_token=os.environ.get("BERTH_METRICS_TOKEN") or None,
            notify_poll_seconds=_env_float("BERTH_NOTIFY_POLL_SECONDS", 2.0),
            notify_timeout_seconds=_env_float("BERTH_NOTIFY_TIMEOUT_SECONDS", 5.0),
            notify_retry_base_seconds=_env_float("BERTH_NOTIFY_RETRY_BASE_SECONDS", 20.0),
            notify_retry_max_seconds=_env_float("BERTH_NOTIFY_RETRY_MAX_SECONDS", 600.0),
            notify_max_attempts=_env_int("BERTH_NOTIFY_MAX_ATTEMPTS", 6),
            audit_retention_days=_env_float("BERTH_AUDIT_RETENTION_DAYS", 0.0) or None,
            retention_log_days=_env_count("BERTH_RETENTION_LOG_DAYS", 30, maximum=36_500),
            retention_observations=_env_count("BERTH_RETENTION_OBSERVATIONS", 100),
            retention_deliveries_days=_env_count("BERTH_RETENTION_DELIVERIES_DAYS", 30, maximum=36_500),
            retention_images=_env_count("BERTH_RETENTION_IMAGES", 5, maximum=1000),
            retention_interval_seconds=_env_positive("BERTH_RETENTION_INTERVAL_SECONDS", 3600.0,
                                                     maximum=7 * 86_400.0),
            retention_batch=_env_count("BERTH_RETENTION_BATCH", 1000, minimum=1, maximum=100_000),
        )

    def with_public_url(self, host: str, port: int) -> Settings:
        """These settings with `public_url` derived from the listening address when
        BERTH_PUBLIC_URL is not set: `http://HOST:PORT`, a wildcard host (0.0.0.0, ::)
        read as 127.0.0.1, the one address it surely answers on."""
        if self.public_url is not None:
            return self
        if host in ("", "0.0.0.0", "::"):
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return replace(self, public_url=f"http://{host}:{port}")

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self.data_dir


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()
