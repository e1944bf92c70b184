"""Prometheus metrics of one app: requests, latency, WebSocket connections and published events.

Each app has its own registry (the default, process-wide one would mix the apps a test suite creates), and
labels are bounded: a route is named by its template (`/api/v1/codemarks/{codemark_id}`), never by the path
a client chose, and unknown methods are counted together.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from kibitz.server.events.hub import StreamHub

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# From a cached read (≈1 ms) to a slow password hash or a contended SQLite write (seconds).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def method_label(method: str) -> str:
    """Return the method as a label: itself if it is a standard one, else `OTHER`."""
    return method if method in METHODS else "OTHER"


class Metrics:
    """The counters, histogram and gauge of one app, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "kibitz_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "kibitz_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.websockets = Gauge(
            "kibitz_websocket_connections",
            "Open event-stream WebSockets served by this process.",
            registry=self.registry,
        )
        self.events = Counter(
            "kibitz_events_published",
            "Event doorbells published after a commit (one per team whose event log grew).",
            registry=self.registry,
        )

    def watch_hub(self, hub: StreamHub) -> None:
        """Read the WebSocket gauge from the stream hub whenever the metrics are scraped."""
        self.websockets.set_function(lambda: hub.subscriber_count)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        label = method_label(method)
        self.requests.labels(label, route, str(status)).inc()
        self.latency.labels(label, route).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """Return the metrics in the Prometheus text format, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
