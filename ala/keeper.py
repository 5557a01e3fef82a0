"""The ALA keeper: liquidates unhealthy accounts through the bid queue and activates due bids.

Structure (after makerdao/auction-keeper and ApeWorX silverback):

    startup()   connect, check the deployment, open the SQLite store, resync the nonce, adopt
                transactions a previous run left in flight, schedule a full scan
    step()      one cycle: new block -> new logs (borrowers, bids, price rounds) -> receipts and fee
                bumps -> scan -> liquidation strategy -> bid-activation strategy
    run(stop)   step() every `poll_interval` seconds until `stop` is set
    shutdown()  collect the receipts that are ready, flush and close the store

Strategies, one per action:

- `LiquidationStrategy`: after a price round (AnswerUpdated/NewRound of any feed), a change of
  risk parameters, or every `scan_every_blocks` blocks it asks the engine's batched view
  `liquidatable(accounts[<=500])` about every known borrower (one eth_call per batch, batches sent
  as concurrent requests); otherwise it rechecks only new borrowers, accounts it just liquidated
  (the close ratio may leave them liquidatable) and accounts waiting for bids when new bids arrive.
  For each liquidatable account, in one JSON-RPC batch, it reads `collateral_of` and
  `preview_liquidation` for the collaterals the account posted that have usable bid liquidity
  (`usable_liquidity`), takes the one raising the largest `funds` (skips when 0), checks the bids
  still left after this round's earlier picks, simulates the exact call with `eth_call`, then signs
  and sends `liquidate(account, collateral, max_uint)` without waiting for the receipt. A simulation
  that reverts is logged and skipped, whatever the reason (a future circuit breaker included);
  "engine: healthy" / "engine: no active bids" mean another keeper was first and count as skipped.
  Gas limits come from one `eth_estimateGas` per (collateral, slots walked), then from receipts.
  All reads of a step run against the block the step started at (one consistent state).
- `AuctionStrategy` (when the engine has a Dutch-auction house): settles what auctions raised,
  redoes auctions that are too old or too cheap, and, with `take_margin`, buys auctioned collateral
  priced at least that fraction below the oracle. With an auction house, the liquidation strategy
  also liquidates accounts whose collateral has no bids (the engine auctions the slice).
- `BidActivationStrategy`: bids from `BidSubmitted` logs whose `activates_at` has passed (by the
  latest block's timestamp) and which `bid_info` still shows pending are activated with
  `activate_bids(ids[<=100])`.

Transactions (`TxManager`): EIP-1559 fees (latest base fee x `base_fee_multiplier` + priority fee,
more headroom when our own burst fills blocks, never above `max_fee`), local nonces, batched sends,
receipts collected on later steps, a +12.5 % same-nonce replacement for transactions pending longer
than `bump_after` seconds, gaps left by a rejected send filled with a zero-value self-transfer, and
a resync from `eth_getTransactionCount(pending)` after nonce errors.

Persistence (`ala.store`): checkpoint block, known borrowers, known bids and the actions log in a
SQLite file (`keeper.sqlite` in the working directory by default). The checkpoint moves in the same
transaction as the borrowers and bids its logs revealed, and every start begins with a full scan,
so a keeper killed with SIGKILL and restarted on the same file misses nothing.

Several keepers may run at once: each walks the liquidatable accounts in its own order (a hash of
its id and the account), skips what it finds healthy in simulation, and records on-chain reverts
caused by a faster keeper as skipped, not as errors.

Keys: `KeeperConfig.private_key` is a hex string held in memory only (never logged, never written).
From the command line, `python -m ala.keeper` reads it from the environment variable named by
`--key-env` (default `ALA_KEEPER_PRIVATE_KEY`); `ape run keeper` (scripts/keeper.py) can also take
an ape account alias or, on local networks, one of ape's test accounts.

    python -m ala.keeper --rpc-url http://127.0.0.1:8545 --deployment deployments/ethereum-local.json \\
        [--db keeper.sqlite] [--once] [--json] [-v | -vv]

Exit codes: 0 on a clean stop (or a `--once` cycle that completed), 1 when `--once` could not
complete, 2 on a configuration error.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import keccak, to_checksum_address

from ala import abi
from ala.logs import fields
from ala.rpc import RpcClient, RpcError, Signer, TransportError, call
from ala.store import Store, StoreMismatch

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
    "engine: auction already settled",
    "auction: not running",
)
_NONCE_WORDS = ("nonce too low", "nonce too high", "invalid nonce", "nonce has already been used", "old nonce")
_KNOWN_WORDS = ("already known", "known transaction", "already imported", "transaction already exists")


class KeeperError(Exception):
    """A configuration problem the keeper cannot work around (wrong addresses, wrong store file)."""


# ---------------------------------------------------------------- configuration


@dataclass
class FeeConfig:
    """EIP-1559 fee policy; all amounts in wei."""

    # tip per gas offered to the block producer
    priority_fee: int = 1 * GWEI
    # max fee = latest base fee x this + priority fee (headroom for base-fee rises while pending)
    base_fee_multiplier: float = 2.0
    # never offer more than this per gas, bumps included
    max_fee: int = 500 * GWEI
    # replace a transaction still pending after this many seconds ...
    bump_after: float = 30.0
    # ... with fees raised by this percentage (12.5 % is what nodes require for a replacement)
    bump_percent: float = 12.5


@dataclass
class KeeperConfig:
    rpc_url: str
    engine: str
    vault: str
    queue: str
    # the stateless views over the engine (`liquidatable`, `preview_liquidation`)
    lens: str
    feeds: list[str]
    private_key: str = field(repr=False)
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
    # blocks of logs read again on every poll, for chains that reorganise (3-5 on L1; 0 on Anvil)
    reorg_depth: int = 0
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

    @classmethod
    def from_deployment(
        cls, deployment: str | Path | dict, *, rpc_url: str, private_key: str, **overrides: Any
    ) -> KeeperConfig:
        """Build a config from the JSON that `ala.deploy.write_deployment` writes."""
        data = deployment if isinstance(deployment, dict) else json.loads(Path(deployment).read_text())
        feeds = [a for fs in data.get("feeds", {}).values() for a in fs]
        return cls(
            rpc_url=rpc_url,
            engine=data["engine"],
            vault=data["vault"],
            queue=data["queue"],
            lens=data["lens"],
            feeds=feeds,
            private_key=private_key,
            start_block=int(data.get("block", 0)),
            **overrides,
        )


@dataclass
class StepReport:
    """What one step (or, merged, one `run_once`) did."""

    keeper_id: str = ""
    block: int = 0
    logs: int = 0
    new_borrowers: int = 0
    new_bids: int = 0
    price_updates: int = 0
    full_scan: bool = False
    scanned: int = 0
    scan_seconds: float = 0.0
    liquidatable: int = 0
    liquidations_sent: int = 0
    liquidations_mined: int = 0
    liquidations_skipped: int = 0
    liquidations_failed: int = 0
    activations_sent: int = 0
    bids_activated: int = 0
    pokes_sent: int = 0
    takes_sent: int = 0
    redos_sent: int = 0
    settles_sent: int = 0
    approvals_sent: int = 0
    bumped: int = 0
    gas_used: int = 0
    # wall-clock times (time.time()) of the first send and the last receipt seen in this step
    first_sent_at: float | None = None
    last_mined_at: float | None = None
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    # the step ran to its end without an RPC error (for `run_once`: its last round did)
    complete: bool = False

    @property
    def did_work(self) -> bool:
        return bool(
            self.liquidations_sent
            or self.activations_sent
            or self.pokes_sent
            or self.takes_sent
            or self.redos_sent
            or self.settles_sent
            or self.approvals_sent
        )

    def merge(self, other: StepReport) -> None:
        for name in (
            "logs",
            "new_borrowers",
            "new_bids",
            "price_updates",
            "scanned",
            "scan_seconds",
            "liquidations_sent",
            "liquidations_mined",
            "liquidations_skipped",
            "liquidations_failed",
            "activations_sent",
            "bids_activated",
            "pokes_sent",
            "takes_sent",
            "redos_sent",
            "settles_sent",
            "approvals_sent",
            "bumped",
            "gas_used",
            "seconds",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.block = max(self.block, other.block)
        self.liquidatable = max(self.liquidatable, other.liquidatable)
        self.full_scan = self.full_scan or other.full_scan
        self.complete = other.complete
        if other.first_sent_at and not self.first_sent_at:
            self.first_sent_at = other.first_sent_at
        if other.last_mined_at:
            self.last_mined_at = max(self.last_mined_at or 0, other.last_mined_at)
        self.errors.extend(other.errors)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + size]


def _hex(value: str | None) -> int:
    return int(value, 16) if value else 0


def _is_race(reason: str) -> bool:
    return any(r in reason for r in RACE_REASONS)


# ---------------------------------------------------------------- transactions


@dataclass
class TxRequest:
    kind: str  # liquidate | activate | poke | take | redo | settle | approve | filler
    to: str
    data: str
    gas: int
    account: str | None = None
    collateral: str | None = None
    bid_ids: list[int] | None = None
    # liquidations: (collateral, slots walked, opens an auction), the key of the gas model
    gas_key: tuple[str, int, bool] | None = None


@dataclass
class InFlight:
    req: TxRequest | None  # None for transactions adopted from a previous run (cannot be re-signed)
    nonce: int
    max_fee: int
    priority_fee: int
    hashes: list[str]
    sent_at: float
    action_id: int | None = None
    bumps: int = 0
    unseen_polls: int = 0
    kind: str = ""
    account: str | None = None
    bid_ids: list[int] | None = None


@dataclass
class Outcome:
    """A transaction that left the in-flight set, with how it ended."""

    tx: InFlight
    status: str  # mined | reverted | skipped | dropped
    gas_used: int = 0
    block: int = 0
    reason: str = ""


class TxManager:
    """Local nonces, EIP-1559 pricing, batched sends, receipts, bumps and gap fillers for one key."""

    def __init__(
        self,
        rpc: RpcClient,
        signer: Signer,
        chain_id: int,
        fees: FeeConfig,
        store: Store,
        logger: logging.Logger | logging.LoggerAdapter | None = None,
    ) -> None:
        self.rpc = rpc
        self.log = logger or log
        self.signer = signer
        self.chain_id = chain_id
        self.fees = fees
        self.store = store
        self.nonce = 0
        self.inflight: dict[int, InFlight] = {}
        self.base_fee: int | None = 0
        self.gas_cap = 30_000_000
        self.bumps = 0  # replacements sent so far

    # ------------------------------------------------------------ state

    def sync_nonce(self) -> int:
        pending = _hex(self.rpc.request("eth_getTransactionCount", [self.signer.address, "pending"]))
        floor = max(self.inflight, default=-1) + 1
        self.nonce = max(pending, floor)
        return self.nonce

    def observe_block(self, block: dict) -> None:
        fee = block.get("baseFeePerGas")
        self.base_fee = _hex(fee) if fee is not None else None
        self.gas_cap = _hex(block.get("gasLimit")) or self.gas_cap

    def adopt(self, rows: list[dict[str, Any]]) -> None:
        """Transactions a previous run sent and never saw resolve: watch those the node knows of.

        They cannot be re-signed (the calldata is not stored), so a stuck one is replaced by a
        zero-value self-transfer; one the node has never heard of is recorded as dropped.
        """
        rows = [r for r in rows if r.get("tx_hash") and r.get("nonce") is not None]
        calls = [(m, [r["tx_hash"]]) for r in rows for m in ("eth_getTransactionReceipt", "eth_getTransactionByHash")]
        answers = self.rpc.batch(calls)
        dropped = []
        for i, row in enumerate(rows):
            receipt, known = answers[2 * i], answers[2 * i + 1]
            if not isinstance(receipt, dict) and not isinstance(known, dict):
                dropped.append((row["id"], "dropped", {"detail": "unknown to the node after a restart"}))
                continue
            self.inflight[row["nonce"]] = InFlight(
                req=None,
                nonce=row["nonce"],
                max_fee=0,
                priority_fee=0,
                hashes=[row["tx_hash"]],
                sent_at=time.time(),
                action_id=row["id"],
                kind=row["kind"],
                account=row.get("account"),
                bid_ids=json.loads(row["bid_ids"]) if row.get("bid_ids") else None,
            )
        if dropped:
            self.store.update_actions(dropped)

    def price(self, extra_gas: int = 0) -> tuple[int, int]:
        """(max fee, priority fee) per gas for a new transaction; legacy chains get (gas price, gas price).

        The base fee may rise 12.5 % per full block while a transaction waits. A burst of our own
        (in flight, plus `extra_gas` about to be sent) fills blocks by itself, so the headroom is the
        larger of `base_fee_multiplier` and 1.125 ** (blocks the burst fills + 1).
        """
        cap = self.fees.max_fee
        if self.base_fee is None:
            gas_price = min(_hex(self.rpc.request("eth_gasPrice")), cap)
            return gas_price, gas_price
        burst = extra_gas + sum(tx.req.gas for tx in self.inflight.values() if tx.req is not None)
        multiplier = max(self.fees.base_fee_multiplier, 1.125 ** (math.ceil(burst / max(1, self.gas_cap)) + 1))
        max_fee = min(int(self.base_fee * multiplier) + self.fees.priority_fee, cap)
        if self.base_fee > cap:
            self.log.warning("base fee above the fee cap", extra=fields(base_fee=self.base_fee, max_fee=cap))
        return max_fee, min(self.fees.priority_fee, max_fee)

    def _sign(self, req: TxRequest, nonce: int, max_fee: int, priority: int) -> tuple[str, str]:
        if self.base_fee is None:
            return self.signer.sign_legacy(
                chain_id=self.chain_id, nonce=nonce, to=req.to, data=req.data, gas=req.gas, gas_price=max_fee
            )
        return self.signer.sign_1559(
            chain_id=self.chain_id,
            nonce=nonce,
            to=req.to,
            data=req.data,
            gas=req.gas,
            max_fee=max_fee,
            priority_fee=priority,
        )

    # ------------------------------------------------------------ sending

    def send(self, reqs: Sequence[TxRequest], *, retry_nonce_errors: bool = True) -> list[InFlight | str]:
        """Sign with consecutive local nonces and send in one batch; per request the `InFlight` or the error.

        Requests refused for their nonce (our local count was stale: another process used the key,
        or the node restarted) are signed again once, after a resync.
        """
        if not reqs:
            return []
        max_fee, priority = self.price(sum(r.gas for r in reqs))
        signed = []
        for req in reqs:
            raw, tx_hash = self._sign(req, self.nonce, max_fee, priority)
            signed.append((req, self.nonce, raw, tx_hash))
            self.nonce += 1
        answers = self.rpc.batch([("eth_sendRawTransaction", [raw]) for _, _, raw, _ in signed])
        now = time.time()
        out: list[InFlight | str] = []
        rejected: list[tuple[int, str]] = []
        nonce_trouble = False
        for (req, nonce, _, tx_hash), answer in zip(signed, answers, strict=True):
            if isinstance(answer, RpcError) and not self._accepted_anyway(answer, tx_hash):
                reason = answer.reason
                nonce_trouble |= any(w in reason.lower() for w in _NONCE_WORDS)
                rejected.append((nonce, reason))
                out.append(reason)
                continue
            tx = InFlight(
                req=req,
                nonce=nonce,
                max_fee=max_fee,
                priority_fee=priority,
                hashes=[tx_hash],
                sent_at=now,
                kind=req.kind,
                account=req.account,
                bid_ids=req.bid_ids,
            )
            self.inflight[nonce] = tx
            out.append(tx)
        if rejected:
            accepted = [tx.nonce for tx in out if isinstance(tx, InFlight)]
            self._repair(signed[0][1], accepted, rejected, nonce_trouble)
            again = [i for i, r in enumerate(out) if isinstance(r, str) and any(w in r.lower() for w in _NONCE_WORDS)]
            if again and retry_nonce_errors:
                for i, result in zip(again, self.send([reqs[i] for i in again], retry_nonce_errors=False), strict=True):
                    out[i] = result
        return out

    def _accepted_anyway(self, err: RpcError, tx_hash: str) -> bool:
        """A retried send whose first attempt got through answers "already known" or "nonce too low"."""
        text = err.message.lower()
        if any(w in text for w in _KNOWN_WORDS):
            return True
        if any(w in text for w in _NONCE_WORDS):
            try:
                return self.rpc.request("eth_getTransactionByHash", [tx_hash]) is not None
            except (RpcError, TransportError):
                return False
        return False

    def _repair(self, first: int, accepted: list[int], rejected: list[tuple[int, str]], nonce_trouble: bool) -> None:
        """After rejected sends: fill the nonce gaps they left below accepted ones, and set the next nonce."""
        top = max(accepted, default=-1)
        gaps = [n for n, reason in rejected if n < top and not any(w in reason.lower() for w in _NONCE_WORDS)]
        for nonce in gaps:
            self._fill(nonce)
        # rejected nonces above every accepted one were never used: hand them out again
        self.nonce = max(top + 1, first)
        if nonce_trouble:
            pending = _hex(self.rpc.request("eth_getTransactionCount", [self.signer.address, "pending"]))
            self.log.warning("nonce trouble, resynced", extra=fields(local=self.nonce, node=pending))
            self.nonce = max(pending, top + 1)

    def _fill(self, nonce: int) -> None:
        """A zero-value self-transfer at `nonce`, so the transactions queued above it can be mined."""
        max_fee, priority = self.price()
        req = TxRequest(kind="filler", to=self.signer.address, data="0x", gas=21_000)
        raw, tx_hash = self._sign(req, nonce, max_fee, priority)
        try:
            self.rpc.request("eth_sendRawTransaction", [raw])
        except RpcError as exc:
            if not self._accepted_anyway(exc, tx_hash):
                self.log.warning("could not fill a nonce gap", extra=fields(nonce=nonce, reason=exc.reason))
                return
        self.inflight[nonce] = InFlight(req, nonce, max_fee, priority, [tx_hash], time.time(), kind="filler")
        self.log.warning("filled a nonce gap", extra=fields(nonce=nonce, tx=tx_hash))

    # ------------------------------------------------------------ receipts and bumps

    def poll(self) -> list[Outcome]:
        """Collect the receipts that are ready; bump what is stuck. Returns the transactions that resolved."""
        if not self.inflight:
            return []
        txs = list(self.inflight.values())
        calls = [("eth_getTransactionReceipt", [h]) for tx in txs for h in tx.hashes]
        answers = iter(self.rpc.batch(calls))
        outcomes: list[Outcome] = []
        unresolved: list[InFlight] = []
        for tx in txs:
            receipt = None
            for _ in tx.hashes:
                answer = next(answers)
                if isinstance(answer, dict) and answer.get("blockNumber"):
                    receipt = answer
            if receipt is None:
                unresolved.append(tx)
                continue
            del self.inflight[tx.nonce]
            status = "mined" if _hex(receipt.get("status")) == 1 else "reverted"
            outcome = Outcome(tx, status, _hex(receipt.get("gasUsed")), _hex(receipt.get("blockNumber")))
            if status == "reverted":
                outcome.reason = self._replay(tx)
                if _is_race(outcome.reason):
                    outcome.status = "skipped"
            outcomes.append(outcome)
        if unresolved:
            outcomes.extend(self._check_stuck(unresolved))
        return outcomes

    def _replay(self, tx: InFlight) -> str:
        """Why a mined transaction reverted: run it again on the latest state."""
        if tx.req is None:
            return "reverted"
        try:
            self.rpc.eth_call(tx.req.to, tx.req.data, sender=self.signer.address)
        except RpcError as exc:
            return exc.reason
        except TransportError:
            return "reverted"
        return "reverted (passes now)"

    def _check_stuck(self, txs: list[InFlight]) -> list[Outcome]:
        """Re-price what has waited `bump_after` seconds; fill nonce gaps that hold our queue back."""
        now = time.time()
        outcomes: list[Outcome] = []
        mined_count = None
        if any(now - tx.sent_at >= self.fees.bump_after for tx in txs):
            mined_count = _hex(self.rpc.request("eth_getTransactionCount", [self.signer.address, "latest"]))
            lowest = min(self.inflight, default=mined_count)
            for nonce in range(mined_count, min(lowest, mined_count + 16)):
                self._fill(nonce)  # nobody holds these nonces (a lost send, a node restart)
        for tx in txs:
            if now - tx.sent_at < self.fees.bump_after:
                continue
            if mined_count is None:
                mined_count = _hex(self.rpc.request("eth_getTransactionCount", [self.signer.address, "latest"]))
            if tx.nonce < mined_count:
                # the nonce is used but none of our hashes has a receipt: replaced or dropped
                tx.unseen_polls += 1
                if tx.unseen_polls >= 3:
                    del self.inflight[tx.nonce]
                    outcomes.append(Outcome(tx, "dropped", reason="nonce used by another transaction"))
                continue
            self._bump(tx)
        return outcomes

    def _bump(self, tx: InFlight) -> None:
        """Replace `tx` at the same nonce with fees raised by `bump_percent` (at least), up to the cap."""
        # an adopted transaction cannot be re-signed: cancel it with a zero-value self-transfer
        req = tx.req or TxRequest(kind="filler", to=self.signer.address, data="0x", gas=21_000)
        factor = 1 + self.fees.bump_percent / 100
        max_fee, priority = self.price()
        new_priority = max(math.ceil(tx.priority_fee * factor), priority)
        new_max = min(max(math.ceil(tx.max_fee * factor), max_fee), self.fees.max_fee)
        new_priority = min(new_priority, new_max)
        if new_max <= tx.max_fee:
            if tx.bumps >= 0:
                self.log.warning("stuck transaction at the fee cap", extra=fields(nonce=tx.nonce, tx=tx.hashes[-1]))
                tx.bumps = -1  # warn once
            tx.sent_at = time.time()
            return
        raw, tx_hash = self._sign(req, tx.nonce, new_max, new_priority)
        try:
            self.rpc.request("eth_sendRawTransaction", [raw])
        except RpcError as exc:
            if not self._accepted_anyway(exc, tx_hash):
                self.log.info("replacement refused", extra=fields(nonce=tx.nonce, reason=exc.reason))
                tx.sent_at = time.time()
                return
        tx.hashes.append(tx_hash)
        tx.max_fee, tx.priority_fee = new_max, new_priority
        tx.bumps = max(tx.bumps, 0) + 1
        tx.sent_at = time.time()
        self.bumps += 1
        self.log.info(
            "fee bumped", extra=fields(nonce=tx.nonce, tx=tx_hash, max_fee=new_max, priority_fee=new_priority)
        )


# ---------------------------------------------------------------- strategies


def _estimate_gas(k: Keeper, to: str, datas: list[str]) -> list[int | RpcError]:
    """The gas limit of each call to `to` in one batch (estimate x margin + 20,000, capped), or the error of a call
    that would revert."""
    assert k.rpc is not None and k.txs is not None
    answers = k.rpc.batch([("eth_estimateGas", [{"from": k.address, "to": to, "data": d}, k.tag]) for d in datas])
    cap = k.txs.gas_cap
    return [a if isinstance(a, RpcError) else min(int(_hex(a) * k.config.gas_margin) + 20_000, cap) for a in answers]


def _record_sends(k: Keeper, kind: str, reqs: list[TxRequest], results: list[InFlight | str]) -> list[InFlight]:
    """Write one action row per send attempt; tie each accepted transaction to its row."""
    assert k.store is not None
    rows: list[tuple[str, str, dict[str, Any]]] = []
    for req, result in zip(reqs, results, strict=True):
        base = {"account": req.account, "collateral": req.collateral, "bid_ids": req.bid_ids}
        if isinstance(result, InFlight):
            rows.append((kind, "sent", {**base, "tx_hash": result.hashes[0], "nonce": result.nonce}))
        else:
            rows.append((kind, "skipped" if _is_race(result) else "failed", {**base, "detail": result}))
    ids = k.store.record_many(rows)
    sent = []
    for action_id, result in zip(ids, results, strict=True):
        if isinstance(result, InFlight):
            result.action_id = action_id
            sent.append(result)
    return sent


class LiquidationStrategy:
    """Find liquidatable accounts (batched scans) and liquidate each through its best collateral.

    State: which accounts to look at again next step (`recheck`: new borrowers, accounts just
    liquidated, accounts whose simulation failed), which ones wait for bids (`starved`), and a gas
    model per (collateral, slots walked) so that liquidations need no `eth_estimateGas` each.
    """

    def __init__(self, keeper: Keeper) -> None:
        self.k = keeper
        self.batch_size = max(1, min(500, keeper.config.batch_size))
        self.recheck: set[str] = set()
        self.starved: set[str] = set()  # liquidatable, but no bids to fill them: retried when liquidity arrives
        self.skip_noted: dict[str, str] = {}  # last skip reason recorded per account (no log flooding)
        self.gas_model: dict[tuple[str, int], int] = {}
        self.assets: list[str] = []
        self.need_full_scan = True
        self.refresh_assets = True
        self.last_full_scan = -1
        self.last_full_scan_at = 0.0
        self.liquidity_block: int | None = None  # block of the latest new bid liquidity

    # ------------------------------------------------------------ signals from the logs

    def full_scan_needed(self) -> None:
        self.need_full_scan = True

    def liquidity_arrived(self, block: int) -> None:
        """Bids activated in `block` fill from the next one: retry the starved accounts once it exists."""
        self.liquidity_block = max(self.liquidity_block or 0, block)

    # ------------------------------------------------------------ scanning

    def scan(self, accounts: Sequence[str] | None = None) -> list[str]:
        """The liquidatable ones among `accounts` (default: every known borrower), one eth_call per batch.

        The batches go out as `rpc_workers` concurrent JSON-RPC batch requests.
        """
        k = self.k
        assert k.rpc is not None
        accounts = list(k.borrowers if accounts is None else accounts)
        if not accounts:
            return []
        batches = list(_chunks(accounts, self.batch_size))
        calls = [call(k.lens, abi.encode_address_array(abi.LIQUIDATABLE, list(b)), k.tag) for b in batches]
        workers = max(1, min(k.config.rpc_workers, len(calls)))
        answers: list[Any] = [None] * len(calls)
        for g, group in enumerate(k.rpc.batches([calls[i::workers] for i in range(workers)])):
            for j, answer in enumerate(group):
                answers[g + j * workers] = answer
        out: list[str] = []
        for batch, answer in zip(batches, answers, strict=True):
            if isinstance(answer, RpcError):
                out.extend(self._scan_failed(list(batch), answer))
                continue
            out.extend(a for a, flag in zip(batch, abi.decode_bool_array(answer), strict=True) if flag)
        return out

    def _scan_failed(self, batch: list[str], err: RpcError, retried: bool = False) -> list[str]:
        """A batch that ran out of gas is split (and the batch size lowered); any other revert is logged."""
        k = self.k
        assert k.rpc is not None
        text = err.message.lower()
        if len(batch) > 1 and ("gas" in text or "out of" in text):
            self.batch_size = max(1, len(batch) // 2)
            k.log.warning("scan batch above the gas cap, halving", extra=fields(batch_size=self.batch_size))
            return self.scan(batch)
        if not err.data and not retried:
            # a revert without data: on Anvil, a call that met a block being written; read again once
            time.sleep(0.05)
            answer = k.rpc.batch([call(k.lens, abi.encode_address_array(abi.LIQUIDATABLE, batch), k.tag)])[0]
            if not isinstance(answer, RpcError):
                return [a for a, flag in zip(batch, abi.decode_bool_array(answer), strict=True) if flag]
            return self._scan_failed(batch, answer, retried=True)
        k.log.warning("scan batch reverted", extra=fields(accounts=len(batch), reason=err.reason))
        self.recheck.update(batch)
        return []

    def calibrate_batch(self) -> int:
        """Measure the gas of a full scan batch and keep it under 80 % of the node's eth_call gas cap."""
        k = self.k
        assert k.rpc is not None and k.txs is not None
        sample = k.borrowers[: self.batch_size]
        if len(sample) < 10:
            return self.batch_size
        data = abi.encode_address_array(abi.LIQUIDATABLE, sample)
        try:
            gas = _hex(k.rpc.request("eth_estimateGas", [{"to": k.lens, "data": data}, k.tag]))
        except RpcError as exc:
            k.log.warning("could not measure the scan gas", extra=fields(reason=exc.reason))
            return self.batch_size
        per_account = gas / len(sample)
        limit = int(0.8 * k.txs.gas_cap / per_account)
        self.batch_size = max(1, min(self.batch_size, limit, 500))
        k.log.info("scan batch calibrated", extra=fields(gas_per_account=int(per_account), batch=self.batch_size))
        return self.batch_size

    # ------------------------------------------------------------ one round

    def run(self, report: StepReport, stop: threading.Event | None) -> None:
        k = self.k
        assert k.txs is not None
        if self.liquidity_block is not None and report.block > self.liquidity_block:
            self.recheck.update(self.starved)
            self.starved.clear()
            self.liquidity_block = None
        periodic = (
            report.block - self.last_full_scan >= k.config.scan_every_blocks
            and time.time() - self.last_full_scan_at >= k.config.scan_min_interval
        )
        full = self.need_full_scan or periodic
        if self.refresh_assets or not self.assets:
            self.assets = k.collateral_assets()
            self.refresh_assets = False
        if full:
            if self.last_full_scan < 0:
                self.calibrate_batch()
            targets = list(k.borrowers)
        else:
            targets = [a for a in self.recheck if a in k.borrower_set]
        if not targets:
            return
        t0 = time.time()
        found = self.scan(targets)
        report.scan_seconds += time.time() - t0
        report.scanned += len(targets)
        report.full_scan = report.full_scan or full
        if full:
            self.need_full_scan = False
            self.last_full_scan = report.block
            self.last_full_scan_at = time.time()
        self.recheck.difference_update(targets)
        report.liquidatable = len(found)
        for account in (set(self.skip_noted) & set(targets)) - set(found):
            del self.skip_noted[account]  # healthy again: a later skip is news
        busy = {tx.account for tx in k.txs.inflight.values() if tx.kind == "liquidate"}
        todo = [a for a in found if a not in busy]
        if todo:
            self._liquidate(self._order(todo), report, stop)

    def _order(self, accounts: list[str]) -> list[str]:
        """This keeper's own walk order, so that two keepers rarely start on the same account."""
        salt = self.k.keeper_id.encode()
        return sorted(accounts, key=lambda a: keccak(salt + bytes.fromhex(a[2:])))

    def _liquidate(self, accounts: list[str], report: StepReport, stop: threading.Event | None) -> None:
        """Plan, simulate, sign and send in chunks; receipts are collected between chunks."""
        k = self.k
        assert k.rpc is not None and k.txs is not None
        liquidity = self._usable_liquidity()
        # with an auction house, a collateral without bids still liquidates (into an auction)
        assets = self.assets if k.auctions.house else [a for a in self.assets if liquidity.get(a, 0) > 0]
        if not assets:
            self._skip(accounts, "no usable bid liquidity", report, starved=True)
            return
        cap = k.config.max_liquidations_per_step or len(accounts)
        sent_total = 0
        # a small first chunk gets the first transaction out fast; later chunks amortise the round trips
        size = min(16, k.config.pipeline_chunk)
        pos = 0
        while pos < len(accounts):
            if (stop is not None and stop.is_set()) or sent_total >= cap:
                self.recheck.update(accounts[pos:])
                break
            chunk = accounts[pos : pos + min(size, cap - sent_total)]
            pos += len(chunk)
            size = k.config.pipeline_chunk
            plan = self._plan(chunk, assets, liquidity, report)
            reqs = self._simulate(plan, report) if plan else []
            if not reqs:
                continue
            if sent_total:
                k.txs.observe_block(k.rpc.block("latest"))  # our own burst moves the base fee
            results = k.txs.send(reqs)
            sent = _record_sends(k, "liquidate", reqs, results)
            for req, result in zip(reqs, results, strict=True):
                self.recheck.add(req.account or "")
                if isinstance(result, str):
                    if _is_race(result):
                        report.liquidations_skipped += 1
                    else:
                        report.liquidations_failed += 1
                    k.log.warning("liquidation not sent", extra=fields(account=req.account, reason=result))
            for tx in sent:
                k.log.info(
                    "liquidation sent",
                    extra=fields(account=tx.account, collateral=tx.req.collateral if tx.req else None, tx=tx.hashes[0]),
                )
            sent_total += len(sent)
            report.liquidations_sent += len(sent)
            if sent and report.first_sent_at is None:
                report.first_sent_at = time.time()
            # receipts of this chunk while the next one is prepared (instant on an automining node)
            k.record_outcomes(k.txs.poll(), report)

    def _usable_liquidity(self) -> dict[str, int]:
        k = self.k
        assert k.rpc is not None
        answers = k.rpc.batch([call(k.queue, abi.USABLE_LIQUIDITY.encode(a), k.tag) for a in self.assets])
        return {
            a: 0 if isinstance(r, RpcError) else abi.decode_uint(r) for a, r in zip(self.assets, answers, strict=True)
        }

    def _plan(
        self, chunk: list[str], assets: list[str], liquidity: dict[str, int], report: StepReport
    ) -> list[tuple[str, str, Any]]:
        """For each account the collateral whose preview raises the most funds, within the bids left locally.

        One JSON-RPC batch: `collateral_of` and `preview_liquidation` of every (account, collateral)
        pair where the account posted that collateral (known from its CollateralAdded logs) and the
        collateral has usable bids.
        """
        k = self.k
        assert k.rpc is not None
        usable = set(assets)
        pairs = [(a, c) for a in chunk for c in (k.positions.get(a) or assets) if c in usable]
        calls = []
        for account, asset in pairs:
            calls.append(call(k.vault, abi.COLLATERAL_OF.encode(account, asset), k.tag))
            calls.append(call(k.lens, abi.PREVIEW_LIQUIDATION.encode(account, asset), k.tag))
        answers = k.rpc.batch(calls)
        best: dict[str, tuple[int, int, str, Any]] = {}
        healthy: set[str] = set()
        for n, (account, asset) in enumerate(pairs):
            balance, answer = answers[2 * n], answers[2 * n + 1]
            if isinstance(balance, RpcError) or abi.decode_uint(balance) == 0:
                continue
            if isinstance(answer, RpcError):
                k.log.info("preview reverted", extra=fields(account=account, collateral=asset, reason=answer.reason))
                self.recheck.add(account)
                continue
            preview = abi.decode_preview(answer)
            if not preview.liquidatable:
                healthy.add(account)
                continue
            key = (preview.funds, liquidity.get(asset, 0))
            if (preview.funds > 0 or preview.auction_lot > 0) and (account not in best or key > best[account][:2]):
                best[account] = (*key, asset, preview)
        plan = []
        for account in chunk:
            if account not in best:
                if account in healthy:
                    report.liquidations_skipped += 1  # liquidated by someone else since the scan
                elif account not in self.recheck:
                    self._skip([account], "no collateral with usable bids", report, starved=True)
                continue
            funds, _, asset, preview = best[account]
            if liquidity.get(asset, 0) <= 0 and preview.auction_lot == 0:
                self._skip([account], "bids used up by this round", report, starved=False)
                self.recheck.add(account)
                continue
            liquidity[asset] = liquidity.get(asset, 0) - funds
            plan.append((account, asset, preview))
        return plan

    def _simulate(self, plan: list[tuple[str, str, Any]], report: StepReport) -> list[TxRequest]:
        """Run each exact call (eth_call from the keeper): a revert is a skip, logged with its reason.

        Gas limits come from `eth_estimateGas` once per (collateral, slots walked) and from receipts
        since, with a margin: an estimate per liquidation would cost ten times the simulation.
        """
        k = self.k
        assert k.rpc is not None and k.txs is not None
        datas = [abi.LIQUIDATE.encode(account, asset, abi.MAX_UINT) for account, asset, _ in plan]
        answers = k.rpc.batch([call(k.engine, d, k.tag, sender=k.address) for d in datas])
        passed = []
        for (account, asset, preview), data, answer in zip(plan, datas, answers, strict=True):
            if isinstance(answer, RpcError):
                reason = answer.reason
                if _is_race(reason):
                    report.liquidations_skipped += 1
                    k.log.info("liquidation skipped", extra=fields(account=account, reason=reason))
                else:
                    # a circuit breaker, a paused market, or a node answering mid-block: look again next step
                    self._skip([account], f"simulation reverted: {reason}", report, starved=False)
                    self.recheck.add(account)
                continue
            key = (asset, preview.last_slot - preview.first_slot, preview.auction_lot > 0)
            passed.append((account, asset, key, data))
        unknown = {key: data for _, _, key, data in passed if key not in self.gas_model}
        if unknown:
            estimates = k.rpc.batch(
                [("eth_estimateGas", [{"from": k.address, "to": k.engine, "data": d}, k.tag]) for d in unknown.values()]
            )
            for key, answer in zip(unknown, estimates, strict=True):
                if not isinstance(answer, RpcError):
                    self.gas_model[key] = _hex(answer)
        reqs = []
        for account, asset, key, data in passed:
            known = self.gas_model.get(key, 1_000_000)
            gas = min(int(known * k.config.gas_margin) + 20_000, k.txs.gas_cap)
            reqs.append(TxRequest("liquidate", k.engine, data, gas, account=account, collateral=asset, gas_key=key))
        return reqs

    def _skip(self, accounts: Iterable[str], reason: str, report: StepReport, *, starved: bool) -> None:
        """Note accounts left liquidatable; each (account, reason) reaches the log and the store once."""
        k = self.k
        assert k.store is not None
        rows = []
        for account in accounts:
            report.liquidations_skipped += 1
            if starved:
                self.starved.add(account)
            if self.skip_noted.get(account) == reason:
                continue
            self.skip_noted[account] = reason
            rows.append(("liquidate", "skipped", {"account": account, "detail": reason}))
            k.log.info("liquidation skipped", extra=fields(account=account, reason=reason))
        if rows:
            k.store.record_many(rows)

    def on_outcome(self, o: Outcome, report: StepReport) -> None:
        tx = o.tx
        if tx.req is not None and tx.req.gas_key is not None:
            key = tx.req.gas_key
            if o.status == "mined":
                self.gas_model[key] = max(self.gas_model.get(key, 0), o.gas_used)
            elif o.status == "reverted" and o.gas_used >= tx.req.gas * 0.97:
                self.gas_model[key] = max(self.gas_model.get(key, 0), tx.req.gas) * 2  # it ran out of gas
        report.liquidations_mined += o.status == "mined"
        report.liquidations_skipped += o.status == "skipped"
        report.liquidations_failed += o.status in ("reverted", "dropped")
        if tx.account:
            self.recheck.add(tx.account)  # the close ratio may leave it liquidatable
        if o.status == "mined":
            report.last_mined_at = time.time()


