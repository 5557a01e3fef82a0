"""Gas of every user-facing operation, measured from receipts on a local Anvil.

Each figure is one transaction in a scenario described beside it; the scenarios are built with the
same deployment the demo uses (`ala.deploy.deploy_system`), and the chain is restored between them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ala.bulk import Bulk, Call, Rpc, encode
from ala.deploy import System, deploy_system, feed_answer
from ala.params import CollateralParams, SystemParams, TokenParams
from ala.scenario import make_address
from bench.gas_breakdown import breakdown

MAX_UINT = 2**256 - 1
WAD = 10**18

# For scale: Aave v3 liquidationCall in its own gas snapshot (aave-v3-origin, snapshots/Pool.Operations.json).
AAVE_V3_LIQUIDATION = {"low": 311_600, "high": 349_519}


def bench_params() -> SystemParams:
    def collateral(symbol: str, decimals: int, price: int, max_ltv: str, liq_ltv: str) -> CollateralParams:
        return CollateralParams(
            symbol=symbol,
            decimals=decimals,
            price=Decimal(price),
            max_ltv=Decimal(max_ltv),
            liq_ltv=Decimal(liq_ltv),
            premium_step=Decimal("0.01"),
            max_slot=10,
            waiting_period=600,
            bid_threshold=Decimal(0),
        )

    return SystemParams(
        base=TokenParams(symbol="USDA", decimals=6, price=Decimal(1)),
        collaterals=(
            collateral("WETH", 18, 2_000, "0.80", "0.85"),
            collateral("WBTC", 8, 60_000, "0.70", "0.78"),
        ),
        oracle_max_age=86_400,
    )


class GasBench:
    def __init__(self, project: Any, accounts: Any, chain: Any, rpc_url: str) -> None:
        self.project = project
        self.chain = chain
        self.owner = accounts[0]
        self.lender = accounts[1]
        self.borrower = accounts[2]
        self.bidder = accounts[3]
        self.keeper = accounts[4]
        self.primer = accounts[5]
        self.rpc = Rpc(rpc_url)
        self.results: dict[str, int] = {}
        # operation -> gas by cause (bench.gas_breakdown), for the operations traced
        self.breakdowns: dict[str, dict[str, int]] = {}
        self.s: System = deploy_system(project, self.owner, bench_params(), chain)

    # ------------------------------------------------------------------ helpers

    def units(self, symbol: str, amount: float | int) -> int:
        return int(Decimal(str(amount)) * 10 ** self.s.tokens[symbol].decimals())

    def give(self, symbol: str, who: Any, amount: float | int, spender: Any) -> int:
        raw = self.units(symbol, amount)
        token = self.s.tokens[symbol]
        token.mint(who, raw, sender=self.owner)
        token.approve(spender, MAX_UINT, sender=who)
        return raw

    def price(self, symbol: str, usd: int) -> None:
        for feed in self.s.feeds[symbol]:
            feed.update_answer(feed_answer(Decimal(usd), feed.decimals()), sender=self.owner)

    def record(self, name: str, tx: Any) -> None:
        self.results[name] = int(tx.gas_used)

    def market(self) -> None:
        """A lender, and a borrower with 40 WETH and 1 WBTC posted and 100,000 USDA of debt (two collaterals)."""
        v, b = self.s.vault, self.borrower
        v.deposit(self.give("USDA", self.lender, 1_000_000, v), self.lender, sender=self.lender)
        v.add_collateral(self.s.tokens["WETH"], self.give("WETH", b, 40, v), b, sender=b)
        v.add_collateral(self.s.tokens["WBTC"], self.give("WBTC", b, 1, v), b, sender=b)
        v.borrow(self.units("USDA", 100_000), self.borrower, sender=self.borrower)
        # the keeper already holds some base, as a running keeper does
        self.s.base.mint(self.keeper, 1, sender=self.owner)

    def active_bid(self, slot: int, amount: float, who: Any = None) -> int:
        who = who or self.bidder
        q = self.s.queue
        raw = self.give("USDA", who, amount, q)
        tx = q.submit_bid(self.s.tokens["WETH"], slot, raw, sender=who)
        bid_id = q.BidSubmitted.from_receipt(tx)[0].bid_id
        self.chain.pending_timestamp += 600
        q.activate_bids([bid_id], sender=who)
        self.chain.mine()
        return bid_id

    # ------------------------------------------------------------------ scenarios

    def vault_ops(self) -> None:
        v, weth, wbtc, b = self.s.vault, self.s.tokens["WETH"], self.s.tokens["WBTC"], self.borrower
        self.market()
        self.chain.pending_timestamp += 3600
        self.record("deposit", v.deposit(self.give("USDA", self.lender, 1_000, v), self.lender, sender=self.lender))
        self.chain.pending_timestamp += 3600
        self.record("add_collateral", v.add_collateral(wbtc, self.give("WBTC", b, 1, v), b, sender=b))
        self.chain.pending_timestamp += 3600
        self.record("borrow", v.borrow(self.units("USDA", 1_000), b, sender=b))
        self.chain.pending_timestamp += 3600
        self.give("USDA", b, 1_000, v)
        self.record("repay", v.repay(self.units("USDA", 1_000), b, sender=b))
        self.chain.pending_timestamp += 3600
        self.record("remove_collateral", v.remove_collateral(weth, self.units("WETH", 1), b, sender=b))
        self.chain.pending_timestamp += 3600
        self.record("redeem", v.redeem(v.balanceOf(self.lender) // 10, self.lender, self.lender, sender=self.lender))

    def queue_ops(self) -> None:
        """Bid lifecycle in steady state: the touched slots have no incoming bids waiting to merge."""
        q, weth = self.s.queue, self.s.tokens["WETH"]
        self.market()
        resting = self.active_bid(0, 10_000)
        other = self.active_bid(2, 10_000)
        self.prime([resting, other])
        raw = self.give("USDA", self.bidder, 5_000, q)
        tx = q.submit_bid(weth, 0, raw, sender=self.bidder)
        self.record("submit_bid", tx)
        new = q.BidSubmitted.from_receipt(tx)[0].bid_id
        self.chain.pending_timestamp += 600
        self.record("activate_bid", q.activate_bids([new], sender=self.keeper))
        self.chain.mine()
        self.record("retract_bid", q.retract_bid(other, self.units("USDA", 1_000), sender=self.bidder))
        # a later activation in slot 0 first merges the bids activated in an earlier block
        raw = self.give("USDA", self.bidder, 5_000, q)
        later = q.BidSubmitted.from_receipt(q.submit_bid(weth, 0, raw, sender=self.bidder))[0].bid_id
        self.chain.pending_timestamp += 600
        self.record("activate_bid_merging_earlier_bids", q.activate_bids([later], sender=self.keeper))
        self.chain.mine()
        # a bidder's first claim of a collateral also pays the token for a fresh balance slot (20,000 gas)
        snapshot = self.chain.snapshot()
        self.record("claim_first_receipt", q.claim([resting], sender=self.bidder))
        self.chain.restore(snapshot)
        # steady state: the bidder holds some of the collateral already (an earlier claim), as the keeper holds
        # base in the liquidation figures
        weth.mint(self.bidder, 1, sender=self.owner)
        self.record("claim", q.claim([resting], sender=self.bidder))
        # the first activation after a fill opens the slot's bucket at a new fill count: it writes the join
        # snapshot, which the fill that merges the bucket would otherwise pay
        self.primer_fill()
        raw = self.give("USDA", self.bidder, 5_000, q)
        after = q.BidSubmitted.from_receipt(q.submit_bid(weth, 0, raw, sender=self.bidder))[0].bid_id
        self.chain.pending_timestamp += 600
        self.record("activate_bid_after_a_fill", q.activate_bids([after], sender=self.keeper))

    def prime(self, bid_ids: list[int]) -> None:
        """Steady state: an earlier liquidation left collateral in the queue and base with the keeper, and
        every slot has merged its incoming bids (a small retraction in a later block touches each slot)."""
        self.open_primer()
        self.primer_fill()
        self.merge(bid_ids)

    def open_primer(self) -> None:
        """An account, liquidatable at WETH $1,500, that the priming fills liquidate 100 USDA at a time."""
        v, primer = self.s.vault, self.primer
        v.add_collateral(self.s.tokens["WETH"], self.give("WETH", primer, 1, v), primer, sender=primer)
        v.borrow(self.units("USDA", 1_500), primer, sender=primer)
        self.price("WETH", 1_500)

    def primer_fill(self) -> None:
        self.s.engine.liquidate(self.primer, self.s.tokens["WETH"], self.units("USDA", 100), sender=self.keeper)

    def merge(self, bid_ids: list[int]) -> None:
        for bid_id in bid_ids:
            self.s.queue.retract_bid(bid_id, 1, sender=self.bidder)
        self.chain.mine()

    def liquidation(self, name: str, slots: list[int], steady: bool = True) -> None:
        """Steady state (`steady`): every slot the liquidation touches has been filled before, as in a pool in
        use. A fill reaches a slot only once the cheaper ones are empty, so the slots get their bids, and a small
        earlier fill each, from the dearest down. Otherwise: the first fill of freshly activated bids."""
        self.market()
        amount = 60_000 if len(slots) == 1 else 20_000
        if steady:
            self.open_primer()
            ids = []
            for slot in sorted(slots, reverse=True):
                ids.append(self.active_bid(slot, amount))
                self.primer_fill()
            self.merge(ids)
        else:
            ids = [self.active_bid(slot, amount) for slot in slots]
        self.price("WETH", 1_500)  # 40 WETH at $1,500 + 1 WBTC against 100,000 debt: health 0.978
        self.chain.pending_timestamp += 12  # a block later: the liquidation accrues interest, as it would live
        tx = self.s.engine.liquidate(self.borrower, self.s.tokens["WETH"], MAX_UINT, sender=self.keeper)
        fills = self.s.queue.SlotFilled.from_receipt(tx)
        assert [f.slot for f in fills] == slots, f"{name}: {fills}"
        self.record(name, tx)
        if name == "liquidate_1_slot":
            self.trace(name, tx)

    def trace(self, name: str, tx: Any) -> None:
        """Split the gas of `tx` by cause (before the scenario's chain state is restored away)."""
        s = self.s
        ours = {c.address for c in (s.vault, s.queue, s.engine, s.oracle)}
        others = {t.address: "ERC-20 tokens (transfers, balanceOf)" for t in s.tokens.values()}
        others.update({f.address: "price feeds" for fs in s.feeds.values() for f in fs})
        others[s.vault.rate_model()] = "rate model"
        self.breakdowns[name] = breakdown(self.rpc, tx.txn_hash, ours, others)

    def liquidation_many_bidders(self, n: int) -> None:
        """The one-slot liquidation with `n` active bids from `n` bidders in the slot."""
        self.market()
        q, base, weth = self.s.queue, self.s.base, self.s.tokens["WETH"]
        bidders = [make_address(f"ala-bench-bidder-{i}") for i in range(n)]
        bulk = Bulk(self.rpc)
        bulk.prepare(bidders)
        amount = self.units("USDA", 60_000) // n + 1
        calls: list[Call] = []
        for b in bidders:
            calls += [
                Call(b, base.address, encode(base, "mint", b, amount)),
                Call(b, base.address, encode(base, "approve", q.address, MAX_UINT)),
                Call(b, q.address, encode(q, "submit_bid", weth.address, 0, amount)),
            ]
        bulk.run(calls)
        first = q.next_bid_id() - n
        self.chain.pending_timestamp += 600
        self.chain.mine()
        ids = list(range(first, first + n))
        activations = [
            Call(bidders[0], q.address, encode(q, "activate_bids", ids[i : i + 100])) for i in range(0, n, 100)
        ]
        bulk.run([Call(c.sender, c.to, c.data, gas=20_000_000) for c in activations])
        self.chain.mine()
        self.prime([])  # the primer's fill merges the slot's incoming bids, as any earlier fill would
        self.chain.pending_timestamp += 12
        fills = q.SlotFilled.range(self.s.block, self.chain.blocks.height + 1)
        assert len(list(fills)) == 1  # only the primer's fill so far
        tx = self.s.engine.liquidate(self.borrower, weth, MAX_UINT, sender=self.keeper)
        self.record(f"liquidate_1_slot_{n}_bidders", tx)

    def run(self, many: int = 1000) -> dict[str, int]:
        scenarios = [
            self.vault_ops,
            self.queue_ops,
            lambda: self.liquidation("liquidate_1_slot", [0]),
            lambda: self.liquidation_many_bidders(many),
            lambda: self.liquidation("liquidate_3_slots", [0, 1, 2]),
            lambda: self.liquidation("liquidate_1_slot_first_fill", [0], steady=False),
            lambda: self.liquidation("liquidate_3_slots_first_fill", [0, 1, 2], steady=False),
        ]
        for scenario in scenarios:
            snapshot = self.chain.snapshot()
            try:
                scenario()
            finally:
                self.chain.restore(snapshot)
        return self.results


def gas_table_rows(gas: dict[str, int]) -> list[tuple[str, str, str]]:
    """(operation, gas, target/reference) rows for the printed table."""
    aave = f"Aave v3 liquidationCall {AAVE_V3_LIQUIDATION['low']:,}-{AAVE_V3_LIQUIDATION['high']:,}"
    targets = {
        "liquidate_1_slot": f"<= 200,000 ({aave})",
        "liquidate_3_slots": "<= 1-slot + 2 x 27,000",
        "liquidate_1_slot_1000_bidders": "within 1% of 1-slot",
        "borrow": "<= 155,000 (the opening check crosses to the engine)",
        "remove_collateral": "<= 170,000 (the opening check crosses to the engine)",
        "liquidate_1_slot_first_fill": "<= 280,000: first fill after activation (merges the bids; no fresh storage)",
        "liquidate_3_slots_first_fill": "first fill after activation, 3 slots",
        "claim": "<= 70,000",
        "claim_first_receipt": "the bidder's first collateral: the token writes a fresh balance",
        "activate_bid": "<= 70,000",
        "activate_bid_merging_earlier_bids": "also merges the bids activated in an earlier block",
        "activate_bid_after_a_fill": "once per slot and fill: opens the bucket, writes the join snapshot",
    }
    return [(name, f"{value:,}", targets.get(name, "")) for name, value in gas.items()]
