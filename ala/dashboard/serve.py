"""Serving the dashboard: the loopback check, the port check, uvicorn in this thread or in a background one."""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
import time
from typing import Any

from ala.cli_common import CommandError

LOOPBACK = "127.0.0.1"


def check_port(host: str, port: int) -> None:
    """One line when the port cannot be bound (in use, or not ours), before anything starts."""
    if not 0 < port < 65536:
        raise CommandError(f"port {port} is not a TCP port (1 to 65535)")
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CommandError(f"port {port} on {host} is in use: pick another with --port") from None
            raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def server(app: Any, host: str, port: int) -> Any:
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
    return uvicorn.Server(config)


def serve(app: Any, host: str, port: int) -> None:
    """Serve until Ctrl-C."""
    check_port(host, port)
    server(app, host, port).run()


class Background:
    """The dashboard served from a background thread (the tests', and `make dashboard`'s replay beside it)."""

    def __init__(self, app: Any, host: str = LOOPBACK, port: int = 0) -> None:
        if port == 0:
            with socket.socket() as s:
                s.bind((host, 0))
                port = s.getsockname()[1]
        self.host, self.port = host, port
        self.server = server(app, host, port)
        self.thread = threading.Thread(target=self.server.run, name="dashboard", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> Background:
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"the dashboard did not start on {self.url}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