class BidActivationStrategy:
    """Activate bids whose waiting period is over (`activate_bids(ids[<=100])`), checked against `bid_info`."""

    def __init__(self, keeper: Keeper) -> None:
        self.k = keeper

    def run(self, report: StepReport) -> None:
        k = self.k
        assert k.rpc is not None and k.store is not None and k.txs is not None
        now = _hex(k.head.get("timestamp"))
        busy = {i for tx in k.txs.inflight.values() if tx.kind == "activate" for i in (tx.bid_ids or [])}
        due = [i for i in k.store.due_bids(now) if i not in busy]
        if not due:
            return
        infos = k.rpc.batch([call(k.queue, abi.BID_INFO_OF.encode(i), k.tag) for i in due])
        ready, gone, active = [], [], []
        for bid_id, answer in zip(due, infos, strict=True):
            if isinstance(answer, RpcError):
                continue
            info = abi.BID_INFO_OF.decode(answer)
            if info.owner.lower() == ZERO_ADDRESS:
                gone.append(bid_id)  # retracted or spent, and deleted
            elif not info.pending:
                active.append(bid_id)  # someone else activated it
            elif info.activates_at <= now:
                ready.append(bid_id)
        if gone:
            k.store.set_bid_status(gone, "gone")
        if active:
            k.store.set_bid_status(active, "active")
        if not ready:
            return
        batches = [list(b) for b in _chunks(ready, min(100, k.config.activation_batch))]
        datas = [abi.ACTIVATE_BIDS.encode(b) for b in batches]
        reqs = []
        for ids, data, gas in zip(batches, datas, _estimate_gas(k, k.queue, datas), strict=True):
            if isinstance(gas, RpcError):
                # a race (someone activated one of them): the next step re-reads bid_info and drops it
                k.log.info("activation skipped", extra=fields(bids=ids, reason=gas.reason))
                continue
            reqs.append(TxRequest("activate", k.queue, data, gas, bid_ids=ids))
        if not reqs:
            return
        results = k.txs.send(reqs)
        sent = _record_sends(k, "activate", reqs, results)
        for req, result in zip(reqs, results, strict=True):
            if isinstance(result, str):
                k.log.warning("activation not sent", extra=fields(bids=req.bid_ids, reason=result))
        for tx in sent:
            k.log.info("activation sent", extra=fields(bids=tx.bid_ids, tx=tx.hashes[0]))
        report.activations_sent += len(sent)
        if sent and report.first_sent_at is None:
            report.first_sent_at = time.time()

    def on_outcome(self, o: Outcome, report: StepReport) -> None:
        if o.status == "mined":
            report.bids_activated += len(o.tx.bid_ids or [])


