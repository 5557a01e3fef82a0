"""The operator's view: Prometheus metrics and a health check over HTTP (`--metrics-port`).

    GET /metrics   counters and gauges in the Prometheus text format (prometheus-client)
    GET /healthz   200 "ok" while steps complete, 503 with the reason when the last complete step is older
                   than `stale_after` seconds (a hung node, a dead loop) or none has completed yet

Metrics (each with the keeper id as a label):

    ala_keeper_liquidations_total{status}      sent, mined, failed
    ala_keeper_skips_total{reason}             race, unprofitable, no bids, reverts, ...
    ala_keeper_reaction_seconds                histogram: first price round seen in a step -> first liquidation sent
    ala_keeper_scan_seconds                    histogram: health scans of a step
    ala_keeper_signer_balance_eth              gauge: ether held by the signing address
    ala_keeper_last_block                      gauge: the head of the latest step
    ala_keeper_steps_total{outcome}            complete, failed
    ala_keeper_activations_total, ala_keeper_in_flight, ala_keeper_reorgs_total
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

if TYPE_CHECKING:
    from ala.keeper.report import StepReport

_SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The keeper's metrics in a registry of their own (several keepers may run in one process)."""

    def __init__(self, keeper_id: str, stale_after: float = 60.0) -> None:
        self.registry = CollectorRegistry()
        self.keeper_id = keeper_id
        self.stale_after = stale_after
        labels = ["keeper"]
        r = self.registry
        self.liquidations = Counter(
            "ala_keeper_liquidations", "Liquidations by status", [*labels, "status"], registry=r
        )
        self.skips = Counter("ala_keeper_skips", "Liquidations left alone, by reason", [*labels, "reason"], registry=r)
        self.activations = Counter("ala_keeper_activations", "activate_bids transactions sent", labels, registry=r)
        self.reaction = Histogram(
            "ala_keeper_reaction_seconds", "Price round seen -> first liquidation sent", labels, buckets=_SECONDS,
            registry=r,
        )  # fmt: skip
        self.scan = Histogram("ala_keeper_scan_seconds", "Health scans of a step", labels, buckets=_SECONDS, registry=r)
        self.balance = Gauge("ala_keeper_signer_balance_eth", "Ether held by the signer", labels, registry=r)
        self.last_block = Gauge("ala_keeper_last_block", "Head of the latest step", labels, registry=r)
        self.steps = Counter("ala_keeper_steps", "Steps by outcome", [*labels, "outcome"], registry=r)
        self.in_flight = Gauge("ala_keeper_in_flight", "Transactions in flight", labels, registry=r)
        self.reorgs = Counter("ala_keeper_reorgs", "Reorganisations followed back", labels, registry=r)
        self.last_complete: float | None = None  # monotonic
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ updates

    def observe(self, report: StepReport, *, in_flight: int = 0) -> None:
        k = self.keeper_id
        self.steps.labels(k, "complete" if report.complete else "failed").inc()
        if report.complete:
            self.last_complete = time.monotonic()
        if report.block:
            self.last_block.labels(k).set(report.block)
        for status, n in (
            ("sent", report.liquidations_sent),
            ("mined", report.liquidations_mined),
            ("failed", report.liquidations_failed),
        ):
            if n:
                self.liquidations.labels(k, status).inc(n)
        for reason, n in report.skips.items():
            self.skips.labels(k, reason).inc(n)
        if report.activations_sent:
            self.activations.labels(k).inc(report.activations_sent)
        if report.scanned:
            self.scan.labels(k).observe(report.scan_seconds)
        if report.price_seen_at is not None and report.first_liquidation_at is not None:
            self.reaction.labels(k).observe(max(0.0, report.first_liquidation_at - report.price_seen_at))
        self.in_flight.labels(k).set(in_flight)

    def set_balance(self, wei: int) -> None:
        self.balance.labels(self.keeper_id).set(wei / 10**18)

    def reorg(self) -> None:
        self.reorgs.labels(self.keeper_id).inc()

    def health(self) -> tuple[bool, str]:
        if self.last_complete is None:
            return False, "no complete step yet"
        age = time.monotonic() - self.last_complete
        if age > self.stale_after:
            return False, f"last complete step {age:.0f}s ago"
        return True, "ok"

    # ------------------------------------------------------------ HTTP

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve /metrics and /healthz on a daemon thread; returns the port (0 picks a free one)."""
        metrics = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._reply(200, generate_latest(metrics.registry), CONTENT_TYPE_LATEST)
                elif path == "/healthz":
                    ok, why = metrics.health()
                    self._reply(200 if ok else 503, (why + "\n").encode(), "text/plain; charset=utf-8")
                else:
                    self._reply(404, b"not found: /metrics or /healthz\n", "text/plain; charset=utf-8")

            def _reply(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True)
        self._thread.start()
        return self._server.server_address[1]

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
