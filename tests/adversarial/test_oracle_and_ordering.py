"""Price and ordering attacks: one manipulated oracle source among three cannot move the price or fire a
liquidation, and a bid that becomes active in the block of a liquidation cannot take part in it (no sandwich)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from tests.adversarial.conftest import MAX_UINT, USDA, WAD, revert_checker
from tests.utils.actions import Actions
from tests.utils.fast_chain import calldata, log_words, logs_of, topic

SLOT_FILLED = topic("SlotFilled(address,uint256,uint256,uint256,uint256)")

# ------------------------------------------------------------------------------------------------ oracle


@pytest.fixture(scope="module")
def three_feed_system(project, accounts, chain, system_params):
    """The standard system, but every asset priced by three feeds (median, 2% spread)."""
    from ala.deploy import deploy_system

    params = replace(
        system_params,
        base=replace(system_params.base, mock_feeds=3),
        collaterals=tuple(replace(c, mock_feeds=3) for c in system_params.collaterals),
        oracle_max_spread=Decimal("0.02"),
    )
    return deploy_system(project, accounts[0], params, chain)


@pytest.fixture(scope="module")
def oracle_market(three_feed_system, owner, chain, lender, borrower, bidder):
    actions = Actions(three_feed_system, owner, chain)
    actions.lend(lender, 1_000_000)
    actions.post(borrower, "WETH", 10)
    actions.borrow(borrower, 15_000)  # health 0.85 * 20,000 / 15,000 = 1.133
    actions.bid(bidder, "WETH", 0, 50_000)
    return three_feed_system


def post(feed, owner, usd):
    feed.update_answer(int(usd * 10**8), sender=owner)


@pytest.mark.parametrize("manipulated_usd", [1, 1_500, 10**9])
def test_price__one_manipulated_source_of_three__the_median_stands(oracle_market, owner, manipulated_usd):
    weth = oracle_market.tokens["WETH"]
    post(oracle_market.feeds["WETH"][0], owner, manipulated_usd)
    assert oracle_market.oracle.price(weth) == 2_000 * WAD


def test_liquidate__one_source_crashed__does_not_fire_and_changes_nothing(
    oracle_market, fast, owner, borrower, keeper, stranger
):
    weth, engine = oracle_market.tokens["WETH"], oracle_market.engine
    post(oracle_market.feeds["WETH"][1], owner, 1_000)  # alone, this source would make the account liquidatable
    assert not oracle_market.lens.account_health(borrower).liquidatable

    def read_state():
        v = oracle_market.vault.address
        return tuple(
            fast.calls(
                [
                    (v, calldata("collateral_of(address,address)", borrower.address, weth.address)),
                    (v, calldata("debt_of(address)", borrower.address)),
                    (v, calldata("cash()")),
                    (oracle_market.queue.address, calldata("slot_info(address,uint256)", weth.address, 0)),
                    (oracle_market.base.address, calldata("balanceOf(address)", keeper.address)),
                ]
            )
        )

    revert_checker(fast, read_state)("engine: healthy", keeper, engine.liquidate, borrower, weth, MAX_UINT)


def test_liquidate__two_sources_of_three_agree_on_a_crash__the_price_follows_and_fires(
    oracle_market, owner, borrower, keeper
):
    weth, engine = oracle_market.tokens["WETH"], oracle_market.engine
    post(oracle_market.feeds["WETH"][0], owner, 1_500)
    assert oracle_market.oracle.price(weth) == 2_000 * WAD  # one source moving is not enough
    post(oracle_market.feeds["WETH"][2], owner, 1_510)
    assert oracle_market.oracle.price(weth) == 1_510 * WAD  # the median of (1,500, 1,510, 2,000)
    assert oracle_market.lens.account_health(borrower).liquidatable
    tx = engine.liquidate(borrower, weth, MAX_UINT, sender=keeper)
    assert engine.Liquidation.from_receipt(tx)[0].repaid > 0


def test_borrow__one_source_spiked__borrowing_stays_bounded_by_the_median(oracle_market, owner, borrower):
    import ape

    post(oracle_market.feeds["WETH"][0], owner, 10**6)  # the manipulated source says 10 WETH are worth $10M
    # max ltv at the true $2,000: 16,000 of debt; 15,000 is owed already
    with ape.reverts("engine: exceeds max ltv"):
        oracle_market.vault.borrow(1_001 * USDA, borrower, sender=borrower)


# ------------------------------------------------------------------------------------------------ same-block bids


@pytest.fixture(scope="module")
def ordering_market(system, owner, chain, lender, borrower):
    """An underwater borrower; WETH bids skip the waiting period (bid_threshold above any test's bids)."""
    actions = Actions(system, owner, chain)
    weth = system.tokens["WETH"]
    params = system.queue.pool_params(weth)
    system.queue.set_pool_params(
        weth, params.premium_step, params.max_slot, params.waiting_period, 10**15, sender=owner
    )
    actions.lend(lender, 1_000_000)
    actions.post(borrower, "WETH", 10)
    actions.borrow(borrower, 15_000)
    actions.set_price("WETH", 1_700)
    return actions


def test_liquidate__bid_submitted_in_the_same_block__does_not_fill(
    ordering_market, system, fast, borrower, bidder, keeper
):
    queue, engine, weth = system.queue, system.engine, system.tokens["WETH"]
    raw = ordering_market.mint("USDA", bidder, 50_000, queue)
    bid_id = queue.next_bid_id()
    submit = calldata("submit_bid(address,uint256,uint256)", weth.address, 0, raw)
    liquidate = calldata("liquidate(address,address,uint256)", borrower.address, weth.address, MAX_UINT)
    debt = system.vault.debt_of(borrower)

    submitted, liquidation = fast.same_block(
        [(bidder.address, queue.address, submit), (keeper.address, engine.address, liquidate)]
    )

    assert int(submitted["status"], 16) == 1
    assert int(liquidation["status"], 16) == 0
    assert fast.failure_reason(liquidation) == "engine: no active bids"
    info = queue.bid_info(bid_id)
    assert (info.amount, info.claimable, info.pending) == (raw, 0, False)
    assert system.vault.collateral_of(borrower, weth) == 10 * WAD
    assert system.vault.debt_of(borrower) >= debt
    # one block later the bid is an ordinary participant
    engine.liquidate(borrower, weth, MAX_UINT, sender=keeper)
    assert queue.bid_info(bid_id).amount < raw


def test_liquidate__bid_activated_in_the_same_block__sits_out_while_older_bids_fill(
    ordering_market, system, fast, chain, borrower, bidder, other_bidder, keeper
):
    queue, engine, weth = system.queue, system.engine, system.tokens["WETH"]
    older = ordering_market.submit(other_bidder, "WETH", 3, 50_000)  # active at once, fills from the next block
    chain.mine()
    raw = ordering_market.mint("USDA", bidder, 50_000, queue)
    cheaper = queue.next_bid_id()
    submit = calldata("submit_bid(address,uint256,uint256)", weth.address, 0, raw)
    liquidate = calldata("liquidate(address,address,uint256)", borrower.address, weth.address, MAX_UINT)

    _, liquidation = fast.same_block(
        [(bidder.address, queue.address, submit), (keeper.address, engine.address, liquidate)]
    )

    assert int(liquidation["status"], 16) == 1
    filled = [log_words(e)[0][1] for e in logs_of(liquidation, SLOT_FILLED, queue.address)]
    assert filled == [3], "the same-block bid at the cheaper slot 0 took part in the liquidation"
    assert queue.bid_info(cheaper).amount == raw and queue.claimable(cheaper) == 0
    assert queue.bid_info(older).amount < 50_000 * USDA
