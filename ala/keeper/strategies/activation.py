"""Bid activation: `activate_bids` for bids whose waiting period is over."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from eth_utils import keccak

from ala import abi
from ala.keeper.config import ZERO_ADDRESS, chunks, hex_int
from ala.keeper.report import StepReport
from ala.keeper.sender import Outcome, TxRequest
from ala.keeper.strategies import estimate_gas, record_sends
from ala.logs import fields
from ala.rpc import RpcError

if TYPE_CHECKING:
    from ala.keeper.runner import Keeper


# how long a claim on a bid in a shared store holds when its holder goes silent (seconds, wall clock: the
# claim is read by other processes)
CLAIM_SECONDS = 120.0


class BidActivationStrategy:
    """Activate bids whose waiting period is over (`activate_bids(ids[<=100])`), checked against `bid_info`.

    Two keepers must not both pay for the same activation. Keepers that share a store file claim each bid in
    it first (one SQLite transaction: exactly one wins); keepers with files of their own wait a delay of
    their own per bid (`activation_stagger` x a hash of keeper id and bid id), so that the first one's
    activation is usually mined before the second one looks, and then `bid_info` says it is active.
    """

    def __init__(self, keeper: Keeper) -> None:
        self.k = keeper

    def delay(self, bid_id: int) -> float:
        """Seconds after a bid is due before this keeper activates it."""
        stagger = self.k.config.activation_stagger
        if stagger <= 0:
            return 0.0
        digest = keccak(self.k.keeper_id.encode() + bid_id.to_bytes(32, "big"))
        return stagger * int.from_bytes(digest[:8], "big") / 2**64

    def run(self, report: StepReport) -> None:
        k = self.k
        assert k.rpc is not None and k.store is not None and k.txs is not None
        now = hex_int(k.head.get("timestamp"))
        busy = {i for tx in k.txs.inflight.values() if tx.kind == "activate" for i in (tx.bid_ids or [])}
        due = [i for i in k.store.due_bids(now) if i not in busy]
        if not due:
            return
        infos = k.rpc.batch([k.chain.bid_info(i) for i in due])
        ready, gone, active = [], [], []
        for bid_id, answer in zip(due, infos, strict=True):
            if isinstance(answer, RpcError):
                continue
            info = abi.BID_INFO_OF.decode(answer)
            if info.owner.lower() == ZERO_ADDRESS:
                gone.append(bid_id)  # retracted or spent, and deleted
            elif not info.pending:
                active.append(bid_id)  # someone else activated it
            elif info.activates_at + self.delay(bid_id) <= now:
                ready.append(bid_id)
        if gone:
            k.store.set_bid_status(gone, "gone")
        if active:
            k.store.set_bid_status(active, "active")
        if ready:
            won = set(k.store.claim("activate", ready, k.keeper_id, CLAIM_SECONDS))
            lost = [i for i in ready if i not in won]
            if lost:
                k.log.debug("activation claimed by another keeper", extra=fields(bids=lost))
            ready = [i for i in ready if i in won]
        if not ready:
            return
        batches = [list(b) for b in chunks(ready, min(100, k.config.activation_batch))]
        datas = [k.chain.activate_bids(b)[1] for b in batches]
        reqs = []
        for ids, data, gas in zip(batches, datas, estimate_gas(k, k.chain.queue, datas), strict=True):
            if isinstance(gas, RpcError):
                # a race (someone activated one of them): the next step re-reads bid_info and drops it
                k.log.info("activation skipped", extra=fields(bids=ids, reason=gas.reason))
                continue
            reqs.append(TxRequest("activate", k.chain.queue, data, gas, bid_ids=ids))
        if not reqs:
            return
        results = k.txs.send(reqs)
        sent = record_sends(k, "activate", reqs, results)
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
        elif self.k.store is not None:
            self.k.store.release("activate", o.tx.bid_ids or [], self.k.keeper_id)  # another keeper may try
