"""Transactions of one key: local nonces, EIP-1559 fees, batched sends, receipts, bumps, gap fillers.

Fees: the tip is the `reward_percentile` of the priority fees paid in the last `fee_history_blocks` blocks
(`eth_feeHistory`), within [`priority_fee`, `max_priority_fee`]; the max fee is the latest base fee times
`base_fee_multiplier` (more when our own burst fills blocks) plus the tip, never above `max_fee`. A transaction
still pending after `bump_after` seconds or `bump_after_blocks` blocks is replaced at the same nonce with the
larger of +`bump_percent` and the market price of the moment.

Nothing signed is ever forgotten: a transaction is in flight from the moment it is signed, with its raw bytes,
so a send batch lost in transport (the node may or may not have received it) is sent again, and every hash a
transaction had (bumps included) is written to the store, so a restart recognises whichever one was mined.
Intervals are measured with `time.monotonic()`.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ala.keeper.config import KNOWN_WORDS, NONCE_WORDS, FeeConfig, hex_int, is_race, log
from ala.keeper.store import Store
from ala.logs import fields
from ala.rpc import RpcClient, RpcError, Signer, TransportError

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
    # the signed bytes of the latest hash, sent again while the node has not acknowledged them
    raw: str = ""
    # the node answered the send (accepted, or "already known"); False after a send lost in transport
    acked: bool = True
    # the head when the latest version was sent (bumps count blocks as well as seconds)
    sent_block: int = 0


@dataclass
class Outcome:
    """A transaction that left the in-flight set, with how it ended."""

    tx: InFlight
    status: str  # mined | reverted | skipped | dropped
    gas_used: int = 0
    block: int = 0
    reason: str = ""
    # the hash that was mined (a bump's, or the original)
    tx_hash: str = ""


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
        self.head = 0  # number of the latest block seen
        # the market tip from eth_feeHistory (None until read), and when it was read (monotonic seconds)
        self.market_tip: int | None = None
        self._tip_read_at = -math.inf
        self.clock = time.monotonic

    # ------------------------------------------------------------ state

    def sync_nonce(self) -> int:
        pending = hex_int(self.rpc.request("eth_getTransactionCount", [self.signer.address, "pending"]))
        floor = max(self.inflight, default=-1) + 1
        self.nonce = max(pending, floor)
        return self.nonce

    def observe_block(self, block: dict) -> None:
        fee = block.get("baseFeePerGas")
        self.base_fee = hex_int(fee) if fee is not None else None
        self.gas_cap = hex_int(block.get("gasLimit")) or self.gas_cap
        self.head = hex_int(block.get("number")) or self.head

    def tip(self) -> int:
        """The priority fee per gas to offer now: a percentile of recent blocks' tips, within the configured bounds.

        `eth_feeHistory` is read at most every `fee_history_seconds`; a node without it leaves the floor.
        """
        f = self.fees
        now = self.clock()
        if f.fee_history_blocks > 0 and now - self._tip_read_at >= f.fee_history_seconds:
            self._tip_read_at = now
            try:
                history = self.rpc.request(
                    "eth_feeHistory", [hex(f.fee_history_blocks), "latest", [f.reward_percentile]]
                )
                rewards = [hex_int(r[0]) for r in (history or {}).get("reward") or [] if r]
                self.market_tip = sorted(rewards)[len(rewards) // 2] if rewards else None
            except RpcError as exc:
                self.log.debug("no fee history", extra=fields(reason=exc.reason))
                self.market_tip = None
        tip = max(f.priority_fee, self.market_tip or 0)
        return min(tip, f.max_priority_fee)

    def adopt(self, rows: list[dict[str, Any]]) -> None:
        """Transactions a previous run sent and never saw resolve: watch those the node knows of.

        They cannot be re-signed (the calldata is not stored), so a stuck one is replaced by a
        zero-value self-transfer; one the node has never heard of is recorded as dropped.
        """
        rows = [r for r in rows if r.get("tx_hash") and r.get("nonce") is not None]
        hashes = {r["id"]: json.loads(r.get("tx_hashes") or "[]") or [r["tx_hash"]] for r in rows}
        calls = [
            (m, [h])
            for r in rows
            for h in hashes[r["id"]]
            for m in ("eth_getTransactionReceipt", "eth_getTransactionByHash")
        ]
        answers = iter(self.rpc.batch(calls))
        dropped = []
        for row in rows:
            seen = False
            for _ in hashes[row["id"]]:
                receipt, known = next(answers), next(answers)
                seen = seen or isinstance(receipt, dict) or isinstance(known, dict)
            if not seen:
                dropped.append((row["id"], "dropped", {"detail": "unknown to the node after a restart"}))
                continue
            self.inflight[row["nonce"]] = InFlight(
                req=None,
                nonce=row["nonce"],
                max_fee=0,
                priority_fee=0,
                hashes=hashes[row["id"]],
                sent_at=self.clock(),
                sent_block=self.head,
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
            gas_price = min(hex_int(self.rpc.request("eth_gasPrice")), cap)
            return gas_price, gas_price
        burst = extra_gas + sum(tx.req.gas for tx in self.inflight.values() if tx.req is not None)
        multiplier = max(self.fees.base_fee_multiplier, 1.125 ** (math.ceil(burst / max(1, self.gas_cap)) + 1))
        tip = self.tip()
        max_fee = min(int(self.base_fee * multiplier) + tip, cap)
        if self.base_fee > cap:
            self.log.warning("base fee above the fee cap", extra=fields(base_fee=self.base_fee, max_fee=cap))
        return max_fee, min(tip, max_fee)

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
        now = self.clock()
        try:
            answers = self.rpc.batch([("eth_sendRawTransaction", [raw]) for _, _, raw, _ in signed])
        except TransportError as exc:
            # the node may have received none, some or all of them: every one stays in flight with its raw
            # bytes and is sent again by `poll` until the node knows it (the nonces stay spoken for)
            self.log.warning("send batch lost in transport", extra=fields(txs=len(signed), error=str(exc)[:200]))
            lost: list[InFlight | str] = []
            for req, nonce, raw, tx_hash in signed:
                tx = self._track(req, nonce, max_fee, priority, tx_hash, raw, now)
                tx.acked = False
                lost.append(tx)
            return lost
        out: list[InFlight | str] = []
        rejected: list[tuple[int, str]] = []
        nonce_trouble = False
        signed_raw = {nonce: raw for _, nonce, raw, _ in signed}
        for (req, nonce, _, tx_hash), answer in zip(signed, answers, strict=True):
            if isinstance(answer, RpcError) and not self._accepted_anyway(answer, tx_hash):
                reason = answer.reason
                nonce_trouble |= any(w in reason.lower() for w in NONCE_WORDS)
                rejected.append((nonce, reason))
                out.append(reason)
                continue
            out.append(self._track(req, nonce, max_fee, priority, tx_hash, signed_raw[nonce], now))
        if rejected:
            accepted = [tx.nonce for tx in out if isinstance(tx, InFlight)]
            self._repair(signed[0][1], accepted, rejected, nonce_trouble)
            again = [i for i, r in enumerate(out) if isinstance(r, str) and any(w in r.lower() for w in NONCE_WORDS)]
            if again and retry_nonce_errors:
                for i, result in zip(again, self.send([reqs[i] for i in again], retry_nonce_errors=False), strict=True):
                    out[i] = result
        return out

    def _track(
        self, req: TxRequest, nonce: int, max_fee: int, priority: int, tx_hash: str, raw: str, now: float
    ) -> InFlight:
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
            raw=raw,
            sent_block=self.head,
        )
        self.inflight[nonce] = tx
        return tx

    def _accepted_anyway(self, err: RpcError, tx_hash: str) -> bool:
        """A retried send whose first attempt got through answers "already known" or "nonce too low"."""
        text = err.message.lower()
        if any(w in text for w in KNOWN_WORDS):
            return True
        if any(w in text for w in NONCE_WORDS):
            try:
                return self.rpc.request("eth_getTransactionByHash", [tx_hash]) is not None
            except (RpcError, TransportError):
                return False
        return False

    def _repair(self, first: int, accepted: list[int], rejected: list[tuple[int, str]], nonce_trouble: bool) -> None:
        """After rejected sends: fill the nonce gaps they left below accepted ones, and set the next nonce."""
        top = max(accepted, default=-1)
        gaps = [n for n, reason in rejected if n < top and not any(w in reason.lower() for w in NONCE_WORDS)]
        for nonce in gaps:
            self._fill(nonce)
        # rejected nonces above every accepted one were never used: hand them out again
        self.nonce = max(top + 1, first)
        if nonce_trouble:
            pending = hex_int(self.rpc.request("eth_getTransactionCount", [self.signer.address, "pending"]))
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
        self.inflight[nonce] = InFlight(
            req, nonce, max_fee, priority, [tx_hash], self.clock(), kind="filler", raw=raw, sent_block=self.head
        )
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
            receipt, mined_hash = None, ""
            for h in tx.hashes:
                answer = next(answers)
                if isinstance(answer, dict) and answer.get("blockNumber"):
                    receipt, mined_hash = answer, answer.get("transactionHash") or h
            if receipt is None:
                unresolved.append(tx)
                continue
            del self.inflight[tx.nonce]
            status = "mined" if hex_int(receipt.get("status")) == 1 else "reverted"
            outcome = Outcome(
                tx, status, hex_int(receipt.get("gasUsed")), hex_int(receipt.get("blockNumber")), tx_hash=mined_hash
            )
            if status == "reverted":
                outcome.reason = self._replay(tx)
                if is_race(outcome.reason):
                    outcome.status = "skipped"
            outcomes.append(outcome)
        if unresolved:
            self._resend_unacked([tx for tx in unresolved if not tx.acked])
            outcomes.extend(self._check_stuck(unresolved))
        return outcomes

    def _resend_unacked(self, txs: list[InFlight]) -> None:
        """Send again what a lost batch may not have delivered; "already known" and success both acknowledge."""
        if not txs:
            return
        answers = self.rpc.batch([("eth_sendRawTransaction", [tx.raw]) for tx in txs])
        for tx, answer in zip(txs, answers, strict=True):
            if not isinstance(answer, RpcError) or self._accepted_anyway(answer, tx.hashes[-1]):
                tx.acked = True
                self.log.info("resent after a lost batch", extra=fields(nonce=tx.nonce, tx=tx.hashes[-1]))
            elif any(w in answer.reason.lower() for w in NONCE_WORDS):
                tx.acked = True  # the nonce is used: the receipt or `_check_stuck` settles it
            else:
                self.log.warning("resend refused", extra=fields(nonce=tx.nonce, reason=answer.reason))

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
        now = self.clock()
        outcomes: list[Outcome] = []
        mined_count = None
        if any(self._due(tx, now) for tx in txs):
            mined_count = hex_int(self.rpc.request("eth_getTransactionCount", [self.signer.address, "latest"]))
            lowest = min(self.inflight, default=mined_count)
            for nonce in range(mined_count, min(lowest, mined_count + 16)):
                self._fill(nonce)  # nobody holds these nonces (a lost send, a node restart)
        for tx in txs:
            if not self._due(tx, now):
                continue
            if mined_count is None:
                mined_count = hex_int(self.rpc.request("eth_getTransactionCount", [self.signer.address, "latest"]))
            if tx.nonce < mined_count:
                # the nonce is used but none of our hashes has a receipt: replaced or dropped
                tx.unseen_polls += 1
                if tx.unseen_polls >= 3:
                    del self.inflight[tx.nonce]
                    outcomes.append(Outcome(tx, "dropped", reason="nonce used by another transaction"))
                continue
            self._bump(tx)
        return outcomes

    def _due(self, tx: InFlight, now: float) -> bool:
        """Pending long enough to re-price: `bump_after` seconds or `bump_after_blocks` blocks."""
        waited_blocks = self.head - tx.sent_block if tx.sent_block else 0
        blocks = self.fees.bump_after_blocks
        return now - tx.sent_at >= self.fees.bump_after or (blocks > 0 and waited_blocks >= blocks)

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
            tx.sent_at, tx.sent_block = self.clock(), self.head
            return
        raw, tx_hash = self._sign(req, tx.nonce, new_max, new_priority)
        try:
            self.rpc.request("eth_sendRawTransaction", [raw])
        except RpcError as exc:
            if not self._accepted_anyway(exc, tx_hash):
                self.log.info("replacement refused", extra=fields(nonce=tx.nonce, reason=exc.reason))
                tx.sent_at, tx.sent_block = self.clock(), self.head
                return
        tx.hashes.append(tx_hash)
        tx.raw = raw
        tx.max_fee, tx.priority_fee = new_max, new_priority
        tx.bumps = max(tx.bumps, 0) + 1
        tx.sent_at, tx.sent_block = self.clock(), self.head
        self.bumps += 1
        if tx.action_id is not None:
            # the replacement may be the one mined: a restart must know every hash
            self.store.set_tx_hashes(tx.action_id, tx.hashes)
        self.log.info(
            "fee bumped", extra=fields(nonce=tx.nonce, tx=tx_hash, max_fee=new_max, priority_fee=new_priority)
        )
