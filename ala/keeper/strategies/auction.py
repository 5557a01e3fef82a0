"""Dutch auctions: settle, redo and (with a margin) take."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address

from ala import abi
from ala.keeper.report import StepReport
from ala.keeper.sender import Outcome, TxRequest
from ala.keeper.strategies import estimate_gas, record_sends
from ala.logs import fields
from ala.rpc import RpcError

if TYPE_CHECKING:
    from ala.keeper.runner import Keeper


class AuctionStrategy:
    """Drive the Dutch auctions the engine opens when the bid pools fall short.

    Every auction id the auction house has issued is followed until it has ended and been settled. Each step,
    in one batch, it reads `auction_info`, `auction_status` and the settlement's `auction_booked` / `auction_of`
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
        self.stale = True  # read the house at the next step: at start, then on the engine's AuctionsSet
        self.base = ""
        self.next_seen = 1
        self.open: set[int] = set()
        self.units: dict[str, int] = {}  # token -> 10**decimals
        self.approved = False

    def resolve(self) -> None:
        """Read the house of the engine's auction settlement (it may be wired after the keeper starts)."""
        k = self.k
        assert k.rpc is not None
        house = k.chain.auction_house()
        self.stale = False
        if int(house, 16) != 0:  # the engine takes a house once and for good
            self.house = to_checksum_address(house)
            self.base = k.chain.base_asset()

    def run(self, report: StepReport) -> None:
        k = self.k
        assert k.rpc is not None and k.txs is not None
        if not self.house:
            return  # `Keeper.step` looks for one once per step
        next_id = k.chain.next_auction_id(self.house)
        self.open.update(range(self.next_seen, next_id))
        self.next_seen = max(self.next_seen, next_id)
        busy = {i for tx in k.txs.inflight.values() if tx.kind in ("take", "redo", "settle") for i in tx.bid_ids or []}
        ids = sorted(self.open - busy)
        if not ids or any(tx.kind == "approve" for tx in k.txs.inflight.values()):
            return
        reads = []
        for i in ids:
            reads.append(k.chain.auction_info(self.house, i))
            reads.append(k.chain.auction_status(self.house, i))
            reads.append(k.chain.auction_booked(i))
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
        holders = k.rpc.batch([k.chain.auction_of(infos[i][0].account) for i in infos])
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
        reqs = [TxRequest("settle", *k.chain.settle_auction(i), 0, bid_ids=[i]) for i in settles]
        reqs += [TxRequest("redo", *k.chain.redo(self.house, i), 0, bid_ids=[i]) for i in redos]
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
                self.units[token] = 10 ** k.chain.decimals(token)
        if not k.chain.oracle:
            k.chain.resolve_oracle()
        reads = [k.chain.price(t) for t in tokens]
        reads.append(k.chain.balance_of(self.base, k.address))
        reads.append(k.chain.allowance(self.base, k.address, self.house))
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
            return [TxRequest("approve", *k.chain.approve(self.base, self.house), 0)]
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
            to, data = k.chain.take(self.house, i, amount, price)
            reqs.append(TxRequest("take", to, data, 0, account=info.account, collateral=info.collateral, bid_ids=[i]))
        return reqs

    def _send(self, reqs: list[TxRequest], report: StepReport) -> None:
        k = self.k
        assert k.txs is not None
        ready = []
        for req in reqs:
            gas = estimate_gas(k, req.to, [req.data])[0]
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
            sent = record_sends(k, kind, [q for q, _ in pairs], [r for _, r in pairs])
            for tx in sent:
                k.log.info(f"{kind} sent", extra=fields(bids=tx.bid_ids, account=tx.account, tx=tx.hashes[0]))
            counter = "approvals_sent" if kind == "approve" else f"{kind}s_sent"
            setattr(report, counter, getattr(report, counter) + len(sent))

    def on_outcome(self, o: Outcome, report: StepReport) -> None:
        if o.status == "mined" and o.tx.kind == "settle":
            self.k.liquidations.full_scan_needed()  # the account may be liquidatable again
