"""Running the participant commands (`scripts/bid.py`, `account.py`, `watch.py`) in-process against the test Anvil.

A command is handed the session's connected provider (`connect=False`, the default): ape's connection of a fresh
provider object costs seconds per call, all of it in ape. With `connect=True` it connects as a user's
`APE_FOUNDRY_HOST=<url> ape run ... --network ethereum:local:foundry` would, to the session's Anvil by its URL
(`--provider-settings '{"host": url}'`): no second node starts, the chain is the one the fixtures built.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from ape.cli import commands as ape_commands
from click.testing import CliRunner, Result

from tests.integration.helpers import load_script, params_toml, write_deployment


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def error_line(self) -> str:
        """The one line a failure prints (click's `Error: ...`)."""
        lines = [line for line in self.err.splitlines() if line.strip()]
        assert len(lines) == 1, f"expected one line, got {self.err!r}"
        assert "Traceback" not in self.err and "Traceback" not in self.out
        return lines[0]


class Participants:
    """`run("bid", "submit", "WETH", "2", "1,000", account=bidder)` -> Outcome."""

    def __init__(self, system: Any, accounts: Any, chain: Any, workdir: Path) -> None:
        self.system = system
        self.accounts = list(accounts)
        self.chain = chain
        self.deployment = write_deployment(system, workdir / "deployment.json")
        self.params = workdir / "params.toml"
        self.params.write_text(params_toml(system.params))
        self.commands = {name: load_script(name) for name in ("bid", "account", "watch")}

    def alias(self, account: Any) -> str:
        index = [a.address for a in self.accounts].index(account.address)
        return f"TEST::{index}"

    def run(
        self, script: str, *args: str, account: Any = None, deployment: Path | None = None, connect: bool = False
    ) -> Outcome:
        full = [*args, "--network", "ethereum:local:foundry"]
        if connect:
            full += ["--provider-settings", json.dumps({"host": self.chain.provider.uri})]
        full += ["--deployment", str(deployment or self.deployment), "--params", str(self.params)]
        if account is not None:
            full += ["--account", self.alias(account)]
        provider = self.chain.provider
        with contextlib.ExitStack() as stack:
            if not connect:
                stack.enter_context(
                    mock.patch.object(ape_commands, "parse_network", lambda ctx: contextlib.nullcontext(provider))
                )
            # wide enough that rich tables do not wrap the cells the tests read
            env = {"COLUMNS": "250"}
            if connect:
                # as a user reaches a node already running; make test's APE_FOUNDRY_HOST=auto would start another
                env["APE_FOUNDRY_HOST"] = self.chain.provider.uri
            runner = CliRunner(mix_stderr=False, env=env)
            result: Result = runner.invoke(self.commands[script], full, catch_exceptions=True)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Outcome(result.exit_code, result.stdout, result.stderr)
