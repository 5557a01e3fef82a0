"""Running `ape run admin` in-process against the test Anvil: the click group, a deployment file and a parameter file
written from the system under test."""

from __future__ import annotations

import contextlib
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from ape import chain
from ape.cli import commands as ape_commands
from click.testing import CliRunner

from ala.params import SystemParams

ROOT = Path(__file__).resolve().parents[2]


def admin_cli() -> Any:
    """scripts/admin.py's click group (scripts/ is not a package: `ape run` loads it by path too)."""
    spec = importlib.util.spec_from_file_location("ala_admin_script", ROOT / "scripts" / "admin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cli


def params_toml(p: SystemParams) -> str:
    """A parameter file (params/local.toml's layout) that `ala.params.load` reads back as `p`."""

    def token(t: Any) -> list[str]:
        return [
            f'symbol = "{t.symbol}"',
            f"decimals = {t.decimals}",
            f"price = {t.price}",
            f"feed_decimals = {t.feed_decimals}",
            f"mock_feeds = {t.mock_feeds}",
        ]

    lines = ["[base]", *token(p.base)]
    for c in p.collaterals:
        lines += ["", "[[collateral]]", *token(c)]
        risk = ("max_ltv", "liq_ltv", "risk_factor", "premium_step", "max_slot", "waiting_period", "bid_threshold")
        lines += [f"{name} = {getattr(c, name)}" for name in risk]
    lines += ["", "[market]"]
    for name in (
        "oracle_max_age",
        "oracle_max_spread",
        "base_risk_factor",
        "max_risk_ratio",
        "liq_risk_ratio",
        "max_leverage",
        "liq_leverage",
        "base_rate",
        "slope_low",
        "slope_high",
        "kink",
        "reserve_factor",
        "close_ratio",
        "dust_value",
        "keeper_fee",
        "protocol_fee",
    ):
        lines.append(f"{name} = {getattr(p, name)}")
    if p.auction is not None:
        lines += ["", "[auction]"]
        for name in p.auction.__dataclass_fields__:
            lines.append(f"{name} = {getattr(p.auction, name)}")
    return "\n".join(lines) + "\n"


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