class BreakerStrategy:
    """Poke the oracle (`poke(asset)`) for every collateral whose circuit breaker is on.

    While an asset's breaker is on, liquidations against it pause when its price jumps beyond the tolerance
    from the last accepted price, and resume only once a poke, at least `confirmation_delay` after the poke
    that tripped the breaker, still sees the move. So the keeper pokes after every feed update (the accepted
    price follows moves within tolerance, and a jump starts its confirmation clock at once), whenever an
    asset reads paused without having tripped yet, and once a trip's delay has passed (the poke that accepts
    the new price). A mined poke schedules a full scan: liquidations may have resumed.
    """

    def __init__(self, keeper: Keeper) -> None:
        self.k = keeper
        self.oracle: str | None = None
        self.assets: list[str] | None = None  # collaterals whose breaker is on; None: read them again
        self.price_seen = False

    def run(self, report: StepReport) -> None:
        k = self.k
        assert k.rpc is not None and k.txs is not None
        if self.oracle is None:
            self.oracle = abi.ENGINE_ORACLE.decode(k.rpc.eth_call(k.engine, abi.ENGINE_ORACLE.encode(), k.tag))
        if self.assets is None:
            assets = k.collateral_assets()
            answers = k.rpc.batch([call(self.oracle, abi.TOLERANCE.encode(a), k.tag) for a in assets])
            self.assets = [
                a
                for a, t in zip(assets, answers, strict=True)
                if not isinstance(t, RpcError) and abi.TOLERANCE.decode(t)
            ]
        if not self.assets:
            self.price_seen = False
            return
        busy = {tx.req.collateral for tx in k.txs.inflight.values() if tx.kind == "poke" and tx.req is not None}
        assets = [a for a in self.assets if a not in busy]
        now = _hex(k.head.get("timestamp"))
        reads = []
        for a in assets:
            reads += [call(self.oracle, abi.BREAKER_STATUS_OF.encode(a), k.tag)]
            reads += [call(self.oracle, abi.LIQUIDATIONS_PAUSED.encode(a), k.tag)]
        answers = k.rpc.batch(reads)
        due = []
        for i, asset in enumerate(assets):
            status, paused = answers[2 * i], answers[2 * i + 1]
            if isinstance(status, RpcError) or isinstance(paused, RpcError):
                continue  # e.g. no valid price source right now: a poke would revert too
            s = abi.BREAKER_STATUS_OF.decode(status)
            jumped = abi.LIQUIDATIONS_PAUSED.decode(paused) and not s.tripped
            confirmable = s.tripped and s.confirmable_at <= now
            unanchored = s.last_accepted == 0  # just turned on: the first poke sets the price jumps count from
            if self.price_seen or jumped or confirmable or unanchored:
                due.append(asset)
        self.price_seen = False
        if not due:
            return
        datas = [abi.POKE.encode(a) for a in due]
        reqs = []
        for asset, data, gas in zip(due, datas, _estimate_gas(k, self.oracle, datas), strict=True):
            if isinstance(gas, RpcError):
                k.log.info("poke skipped", extra=fields(collateral=asset, reason=gas.reason))
                continue
            reqs.append(TxRequest("poke", self.oracle, data, gas, collateral=asset))
        if not reqs:
            return
        results = k.txs.send(reqs)
        sent = _record_sends(k, "poke", reqs, results)
        for tx in sent:
            k.log.info("poke sent", extra=fields(collateral=tx.req.collateral if tx.req else None, tx=tx.hashes[0]))
        report.pokes_sent += len(sent)

    def on_outcome(self, o: Outcome, report: StepReport) -> None:
        if o.status == "mined":
            self.k.liquidations.full_scan_needed()  # a confirmation may have resumed liquidations


