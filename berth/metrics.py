"""What this process counts for Prometheus (`GET /metrics`, see `berth.http.metrics`).

Counters and histograms here are per process: an API process counts its HTTP requests,
subscriptions and webhook deliveries, a runner process the deployments and steps it ran
and the commit statuses it sent; Prometheus sums them over the processes it scrapes.
What the database knows (deployments by status, queues, leases) is read at scrape time
instead (`berth.domain.gauges`), so every process reports the same, whole truth.

This module depends on nothing of Berth's, so any layer may count into it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

# Deployments take seconds to many minutes; steps from milliseconds (a skipped check) up.
DEPLOYMENT_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
STEP_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

DEPLOYMENTS_RUN = Counter(
    "berth_deployments_run", "Deployments this process's runner ran to a conclusion, by conclusion and source.",
    ["conclusion", "source"], registry=REGISTRY,
)
DEPLOYMENT_SECONDS = Histogram(
    "berth_deployment_duration_seconds", "From claim to conclusion, for deployments this runner ran.",
    ["conclusion", "source"], buckets=DEPLOYMENT_BUCKETS, registry=REGISTRY,
)
STEP_SECONDS = Histogram(
    "berth_step_duration_seconds", "Each step this runner ran or skipped, by step and how it ended.",
    ["step", "status"], buckets=STEP_BUCKETS, registry=REGISTRY,
)
HTTP_REQUESTS = Counter(
    "berth_http_requests", "HTTP requests answered, by route, GraphQL operation type (or none) and status code.",
    ["route", "operation", "status"], registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "berth_http_request_duration_seconds", "HTTP request latency, by route and GraphQL operation type.",
    ["route", "operation"], buckets=HTTP_BUCKETS, registry=REGISTRY,
)
OPEN_SUBSCRIPTIONS = Gauge(
    "berth_open_subscriptions", "Subscriptions streaming now in this process, by what they stream.",
    ["stream"], registry=REGISTRY,
)
SUBSCRIPTION_EXECUTIONS = Counter(
    "berth_subscription_executions", "Executions of shareable subscriptions started, by whom they serve: "
    "audience (one for every member sharing it), caught_up (a member that fell behind its audience).",
    ["serves"], registry=REGISTRY,
)
WEBHOOK_DELIVERIES = Counter(
    "berth_webhook_deliveries", "Git provider deliveries received, by provider and outcome.",
    ["provider", "outcome"], registry=REGISTRY,
)
COMMIT_STATUS_REQUESTS = Counter(
    "berth_commit_status_requests", "Commit statuses this runner tried to send, by result "
    "(delivered, retry: it will try again, abandoned).", ["result"], registry=REGISTRY,
)

# Known label values are created up front, so a scrape shows zeros instead of nothing.
for _stream in ("events", "logs", "feed"):
    OPEN_SUBSCRIPTIONS.labels(_stream)
for _serves in ("audience", "caught_up"):
    SUBSCRIPTION_EXECUTIONS.labels(_serves)


class SharedStreamCount:
    """One stream whose results several subscribers receive (an audience, see
    `berth.graphql_audiences`): the gauge counts it once per subscriber, as it would count
    their streams of their own, for as long as the stream runs."""

    def __init__(self) -> None:
        self.subscribers = 0
        self._stream: str | None = None

    def join(self) -> None:
        self.subscribers += 1
        if self._stream is not None:
            OPEN_SUBSCRIPTIONS.labels(self._stream).inc()

    def leave(self) -> None:
        self.subscribers -= 1
        if self._stream is not None:
            OPEN_SUBSCRIPTIONS.labels(self._stream).dec()

    def opened(self, stream: str) -> None:
        self._stream = stream
        OPEN_SUBSCRIPTIONS.labels(stream).inc(self.subscribers)

    def closed(self) -> None:
        if self._stream is not None:
            OPEN_SUBSCRIPTIONS.labels(self._stream).dec(self.subscribers)
        self._stream = None


# Set in the task of a shared execution: its stream is counted per subscriber there.
_shared_count: ContextVar[SharedStreamCount | None] = ContextVar("berth_shared_stream", default=None)


def count_per_subscriber(count: SharedStreamCount) -> None:
    """The streams run by the current task (and the tasks it starts) count through `count`."""
    _shared_count.set(count)


@contextmanager
def streaming(stream: str) -> Iterator[None]:
    """Counts one open subscription of `stream` for as long as the block runs (one per
    subscriber of a shared stream)."""
    shared = _shared_count.get()
    if shared is not None:
        shared.opened(stream)
        try:
            yield
        finally:
            shared.closed()
        return
    gauge = OPEN_SUBSCRIPTIONS.labels(stream)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()
