"""The queue's carried remainder, where it matters: a large bid that joins a slot whose running product P is near its
floor. Each fill's collateral-per-deposit sum S is floored; one S unit is worth d0 / P0 collateral units to a bid that
joined with deposit d0 at product P0, so without the carried remainder such a bid would lose up to d0 / P0 units on
every fill. With it, the whole run costs the bid less than d0 / P0 + 1 units.

(The model-based suites allow d / 1e27 of a unit per fill of slack, which is exactly this loss; this test is the one
that pins the carry itself.)
"""

from __future__ import annotations

from fractions import Fraction

from tests.adversarial.conftest import MAX_UINT, WAD
from tests.utils.fast_chain import log_words, logs_of, topic

SLOT_FILLED = topic("SlotFilled(address,uint256,uint256,uint256,uint256)")
PRICE = 2_000 * WAD
FILLS = 40


def test_fill__large_bid_joining_at_a_low_product__loses_less_than_one_sum_unit_over_many_fills(
    project, owner, engine_account, bidder, other_bidder, keeper, chain, fast
):
    base = project.MockERC20.deploy("USD", "USD", 18, sender=owner)
    weth = project.MockERC20.deploy("WETH", "WETH", 18, sender=owner)
    queue = project.LiquidationQueue.deploy(base, sender=owner)
    queue.set_engine(engine_account, sender=owner)
    queue.set_pool_params(weth, WAD // 100, 1, 0, 2**200, sender=owner)  # every bid is active from the next block
    for account in (bidder, other_bidder):
        base.mint(account, 10**32, sender=owner)
        base.approve(queue, MAX_UINT, sender=account)

    def fill(spent: int) -> int:
        data = "0x" + bytes(queue.fill.encode_input(weth, PRICE, WAD, spent, 2**200, keeper, 0, keeper)).hex()
        receipt = fast.transact(engine_account.address, queue.address, data)
        [entry] = logs_of(receipt, SLOT_FILLED, queue.address)
        bought = log_words(entry)[1][1]
        weth.mint(queue, bought, sender=owner)  # the engine delivers what the slot bought
        return bought

    d0 = 10**30
    queue.submit_bid(weth, 0, d0, sender=other_bidder)
    chain.mine()
    fill(d0 - d0 // (5 * 10**8))  # a near-total drain: P falls to 1e36 * 2e-9 = 2e27, just above its floor
    tx = queue.submit_bid(weth, 0, d0, sender=bidder)
    large = queue.BidSubmitted.from_receipt(tx)[0].bid_id
    chain.mine()

    total = Fraction(queue.slot_info(weth, 0).active)
    share = Fraction(d0) / total  # every fill shrinks both bids alike, so the share stays put
    exact_gain = Fraction(0)
    for i in range(FILLS):
        spent = 10**24 + 7_919 * i * 10**9 + i  # odd sizes: every S increment has a remainder
        exact_gain += fill(spent) * share

    claimable = queue.claimable(large)
    loss_per_sum_unit = Fraction(d0, 2 * 10**27)  # d0 / P0
    assert claimable <= exact_gain
    assert exact_gain - claimable < loss_per_sum_unit + 1, (
        f"the bid lost {float(exact_gain - claimable):,.0f} units over {FILLS} fills: the remainder was not carried"
    )