class AuctionStrategy:
    """Drive the Dutch auctions the engine opens when the bid pools fall short.

    Every auction id the auction house has issued is followed until it has ended and been settled. Each step,
    in one batch, it reads `auction_info`, `auction_status` and the engine's `auction_booked` / `auction_of`
    for the open ones, and then:

    - `settle_auction(id)` when the auction raised base the engine has not booked yet, or has ended and
      still holds its account (so the account may be liquidated again, or its shortfall written off);
    - `redo(id, keeper)` when the auction is too old or too cheap (the incentive goes to the keeper);
    - `take(id, amount, price, keeper, "")` when `take_margin` is set and the auction price is at least that
      fraction below the reference (the oracle's collateral price in base), for the collateral the keeper's
      base pays for (capped by `take_budget`), with the current price as the most it pays. The keeper's
      allowance to the auction house is raised first (one `approve`).

    Each call is checked by `eth_estimateGas` first: one that would revert is logged and skipped.
    """

    def __init__(self, keeper: Keeper) -> None:
        self.k = keeper
        self.house = ""  # the engine's auction house; "" while there is none
        self.base = ""
        self.next_seen = 1
        self.open: set[int] = set()
        self.units: dict[str, int] = {}  # token -> 10**decimals
        self.approved = False

    def resolve(self) -> None:
        """Read the engine's auction house (it may be wired after the keeper starts)."""
        k = self.k
        assert k.rpc is not None
        house = abi.AUCTION_HOUSE.decode(k.rpc.eth_call(k.engine, abi.AUCTION_HOUSE.encode(), k.tag))
        if int(house, 16) != 0:
            self.house = to_checksum_address(house)
            self.base = abi.ENGINE_BASE_ASSET.decode(k.rpc.eth_call(k.engine, abi.ENGINE_BASE_ASSET.encode(), k.tag))

    def run(self, report: StepReport) -> None:
        k = self.k
        assert k.rpc is not None and k.txs is not None
        if not self.house:
            return  # `Keeper.step` looks for one once per step
        next_id = abi.NEXT_AUCTION_ID.decode(k.rpc.eth_call(self.house, abi.NEXT_AUCTION_ID.encode(), k.tag))
        self.open.update(range(self.next_seen, next_id))
        self.next_seen = max(self.next_seen, next_id)
        busy = {i for tx in k.txs.inflight.values() if tx.kind in ("take", "redo", "settle") for i in tx.bid_ids or []}
        ids = sorted(self.open - busy)
        if not ids or any(tx.kind == "approve" for tx in k.txs.inflight.values()):
            return
        reads = []
        for i in ids:
            reads.append(call(self.house, abi.AUCTION_INFO_OF.encode(i), k.tag))
            reads.append(call(self.house, abi.AUCTION_STATUS.encode(i), k.tag))
            reads.append(call(k.engine, abi.AUCTION_BOOKED.encode(i), k.tag))
        answers = k.rpc.batch(reads)
        infos = {}
        for n, i in enumerate(ids):
            info, status, booked = answers[3 * n : 3 * n + 3]
            if not any(isinstance(a, RpcError) for a in (info, status, booked)):
                infos[i] = (
                    abi.AUCTION_INFO_OF.decode(info),
                    abi.AUCTION_STATUS.decode(status),
                    abi.decode_uint(booked),
                )
        holders = k.rpc.batch([call(k.engine, abi.AUCTION_OF.encode(infos[i][0].account), k.tag) for i in infos])
        settles, redos, takes = [], [], []
        for (i, (info, status, booked)), holder in zip(infos.items(), holders, strict=True):
            held = not isinstance(holder, RpcError) and abi.decode_uint(holder) == i
            if info.raised > booked or (info.finished and held):
                settles.append(i)
            elif info.finished or not held:
                self.open.discard(i)  # ended and settled (or never the engine's): nothing left to do
            elif status[0]:
                redos.append(i)
            elif k.config.take_margin is not None:
                takes.append((i, info, status[1], status[2]))
        reqs = [TxRequest("settle", k.engine, abi.SETTLE_AUCTION.encode(i), 0, bid_ids=[i]) for i in settles]
        reqs += [TxRequest("redo", self.house, abi.REDO.encode(i, k.address), 0, bid_ids=[i]) for i in redos]
        reqs += self._takes(takes)
        self._send(reqs, report)

    def _takes(self, candidates: list[tuple[int, Any, int, int]]) -> list[TxRequest]:
        """Takes of the auctions priced at least `take_margin` below the reference, within the keeper's base."""
        k = self.k
        assert k.rpc is not None and k.txs is not None
        if not candidates:
            return []
        margin = k.config.take_margin or 0.0
        tokens = sorted({info.collateral for _, info, _, _ in candidates} | {self.base})
        for token in tokens:
            if token not in self.units:
                raw = k.rpc.eth_call(token, abi.DECIMALS.encode(), k.tag)
                self.units[token] = 10 ** abi.DECIMALS.decode(raw)
        oracle = k.breakers.oracle or abi.ENGINE_ORACLE.decode(k.rpc.eth_call(k.engine, abi.ENGINE_ORACLE.encode()))
        reads = [call(oracle, abi.PRICE.encode(t), k.tag) for t in tokens]
        reads.append(call(self.base, abi.BALANCE_OF.encode(k.address), k.tag))
        reads.append(call(self.base, abi.ALLOWANCE.encode(k.address, self.house), k.tag))
        answers = k.rpc.batch(reads)
        if any(isinstance(a, RpcError) for a in answers):
            return []  # a price we cannot read now: no reference, no take
        prices = {t: abi.decode_uint(a) for t, a in zip(tokens, answers, strict=False)}
        budget = abi.decode_uint(answers[-2])
        if k.config.take_budget:
            budget = min(budget, k.config.take_budget)
        if budget == 0:
            return []
        if abi.decode_uint(answers[-1]) < budget:
            return [TxRequest("approve", self.base, abi.APPROVE.encode(self.house, abi.MAX_UINT), 0)]
        reqs = []
        base_unit = self.units[self.base]
        for i, info, price, lot in candidates:
            reference = prices[info.collateral] * 10**18 // max(prices[self.base], 1)
            if price == 0 or price > reference * (1 - margin):
                continue
            unit = self.units[info.collateral]
            affordable = budget * unit * 10**18 // (price * base_unit)
            amount = min(lot, affordable)
            if amount == 0:
                continue
            budget -= min(budget, -(-amount * price * base_unit // (unit * 10**18)))
            data = abi.TAKE.encode(i, amount, price, k.address, b"")
            reqs.append(
                TxRequest("take", self.house, data, 0, account=info.account, collateral=info.collateral, bid_ids=[i])
            )
        return reqs

    def _send(self, reqs: list[TxRequest], report: StepReport) -> None:
        k = self.k
        assert k.txs is not None
        ready = []
        for req in reqs:
            gas = _estimate_gas(k, req.to, [req.data])[0]
            if isinstance(gas, RpcError):
                k.log.info(f"{req.kind} skipped", extra=fields(bids=req.bid_ids, reason=gas.reason))
                continue
            req.gas = gas
            ready.append(req)
        if not ready:
            return
        results = k.txs.send(ready)
        for kind in ("settle", "redo", "take", "approve"):
            pairs = [(q, r) for q, r in zip(ready, results, strict=True) if q.kind == kind]
            if not pairs:
                continue
            sent = _record_sends(k, kind, [q for q, _ in pairs], [r for _, r in pairs])
            for tx in sent:
                k.log.info(f"{kind} sent", extra=fields(bids=tx.bid_ids, account=tx.account, tx=tx.hashes[0]))
            counter = "approvals_sent" if kind == "approve" else f"{kind}s_sent"
            setattr(report, counter, getattr(report, counter) + len(sent))

    def on_outcome(self, o: Outcome, report: StepReport) -> None:
        if o.status == "mined" and o.tx.kind == "settle":
            self.k.liquidations.full_scan_needed()  # the account may be liquidatable again


# ---------------------------------------------------------------- the keeper


class Keeper:
    """One keeper instance: `startup()`, then `step()`, `run(stop)` or `run_once()`, then `shutdown()`."""

    def __init__(self, config: KeeperConfig) -> None:
        self.config = config
        self.signer = Signer(config.private_key)
        self.address = self.signer.address
        self.keeper_id = config.keeper_id or f"k-{self.address[2:10].lower()}"
        self.engine = to_checksum_address(config.engine)
        self.vault = to_checksum_address(config.vault)
        self.queue = to_checksum_address(config.queue)
        self.lens = to_checksum_address(config.lens)
        self.feeds = [to_checksum_address(f) for f in config.feeds]
        self.rpc: RpcClient | None = None
        self.store: Store | None = None
        self.txs: TxManager | None = None
        self.chain_id = 0
        self.borrowers: list[str] = []
        self.borrower_set: set[str] = set()
        self.positions: dict[str, set[str]] = {}  # account -> collateral assets it ever posted
        self.head: dict[str, Any] = {}  # the latest block at the start of the step
        self.tag = "latest"  # the block every read of the current step runs against
        self.log = _Adapter(log, {"keeper_id": self.keeper_id})
        self.liquidations = LiquidationStrategy(self)
        self.activations = BidActivationStrategy(self)
        self.breakers = BreakerStrategy(self)
        self.auctions = AuctionStrategy(self)
        # called with every StepReport (live tables, benchmarks); must not raise
        self.on_report: Callable[[StepReport], None] | None = None
        self._checkpoint = config.start_block - 1
        self._started = False
        self._lock = threading.Lock()

    # ------------------------------------------------------------ lifecycle

    def startup(self) -> None:
        """Connect and check the deployment, open the store, resync the nonce, schedule a full scan."""
        cfg = self.config
        self.rpc = RpcClient(
            cfg.rpc_url,
            timeout=cfg.rpc_timeout,
            max_attempts=cfg.rpc_attempts,
            workers=max(2, cfg.rpc_workers),
            on_retry=self._on_retry,
        )
        self.chain_id = _hex(self.rpc.request("eth_chainId"))
        for name, address in (
            ("engine", self.engine),
            ("vault", self.vault),
            ("queue", self.queue),
            ("lens", self.lens),
        ):
            if self.rpc.request("eth_getCode", [address, "latest"]) in (None, "0x", "0x0"):
                raise KeeperError(f"no contract at the {name} address {address} on chain {self.chain_id}")
        wired_vault = abi.ENGINE_VAULT.decode(self.rpc.eth_call(self.engine, abi.ENGINE_VAULT.encode()))
        wired_queue = abi.ENGINE_QUEUE.decode(self.rpc.eth_call(self.engine, abi.ENGINE_QUEUE.encode()))
        if (wired_vault.lower(), wired_queue.lower()) != (self.vault.lower(), self.queue.lower()):
            raise KeeperError("the engine is wired to another vault or queue than the configuration names")
        if (
            abi.LENS_ENGINE.decode(self.rpc.eth_call(self.lens, abi.LENS_ENGINE.encode())).lower()
            != self.engine.lower()
        ):
            raise KeeperError("the lens reads another engine than the configuration names")
        try:
            self.store = Store(cfg.db_path, self.keeper_id)
            self.store.bind(self.chain_id, self.engine)
        except StoreMismatch as exc:
            raise KeeperError(str(exc)) from exc
        self.borrowers = self.store.borrowers()
        self.borrower_set = set(self.borrowers)
        for account, asset in self.store.positions():
            self.positions.setdefault(account, set()).add(asset)
        stored = self.store.checkpoint()
        self._checkpoint = stored if stored is not None else cfg.start_block - 1
        self.txs = TxManager(self.rpc, self.signer, self.chain_id, cfg.fees, self.store, self.log)
        self.txs.observe_block(self.rpc.block("latest"))
        self.txs.adopt(self.store.open_actions())
        self.txs.sync_nonce()
        self.liquidations.full_scan_needed()
        self._started = True
        self.log.info(
            "started",
            extra=fields(
                address=self.address,
                chain_id=self.chain_id,
                checkpoint=self._checkpoint,
                borrowers=len(self.borrowers),
                resumed=stored is not None,
                in_flight=len(self.txs.inflight),
                nonce=self.txs.nonce,
                db=cfg.db_path,
            ),
        )

    def shutdown(self, grace: float = 3.0) -> None:
        """Collect the receipts that arrive within `grace` seconds, then flush and close the store."""
        if self.rpc is not None:
            self.rpc.abort = None
        try:
            deadline = time.time() + grace
            while self.txs is not None and self.txs.inflight and time.time() < deadline:
                self.record_outcomes(self.txs.poll(), StepReport())
                if self.txs.inflight:
                    time.sleep(0.1)
        except (RpcError, TransportError) as exc:
            self.log.warning("could not collect receipts at shutdown", extra=fields(error=str(exc)))
        finally:
            if self.store is not None:
                self.store.close()
                self.store = None
            if self.rpc is not None:
                self.rpc.close()
            self._started = False
            self.log.info("stopped")

    def run(self, stop: threading.Event) -> None:
        """Step every `poll_interval` seconds until `stop` is set; errors back off, never end the loop."""
        assert self.rpc is not None, "call startup() first"
        self.rpc.abort = stop
        failures = 0
        while not stop.is_set():
            report = self.step(stop)
            failures = failures + 1 if report.errors else 0
            if report.did_work and not failures:
                continue  # a liquidation may leave its account liquidatable (close ratio): look again at once
            delay = self.config.poll_interval * (2 ** min(failures, 5) if failures else 1)
            stop.wait(min(delay, 30.0))

    def run_once(self, max_rounds: int = 10) -> StepReport:
        """One full cycle for cron use: backfill, scan, liquidate, activate, wait for the receipts.

        Accounts a liquidation left liquidatable (close ratio) are taken again, for up to
        `max_rounds` rounds; `complete` says whether the last round ran without RPC errors.
        """
        assert self.txs is not None, "call startup() first"
        total = StepReport(keeper_id=self.keeper_id)
        report = total
        for _ in range(max_rounds):
            report = self.step()
            total.merge(report)
            self.drain(self.config.receipt_timeout, total)
            # done when a round sent nothing and saw nothing of ours land (which would need a recheck)
            if report.complete and not report.did_work and not report.liquidations_mined:
                break
        total.complete = report.complete and not self.txs.inflight
        return total

    def drain(self, timeout: float, report: StepReport | None = None) -> None:
        """Wait up to `timeout` seconds for every transaction in flight to resolve."""
        assert self.txs is not None
        deadline = time.time() + timeout
        report = report or StepReport()
        while self.txs.inflight and time.time() < deadline:
            try:
                self.record_outcomes(self.txs.poll(), report)
            except (RpcError, TransportError) as exc:
                report.errors.append(f"receipts: {exc}")
            if self.txs.inflight:
                time.sleep(0.05)

    def scan(self, accounts: Sequence[str] | None = None) -> list[str]:
        """The liquidatable ones among `accounts` (default: every known borrower) at the latest block."""
        with self._lock:
            self.tag = "latest"
            return self.liquidations.scan(accounts)

    @property
    def batch_size(self) -> int:
        return self.liquidations.batch_size

    def collateral_assets(self) -> list[str]:
        assert self.rpc is not None
        listed = abi.COLLATERAL_ASSETS.decode(self.rpc.eth_call(self.vault, abi.COLLATERAL_ASSETS.encode()))
        return [to_checksum_address(a) for a in listed]

    def _on_retry(self, label: str, exc: Exception, attempt: int) -> None:
        level = logging.DEBUG if attempt < 3 else logging.WARNING
        self.log.log(level, "rpc retry", extra=fields(call=label, attempt=attempt, error=str(exc)[:200]))

    # ------------------------------------------------------------ one step

    def step(self, stop: threading.Event | None = None) -> StepReport:
        """One cycle: poll logs, collect receipts, scan if needed, liquidate, activate due bids."""
        assert self._started, "call startup() first"
        assert self.rpc is not None and self.txs is not None
        with self._lock:
            started = time.time()
            report = StepReport(keeper_id=self.keeper_id)
            bumps_before = self.txs.bumps
            try:
                # receipts first, then the head: the head then includes every block a receipt names
                self.record_outcomes(self.txs.poll(), report)
                head = self.rpc.block("latest")
                self.head = head
                report.block = _hex(head["number"])
                # every read of this step sees this block: one consistent state for scan, previews and
                # simulations (and, on an automining dev node, fewer calls that meet a block being written)
                self.tag = head["number"]
                self.txs.observe_block(head)
                self._poll_logs(report.block, report)
                if self.config.liquidate:
                    self.breakers.run(report)
                if self.config.auctions and not self.auctions.house:
                    self.auctions.resolve()
                if self.config.liquidate:
                    self.liquidations.run(report, stop)
                if self.config.auctions and not (stop is not None and stop.is_set()):
                    self.auctions.run(report)
                if self.config.activate and not (stop is not None and stop.is_set()):
                    self.activations.run(report)
                if self.txs.inflight:
                    self.record_outcomes(self.txs.poll(), report)
                report.complete = True
            except (RpcError, TransportError) as exc:
                report.errors.append(f"{exc.__class__.__name__}: {exc}")
                self.log.warning("step failed, will retry", extra=fields(error=str(exc)[:300]))
            except KeeperError:
                raise
            except Exception as exc:  # a keeper must outlive surprises: log them loudly and go on
                report.errors.append(f"{exc.__class__.__name__}: {exc}")
                self.log.exception("unexpected error in step")
            report.bumped = self.txs.bumps - bumps_before
            report.seconds = time.time() - started
            level = logging.INFO if report.did_work or report.errors or report.liquidatable else logging.DEBUG
            self.log.log(level, "step", extra=fields(**_brief(report)))
            if self.on_report is not None:
                self.on_report(report)
            return report

    def record_outcomes(self, outcomes: list[Outcome], report: StepReport) -> None:
        """Hand resolved transactions to their strategy, update the actions log, log them."""
        if not outcomes or self.store is None:
            return
        updates = []
        for o in outcomes:
            tx = o.tx
            report.gas_used += o.gas_used
            if tx.kind == "liquidate":
                self.liquidations.on_outcome(o, report)
            elif tx.kind == "activate":
                self.activations.on_outcome(o, report)
            elif tx.kind == "poke":
                self.breakers.on_outcome(o, report)
            elif tx.kind in ("take", "redo", "settle", "approve"):
                self.auctions.on_outcome(o, report)
            if tx.action_id is not None:
                detail = {"tx_hash": tx.hashes[-1], "gas_used": o.gas_used or None, "block": o.block or None}
                updates.append((tx.action_id, o.status, {**detail, "detail": o.reason or None}))
            level = logging.INFO if o.status in ("mined", "skipped") else logging.WARNING
            self.log.log(
                level,
                f"{tx.kind} {o.status}",
                extra=fields(
                    account=tx.account, bids=tx.bid_ids, tx=tx.hashes[-1], gas_used=o.gas_used, reason=o.reason
                ),
            )
        if updates:
            self.store.update_actions(updates)

    # ------------------------------------------------------------ discovery (logs)

    def _poll_logs(self, head: int, report: StepReport) -> None:
        """Read the logs from the checkpoint to `head` in chunks; each chunk commits with its checkpoint."""
        assert self.rpc is not None and self.store is not None
        if head <= self._checkpoint:
            return
        # re-read the last `reorg_depth` blocks: logs of a replaced block come back in its successor
        frm = max(self.config.start_block, self._checkpoint + 1 - self.config.reorg_depth)
        chunk = self.config.log_chunk_blocks
        vault, queue, engine = self.vault.lower(), self.queue.lower(), self.engine.lower()
        feed_set = {f.lower() for f in self.feeds}
        topics = [
            abi.COLLATERAL_ADDED.topic,
            abi.BORROWED.topic,
            abi.BID_SUBMITTED.topic,
            abi.BID_ACTIVATED.topic,
            abi.ANSWER_UPDATED.topic,
            abi.NEW_ROUND.topic,
            abi.COLLATERAL_CONFIGURED.topic,
            abi.RISK_LIMITS_SET.topic,
        ]
        addresses = [self.vault, self.queue, self.engine, *self.feeds]
        while frm <= head:
            to = min(head, frm + chunk - 1)
            query = {"fromBlock": hex(frm), "toBlock": hex(to), "address": addresses, "topics": [topics]}
            try:
                logs = self.rpc.request("eth_getLogs", [query]) or []
            except RpcError as exc:
                if chunk > 1 and any(w in exc.message.lower() for w in ("range", "limit", "too many", "exceed")):
                    chunk = max(1, chunk // 2)  # the node caps ranges or results: smaller chunks
                    continue
                raise
            borrowers: list[tuple[str, int]] = []
            positions: list[tuple[str, str]] = []
            bids: list[tuple[int, str, int, str, int]] = []
            activated: list[int] = []
            for entry in logs:
                if entry.get("removed"):
                    continue
                topic0, source = entry["topics"][0], entry["address"].lower()
                block = _hex(entry["blockNumber"])
                if source == vault and topic0 in (abi.COLLATERAL_ADDED.topic, abi.BORROWED.topic):
                    account = to_checksum_address("0x" + entry["topics"][1][-40:])
                    if account not in self.borrower_set:
                        borrowers.append((account, block))
                        self.borrower_set.add(account)
                    if topic0 == abi.COLLATERAL_ADDED.topic:
                        asset = to_checksum_address("0x" + entry["topics"][2][-40:])
                        held = self.positions.setdefault(account, set())
                        if asset not in held:
                            held.add(asset)
                            positions.append((account, asset))
                elif source == engine and topic0 in (abi.COLLATERAL_CONFIGURED.topic, abi.RISK_LIMITS_SET.topic):
                    self.liquidations.full_scan_needed()  # thresholds moved
                    self.liquidations.refresh_assets = True
                    self.breakers.assets = None
                elif source == queue and topic0 == abi.BID_SUBMITTED.topic:
                    event = abi.BID_SUBMITTED.decode(entry)
                    if event["immediate"]:
                        self.liquidations.liquidity_arrived(block)
                    else:
                        bids.append((event["bid_id"], event["collateral"], event["activates_at"], "pending", block))
                elif source == queue and topic0 == abi.BID_ACTIVATED.topic:
                    activated.append(int(entry["topics"][1], 16))
                    self.liquidations.liquidity_arrived(block)
                elif source in feed_set:
                    report.price_updates += topic0 == abi.ANSWER_UPDATED.topic
                    self.liquidations.full_scan_needed()
                    self.breakers.price_seen = True
            self.store.apply_logs(to, borrowers, bids, activated, positions)
            self.borrowers.extend(a for a, _ in borrowers)
            self.liquidations.recheck.update(a for a, _ in borrowers)
            report.logs += len(logs)
            report.new_borrowers += len(borrowers)
            report.new_bids += len(bids)
            self._checkpoint = to
            frm = to + 1


class _Adapter(logging.LoggerAdapter):
    """Adds the keeper id to every record and keeps the record's own `extra` (3.11 would drop it)."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        kwargs["extra"] = {**(self.extra or {}), **(kwargs.get("extra") or {})}
        return msg, kwargs


def _brief(report: StepReport) -> dict[str, Any]:
    """The non-empty fields of a report, for a log line."""
    keep = {}
    for k, v in report.to_dict().items():
        if k in ("keeper_id", "first_sent_at", "last_mined_at") or v in (0, 0.0, False, None, []):
            continue
        keep[k] = round(v, 3) if isinstance(v, float) else v
    return keep


# ---------------------------------------------------------------- command line


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m ala.keeper", description="ALA liquidation and bid-activation keeper")
    p.add_argument("--rpc-url", required=True, help="HTTP JSON-RPC endpoint")
    p.add_argument("--deployment", required=True, help="deployment JSON written by ala.deploy.write_deployment")
    p.add_argument("--key-env", default="ALA_KEEPER_PRIVATE_KEY", help="environment variable holding the hex key")
    add_common_options(p)
    return p.parse_args(argv)


def add_common_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default="keeper.sqlite", help="SQLite store (default: ./keeper.sqlite)")
    p.add_argument("--keeper-id", default="", help="instance id in logs and the store (default: from the address)")
    p.add_argument(
        "--once", action="store_true", help="one full cycle (backfill, scan, liquidate, activate), then exit"
    )
    p.add_argument("--json", action="store_true", help="JSON-lines logs and report")
    p.add_argument("-v", "--verbose", action="count", default=0, help="-v: actions, -vv: debug")
    p.add_argument("--poll-interval", type=float, default=1.0)
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--scan-every-blocks", type=int, default=20)
    p.add_argument("--reorg-depth", type=int, default=0, help="blocks of logs re-read on every poll")
    p.add_argument("--max-liquidations-per-step", type=int, default=0)
    p.add_argument("--priority-fee-gwei", type=float, default=1.0)
    p.add_argument("--max-fee-gwei", type=float, default=500.0)
    p.add_argument("--base-fee-multiplier", type=float, default=2.0)
    p.add_argument("--bump-after", type=float, default=30.0, help="seconds before a pending transaction is re-priced")
    p.add_argument("--rpc-timeout", type=float, default=10.0)
    p.add_argument("--no-activate", action="store_true", help="do not activate due bids")
    p.add_argument("--no-liquidate", action="store_true", help="do not liquidate")
    p.add_argument("--no-auctions", action="store_true", help="do not settle, redo or take Dutch auctions")
    p.add_argument(
        "--take-margin",
        type=float,
        default=None,
        help="take auctioned collateral priced at least this fraction below the oracle (default: never take)",
    )
    p.add_argument("--take-budget", type=int, default=0, help="base units per take (default: the whole balance)")


def config_from_args(args: argparse.Namespace, *, rpc_url: str, deployment: Any, private_key: str) -> KeeperConfig:
    if args.take_margin is not None and not 0 <= args.take_margin < 1:
        raise ValueError(f"--take-margin must be a fraction in [0, 1), got {args.take_margin}")
    if args.take_budget < 0:
        raise ValueError(f"--take-budget must not be negative, got {args.take_budget}")
    return KeeperConfig.from_deployment(
        deployment,
        rpc_url=rpc_url,
        private_key=private_key,
        db_path=args.db,
        keeper_id=args.keeper_id,
        poll_interval=args.poll_interval,
        batch_size=args.batch_size,
        scan_every_blocks=args.scan_every_blocks,
        reorg_depth=args.reorg_depth,
        max_liquidations_per_step=args.max_liquidations_per_step,
        rpc_timeout=args.rpc_timeout,
        liquidate=not args.no_liquidate,
        activate=not args.no_activate,
        auctions=not args.no_auctions,
        take_margin=args.take_margin,
        take_budget=args.take_budget,
        fees=FeeConfig(
            priority_fee=int(args.priority_fee_gwei * GWEI),
            max_fee=int(args.max_fee_gwei * GWEI),
            base_fee_multiplier=args.base_fee_multiplier,
            bump_after=args.bump_after,
        ),
    )


def serve(config: KeeperConfig, *, once: bool, json_lines: bool, verbosity: int) -> int:
    """Run a keeper until SIGINT/SIGTERM (or one cycle with `once`); the exit code."""
    from ala import logs

    keeper = Keeper(config)
    logs.setup(json_lines=json_lines, verbosity=verbosity, keeper_id=keeper.keeper_id)
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        keeper.log.info("stopping", extra=fields(signal=signal.Signals(signum).name))
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    # the node may not be up yet: retry the startup (configuration errors end it)
    delay = 0.5
    while True:
        try:
            keeper.startup()
            break
        except KeeperError as exc:
            keeper.log.error("configuration error", extra=fields(error=str(exc)))
            return 2
        except (RpcError, TransportError) as exc:
            if once or stop.is_set():
                keeper.log.error("could not start", extra=fields(error=str(exc)))
                return 1
            keeper.log.warning("node unreachable, retrying", extra=fields(error=str(exc)[:200]))
            if stop.wait(delay):
                return 0
            delay = min(delay * 2, 30.0)
    code = 0
    try:
        if once:
            report = keeper.run_once()
            code = 0 if report.complete else 1
            out = report.to_dict()
            print(
                json.dumps(out) if json_lines else " ".join(f"{k}={v}" for k, v in _brief(report).items()), flush=True
            )
        else:
            keeper.run(stop)
    finally:
        keeper.shutdown()
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    key = os.environ.get(args.key_env, "")
    if not key:
        print(f"no private key: set {args.key_env}", file=sys.stderr)
        return 2
    try:
        config = config_from_args(args, rpc_url=args.rpc_url, deployment=args.deployment, private_key=key)
        Signer(config.private_key)  # a malformed key fails here, with a message that does not echo it
    except (OSError, KeyError, ValueError) as exc:
        print(f"configuration error: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 2
    return serve(config, once=args.once, json_lines=args.json, verbosity=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
