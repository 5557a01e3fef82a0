"""Running `ape run admin` in-process against the test Anvil: the click group, a deployment file and a parameter file
written from the system under test."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from ape import chain
from ape.cli import commands as ape_commands
from click.testing import CliRunner

from tests.integration.helpers import params_toml


@dataclass
class Admin:
    """`ape run admin ...` in-process: the deployment and parameter files of the system under test."""

    cli: Any
    deployment: Path
    params: Path

    def run(self, *args: str, account: Any = None, params: Path | None = None) -> Any:
        argv = [*args, "--deployment", str(self.deployment), "--params", str(params or self.params)]
        if account is not None:
            argv += ["--account", f"TEST::{account.index}"]
        # the session's connected provider, as the participant commands' tests hand it over: with
        # APE_FOUNDRY_HOST=auto (make test) a command connecting on its own would start a second, empty Anvil
        provider = chain.provider
        with mock.patch.object(ape_commands, "parse_network", lambda ctx: contextlib.nullcontext(provider)):
            return CliRunner().invoke(self.cli, argv, catch_exceptions=False)

    def json(self, *args: str, account: Any = None, params: Path | None = None) -> Any:
        result = self.run(*args, "--json", account=account, params=params)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)


def write_files(system: Any, directory: Path) -> tuple[Path, Path]:
    deployment = directory / "deployment.json"
    deployment.write_text(json.dumps(system.to_json("ethereum:local"), indent=2))
    params = directory / "params.toml"
    params.write_text(params_toml(system.params))
    return deployment, params
