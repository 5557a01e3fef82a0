"""Configuration of a keeper: fees, addresses, intervals, switches; and the small helpers every part shares."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("ala.keeper")

GWEI = 10**9
ZERO_ADDRESS = "0x" + "00" * 20
# Revert reasons that mean "someone else got there first": skipped, not failed.
RACE_REASONS = (
    "engine: healthy",
    "engine: no active bids",
    "engine: no such collateral",
    "queue: bid not pending",
    "engine: auction running",
    "auctions: auction already settled",
    "auction: not running",
)
NONCE_WORDS = ("nonce too low", "nonce too high", "invalid nonce", "nonce has already been used", "old nonce")
KNOWN_WORDS = ("already known", "known transaction", "already imported", "transaction already exists")


class KeeperError(Exception):
    """A configuration problem the keeper cannot work around (wrong addresses, wrong store file)."""


# ---------------------------------------------------------------- configuration


@dataclass
class FeeConfig:
    """EIP-1559 fee policy; all amounts in wei."""

    # tip per gas: the `reward_percentile` of recent blocks' tips (eth_feeHistory), never below this floor ...
    priority_fee: int = 1 * GWEI
    # ... nor above this ceiling
    max_priority_fee: int = 50 * GWEI
    reward_percentile: float = 60.0
    # blocks of fee history read, at most every `fee_history_seconds` (0 blocks: the floor, always)
    fee_history_blocks: int = 10
    fee_history_seconds: float = 6.0
    # max fee = latest base fee x this + priority fee (headroom for base-fee rises while pending)
    base_fee_multiplier: float = 2.0
    # never offer more than this per gas, bumps included
    max_fee: int = 500 * GWEI
    # replace a transaction still pending after this many seconds, or this many blocks (0: off; blocks an automining
    # dev node mines for our own burst would count, so seconds are the default) ...
    bump_after: float = 30.0
    bump_after_blocks: int = 0
    # ... with fees raised by this percentage (12.5 % is what nodes require for a replacement)
    bump_percent: float = 12.5


@dataclass
class KeeperConfig:
    rpc_url: str
    engine: str
    vault: str
    queue: str
    private_key: str = field(repr=False)
    # the stateless views over the engine (`liquidatable`, `preview_liquidation`); the deployment JSON names it
    lens: str = ""
    # the oracle's feeds as the deployment recorded them (informational: the keeper reads them from the oracle)
    feeds: list[str] = field(default_factory=list)
    # first block to read logs from when the store is empty (the deployment block)
    start_block: int = 0
    db_path: str = "keeper.sqlite"
    # shown in every log line and stored with every action; default: derived from the keeper address
    keeper_id: str = ""
    # accounts per `liquidatable` eth_call (<= 500; lowered automatically under the node's gas cap)
    batch_size: int = 500
    # seconds between steps in `run`
    poll_interval: float = 1.0
    # full scan at least every this many blocks even without a price round (interest, parameters) ...
    scan_every_blocks: int = 20
    # ... but not more often than this many seconds (a burst of our own blocks would otherwise
    # trigger one per step); price rounds always trigger a full scan at once
    scan_min_interval: float = 5.0
    # blocks per eth_getLogs request (halved automatically when the node refuses a range)
    log_chunk_blocks: int = 5_000
    # blocks of logs read again on every poll, for chains that reorganise (a reorg the head reveals is also
    # followed back to the newest block still on the chain, whatever its depth)
    reorg_depth: int = 3
    # liquidatable accounts handled per preview/simulate/send round
    pipeline_chunk: int = 100
    # cap on liquidations sent per step (0: no cap)
    max_liquidations_per_step: int = 0
    # bids per activate_bids call (<= 100)
    activation_batch: int = 100
    # gas limit = estimate x margin + 20,000
    gas_margin: float = 1.25
    rpc_timeout: float = 10.0
    rpc_attempts: int = 8
    # parallel HTTP requests during a scan
    rpc_workers: int = 4
    # `run_once` waits this long for receipts
    receipt_timeout: float = 60.0
    fees: FeeConfig = field(default_factory=FeeConfig)
    liquidate: bool = True
    activate: bool = True
    # Dutch auctions (when the engine has an auction house): settle what they raised, redo those due, and,
    # when `take_margin` is set, buy collateral whose auction price is at least that fraction below the
    # oracle's price of the collateral in base (the reference), with at most `take_budget` base units per
    # take (0: the keeper's whole balance of the base asset)
    auctions: bool = True
    take_margin: float | None = None
    take_budget: int = 0
    # skip a liquidation whose keeper fee is worth less than its gas cost times this margin (None: never skip);
    # the gas is priced in USD through the oracle's price of `native_asset` (e.g. WETH for ether)
    min_profit: float | None = None
    native_asset: str = ""
    # a due bid waits up to this many seconds, in an order of its own per keeper, before this keeper activates
    # it, so that keepers on different machines rarely send the same `activate_bids` (0: at once); keepers that
    # share a store file never do (they claim each bid in the file first)
    activation_stagger: float = 0.0
    # Prometheus metrics and /healthz on this port (None: off)
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # warn when the signer holds less than this many wei (checked every `balance_every_blocks` blocks)
    min_balance: int = 0
    balance_every_blocks: int = 10
    # `shutdown` gives receipts this long, whatever the node does
    shutdown_grace: float = 3.0

    @classmethod
    def from_deployment(
        cls, deployment: str | Path | dict, *, rpc_url: str, private_key: str, **overrides: Any
    ) -> KeeperConfig:
        """Build a config from the JSON that `ala.deploy.write_deployment` writes."""
        data = deployment if isinstance(deployment, dict) else json.loads(Path(deployment).read_text())
        feeds = [a for fs in data.get("feeds", {}).values() for a in fs]
        overrides.setdefault("native_asset", (data.get("tokens") or {}).get("WETH", ""))
        return cls(
            rpc_url=rpc_url,
            engine=data["engine"],
            vault=data["vault"],
            queue=data["queue"],
            lens=data.get("lens", ""),
            feeds=feeds,
            private_key=private_key,
            start_block=int(data.get("block", 0)),
            **overrides,
        )


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + size]


def hex_int(value: str | None) -> int:
    return int(value, 16) if value else 0


def is_race(reason: str) -> bool:
    return any(r in reason for r in RACE_REASONS)
