"""A loopback HTTP proxy between a keeper and Anvil that misbehaves on purpose.

Faults are drawn from a seeded RNG and bounded in number, so a test is reproducible and always
ends: `drop_rate` of the requests lose their connection (half before reaching the node, half
after the node executed them, so a retried `eth_sendRawTransaction` meets its own first attempt),
`error_rate` get an HTTP 503, `delay_rate` are answered `delay` seconds late (longer than the
client's timeout makes a retry race the original), and `latency` is added to every request.

Targeted faults: `drop_sends` requests carrying `eth_sendRawTransaction` lose their connection (before the
node sees them, or after with `drop_sends_after`), and `hang` (settable while running) holds every request
for `hang_seconds` before answering, like a node that accepts connections and never replies.
"""

from __future__ import annotations

import http.client
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hung up (timeout, SIGKILL) is part of the game


@dataclass
class Faults:
    seed: int = 0
    drop_rate: float = 0.0
    error_rate: float = 0.0
    delay_rate: float = 0.0
    delay: float = 0.0
    # at most this many faults of each kind (the rest of the requests pass)
    max_faults: int = 50
    # added to every request, faulty or not
    latency: float = 0.0
    # the first this many requests that send raw transactions are dropped (before or after the node runs them)
    drop_sends: int = 0
    drop_sends_after: bool = False
    # while set, every request waits this long before it is answered
    hang: bool = False
    hang_seconds: float = 30.0


@dataclass
class Stats:
    requests: int = 0
    dropped_before: int = 0
    dropped_after: int = 0
    errors: int = 0
    delayed: int = 0
    dropped_sends: int = 0
    methods: dict[str, int] = field(default_factory=dict)

    @property
    def faults(self) -> int:
        return self.dropped_before + self.dropped_after + self.errors + self.delayed


class FaultyProxy:
    """`with FaultyProxy(upstream, Faults(...)) as proxy: keeper(rpc_url=proxy.url)`."""

    def __init__(self, upstream: str, faults: Faults | None = None) -> None:
        self.upstream = urlparse(upstream)
        self.faults = faults or Faults()
        self.stats = Stats()
        self._rng = random.Random(self.faults.seed)
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="faulty-proxy", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FaultyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _draw(self, body: bytes = b"") -> str:
        f, s = self.faults, self.stats
        with self._lock:
            s.requests += 1
            if f.drop_sends and b"eth_sendRawTransaction" in body and s.dropped_sends < f.drop_sends:
                s.dropped_sends += 1
                return "drop-after" if f.drop_sends_after else "drop-before"
            roll = self._rng.random()
            if roll < f.drop_rate and s.dropped_before + s.dropped_after < f.max_faults:
                if self._rng.random() < 0.5:
                    s.dropped_before += 1
                    return "drop-before"
                s.dropped_after += 1
                return "drop-after"
            roll -= f.drop_rate
            if roll < f.error_rate and s.errors < f.max_faults:
                s.errors += 1
                return "error"
            roll -= f.error_rate
            if roll < f.delay_rate and s.delayed < f.max_faults:
                s.delayed += 1
                return "delay"
            return "pass"

    def _forward(self, body: bytes) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        try:
            conn.request("POST", self.upstream.path or "/", body, {"Content-Type": "application/json"})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fault = proxy._draw(body)
                if proxy.faults.hang:
                    time.sleep(proxy.faults.hang_seconds)
                    self.close_connection = True
                    return
                if proxy.faults.latency:
                    time.sleep(proxy.faults.latency)
                if fault == "drop-before":
                    self.close_connection = True
                    return
                if fault == "error":
                    self._reply(503, b"upstream overloaded")
                    return
                status, payload = proxy._forward(body)
                if fault == "drop-after":
                    self.close_connection = True
                    return
                if fault == "delay":
                    time.sleep(proxy.faults.delay)
                self._reply(status, payload)

            def _reply(self, status: int, payload: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout): fine
                    self.close_connection = True

        return Handler
