"""Gas of a liquidation that walks N slots, each holding one minimum bid: the cost of the many-small-bids attack.

Without a minimum bid, one-unit bids in 100 slots make the next liquidation walk, and write, 100 slots for almost
nothing. The queue's per-collateral `min_bid` makes the attacker lock `N * min_bid` of base (which then buys
collateral at the slots' premiums like any bid), and each slot walked costs the liquidation a bounded amount of gas,
the same in every slot: this bench measures it. Each slot's bid is fresh (activated at once, below `bid_threshold`)
and the liquidation drains it, as the attacker's bids would be.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ala.deploy import System, deploy_system, feed_answer
from ala.params import CollateralParams, SystemParams, TokenParams

MAX_UINT = 2**256 - 1
# whole base tokens in each slot's bid: the local parameter file's minimum bid
MIN_BID = 100
SLOT_COUNTS = (1, 10, 100)


def walk_params() -> SystemParams:
    """One collateral with 101 slots (premiums up to 49.49%) and a liquidation line low enough for them."""
    walk = CollateralParams(
        symbol="WALK",
        decimals=18,
        price=Decimal(2_000),
        max_ltv=Decimal("0.40"),
        liq_ltv=Decimal("0.45"),
        premium_step=Decimal("0.0049"),
        max_slot=100,
        waiting_period=600,
        bid_threshold=Decimal(10**9),  # every bid is active from the next block
        min_bid=Decimal(MIN_BID),
    )
    return SystemParams(
        base=TokenParams(symbol="USDA", decimals=6, price=Decimal(1)), collaterals=(walk,), oracle_max_age=86_400
    )


class WalkBench:
    def __init__(self, project: Any, accounts: Any, chain: Any) -> None:
        self.chain = chain
        self.owner, self.lender, self.borrower, self.bidder, self.keeper = accounts[:5]
        self.s: System = deploy_system(project, self.owner, walk_params(), chain)

    def give(self, token: Any, who: Any, raw: int, spender: Any) -> int:
        token.mint(who, raw, sender=self.owner)
        token.approve(spender, MAX_UINT, sender=who)
        return raw

    def price(self, usd: int) -> None:
        for feed in self.s.feeds["WALK"]:
            feed.update_answer(feed_answer(Decimal(usd), feed.decimals()), sender=self.owner)

    def liquidation(self, slots: int) -> int:
        """Gas of the liquidation that drains `slots` slots (0 .. slots-1) of one minimum bid each."""
        s, walk, usda = self.s, self.s.tokens["WALK"], self.s.base
        unit = 10 ** usda.decimals()
        s.vault.deposit(self.give(usda, self.lender, 10**6 * unit, s.vault), self.lender, sender=self.lender)
        s.vault.add_collateral(
            walk, self.give(walk, self.borrower, 100 * 10**18, s.vault), self.borrower, sender=self.borrower
        )
        s.vault.borrow(79_000 * unit, self.borrower, sender=self.borrower)
        min_bid = s.queue.min_bid(walk)
        self.give(usda, self.bidder, slots * min_bid, s.queue)
        for slot in range(slots):
            s.queue.submit_bid(walk, slot, min_bid, sender=self.bidder)
        self.chain.mine()
        self.price(1_500)  # 100 WALK at $1,500 x 0.45 against 79,000: liquidatable; half the debt covers every slot
        self.chain.pending_timestamp += 12
        tx = s.engine.liquidate(self.borrower, walk, MAX_UINT, sender=self.keeper)
        fills = s.queue.SlotFilled.from_receipt(tx)
        assert [f.slot for f in fills] == list(range(slots)), fills
        assert all(f.base_spent == min_bid for f in fills)
        return int(tx.gas_used)

    def run(self, counts: tuple[int, ...] = SLOT_COUNTS) -> dict[str, int]:
        results = {}
        for n in counts:
            snapshot = self.chain.snapshot()
            try:
                results[str(n)] = self.liquidation(n)
            finally:
                self.chain.restore(snapshot)
        return results


def walk_rows(gas: dict[str, int]) -> list[tuple[str, str, str, str]]:
    """(slots walked, gas, gas per slot beyond the first, base the attacker locks) rows for the printed table."""
    one = gas["1"]
    rows = []
    for n, value in gas.items():
        slots = int(n)
        per_slot = f"{(value - one) // (slots - 1):,}" if slots > 1 else ""
        rows.append((n, f"{value:,}", per_slot, f"{slots * MIN_BID:,} USDA"))
    return rows
