"""`ape run dashboard --demo`: the crash demo's deployment and replay on the connected local chain, slowed down to
a pace a person can watch, in a background thread beside the dashboard."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ala.demo import Demo, DemoOptions
from ala.params import DEFAULT_PARAMS


class Replay:
    def __init__(self, params_path: str | None, step_seconds: float, console: Any, borrowers: int = 60) -> None:
        options = DemoOptions(params_path=Path(params_path or DEFAULT_PARAMS), borrowers=borrowers, bidders=10)
        self.demo = Demo(options, console, "ethereum:local")
        self.demo.step_seconds = step_seconds
        self.console = console
        self.thread: threading.Thread | None = None
        self.system: Any = None
        self.report: dict[str, Any] | None = None

    def deploy(self, ecosystem: str, network: str) -> Any:
        from ape import accounts, chain, project

        self.system = self.demo.deploy(project, accounts.test_accounts[0], chain, ecosystem, network)
        return self.system

    def start(self, lock: Any) -> None:
        from ape import accounts, chain

        self.demo.lock = lock
        owner = accounts.test_accounts[0]
        keeper_key = accounts.test_accounts[4].private_key
        uri = chain.provider.uri

        def run() -> None:
            try:
                self.report = self.demo.run(self.system, uri, owner, keeper_key)
                self.console.print(f"replay done: {self.report['liquidations']} liquidations")
            except Exception as exc:  # the dashboard stays up; the replay says why it stopped
                self.console.print(f"[red]replay stopped: {type(exc).__name__}: {exc}[/]")

        self.thread = threading.Thread(target=run, name="replay", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """The replay runs in a daemon thread: it ends with the process (Ctrl-C)."""
