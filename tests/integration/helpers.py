"""Scenario building blocks for the keeper's integration tests."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.utils.actions import Actions

ROOT = Path(__file__).resolve().parents[2]
WAD = 10**18

# (symbol, whole units posted) for the borrowers' collateral, cycled through
POSITIONS = [("WETH", 20), ("WBTC", "0.8"), ("GOLD", 16)]


@dataclass
class Market:
    """A funded system: lenders, borrowers at a spread of LTVs, active bids on every collateral."""

    system: Any
    actions: Actions
    borrowers: list[str] = field(default_factory=list)
    bid_ids: list[int] = field(default_factory=list)

    def liquidatable(self, accounts: list[str] | None = None) -> list[str]:
        """The liquidatable ones among `accounts` (default: every borrower).

        Read again when the view reverts without a reason: Anvil answers a call that meets a block
        being written by a running keeper with an empty revert.
        """
        from ape.exceptions import ContractLogicError

        accounts = accounts or self.borrowers
        for attempt in range(10):
            try:
                flags = self.system.lens.liquidatable(accounts)
                return [a for a, f in zip(accounts, flags, strict=True) if f]
            except ContractLogicError:
                if attempt == 9:
                    raise
                time.sleep(0.05)
        raise AssertionError("unreachable")


def open_borrower(actions: Actions, chain: Any, accounts: Any, label: str, symbol: str, units: Any, f: float) -> str:
    """A fresh funded account posts `units` of `symbol` and borrows `f` x max_ltv of its value at the current price.

    (ape's generated test accounts sign locally, several times faster than impersonated ones.)
    """
    s = actions.s
    borrower = accounts.generate_test_account()
    address = borrower.address
    chain.set_balance(address, 10**21)
    actions.post(borrower, symbol, units)
    price = s.oracle.price(s.tokens[symbol])  # WAD USD per whole token
    value = Decimal(str(units)) * Decimal(price) / WAD
    max_ltv = s.params.collateral(symbol).max_ltv
    amount = int(value * max_ltv * Decimal(str(f))) - 1
    actions.borrow(borrower, amount)
    return address


def open_borrowers(
    actions: Actions, chain: Any, accounts: Any, prefix: str, n: int, lo: float = 0.45, hi: float = 0.99
) -> list[str]:
    out = []
    for i in range(n):
        symbol, units = POSITIONS[i % len(POSITIONS)]
        f = lo + (hi - lo) * i / max(1, n - 1)
        out.append(open_borrower(actions, chain, accounts, f"{prefix}{i}", symbol, units, f))
    return out


def crash(actions: Actions, factor: str = "0.72", symbols: tuple[str, ...] = ("WETH", "WBTC", "GOLD")) -> None:
    """Drop each collateral's price by `1 - factor`."""
    s = actions.s
    for symbol in symbols:
        price = Decimal(s.oracle.price(s.tokens[symbol])) / WAD
        actions.set_price(symbol, (price * Decimal(factor)).quantize(Decimal("0.01")))


def wait_for(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def liquidation_count(system: Any, rpc_url: str, from_block: int) -> int:
    """Liquidation events since `from_block`, read with a raw eth_getLogs."""
    import requests

    from ala import abi

    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "eth_getLogs",
        "params": [
            {
                "fromBlock": hex(from_block),
                "toBlock": "latest",
                "address": system.engine.address,
                "topics": [abi.LIQUIDATION.topic],
            }
        ],
    }
    return len(requests.post(rpc_url, json=body, timeout=10).json()["result"])


def write_deployment(system: Any, path: Path) -> Path:
    """The deployment JSON the keeper reads (in a temporary directory, never in deployments/)."""
    path.write_text(json.dumps(system.to_json("ethereum:local"), indent=2))
    return path


class KeeperProcess:
    """`python -m ala.keeper` as a subprocess, its output in files; always killed at teardown."""

    def __init__(self, workdir: Path, name: str, rpc_url: str, deployment: Path, key: str, *args: str) -> None:
        self.name = name
        self.db = workdir / f"{name}.sqlite"
        self.stdout_path = workdir / f"{name}.stdout"
        self.stderr_path = workdir / f"{name}.stderr"
        self.cmd = [
            sys.executable,
            "-m",
            "ala.keeper",
            "--rpc-url",
            rpc_url,
            "--deployment",
            str(deployment),
            "--db",
            str(self.db),
            "--keeper-id",
            name,
            *args,
        ]
        self.env = {**os.environ, "ALA_KEEPER_PRIVATE_KEY": key, "PYTHONUNBUFFERED": "1"}
        self.proc: subprocess.Popen | None = None

    def start(self) -> KeeperProcess:
        out = self.stdout_path.open("ab")
        err = self.stderr_path.open("ab")
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env, stdout=out, stderr=err)
        out.close()
        err.close()
        return self

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM, then wait for the clean exit."""
        self.signal(signal.SIGTERM)
        return self.wait(timeout)

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text() if self.stderr_path.exists() else ""

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text() if self.stdout_path.exists() else ""

    def json_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.stderr.splitlines() if line.strip()]

    def events(self, name: str) -> list[dict]:
        return [line for line in self.json_lines() if line.get("event") == name]


def load_script(name: str) -> Any:
    """The click command of `scripts/<name>.py`, as `ape run <name>` finds it (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"ala_script_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cli


def params_toml(p: Any) -> str:
    """A parameter file (params/local.toml's layout) that `ala.params.load` reads back as `p`."""

    def token(t: Any) -> list[str]:
        return [
            f'symbol = "{t.symbol}"',
            f"decimals = {t.decimals}",
            f"price = {t.price}",
            f"feed_decimals = {t.feed_decimals}",
            f"mock_feeds = {t.mock_feeds}",
            f"min_sources = {t.min_sources}",
        ]

    lines = ["[base]", *token(p.base)]
    for c in p.collaterals:
        lines += ["", "[[collateral]]", *token(c)]
        risk = (
            "max_ltv",
            "liq_ltv",
            "risk_factor",
            "premium_step",
            "max_slot",
            "waiting_period",
            "bid_threshold",
            "min_bid",
        )
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
