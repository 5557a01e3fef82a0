"""The oracle's quorum (`min_sources`): an asset priced by fewer fresh, sane sources than its quorum has no price.
With three feeds the default quorum is two, so when two go stale the asset is unreadable: `price` reverts
`oracle: too few sources` and `try_prices` reads 0. Invariant 10 then applies: the liquidation of another
collateral goes on (the unreadable asset counts as worthless there), the opening paths refuse, and the lone
surviving source, whatever it says, can no longer price a borrow.

GOLD (6 decimals) sits behind three feeds with a 24-hour `max_age`; a day passes and only its third feed posts.
"""

from __future__ import annotations

import dataclasses

import ape
import pytest

from tests.adversarial.conftest import MAX_UINT

DAY = 86_400
TOO_FEW = "oracle: too few sources"


@pytest.fixture(scope="module")
def system_params(system_params):
    """The suite's market with GOLD behind three feeds."""
    gold = dataclasses.replace(system_params.collateral("GOLD"), mock_feeds=3)
    collaterals = tuple(gold if c.symbol == "GOLD" else c for c in system_params.collaterals)
    return dataclasses.replace(system_params, collaterals=collaterals)


@pytest.fixture
def lone_gold_source(actions, system, chain, lender, borrower, other_borrower, bidder):
    """`borrower`: 10 WETH and one GOLD against 15,000 USDA; `other_borrower`: one GOLD against 100 USDA. A day
    passes: every feed posts again except two of GOLD's three, and WETH falls to $1,500."""
    actions.lend(lender, 1_000_000)
    actions.post(borrower, "WETH", 10)
    actions.post(borrower, "GOLD", 1)
    actions.borrow(borrower, 15_000)
    actions.post(other_borrower, "GOLD", 1)
    actions.borrow(other_borrower, 100)
    chain.pending_timestamp = chain.blocks.head.timestamp + DAY + 1
    survivor = system.feeds["GOLD"][2]
    for symbol, feeds in system.feeds.items():
        for feed in feeds:
            if symbol != "GOLD" or feed == survivor:
                feed.update_answer(feed.latestRoundData()[1], sender=actions.owner)
    actions.set_price("WETH", 1_500)
    actions.bid(bidder, "WETH", 0, 100_000)
    return survivor


def test_price__two_of_three_feeds_stale__is_unreadable(system, lone_gold_source):
    oracle, gold, weth = system.oracle, system.tokens["GOLD"], system.tokens["WETH"]

    with ape.reverts(TOO_FEW):
        oracle.price(gold)
    with ape.reverts(TOO_FEW):
        oracle.prices([weth, gold])
    assert oracle.try_prices([weth, gold]) == [1_500 * 10**18, 0]
    assert oracle.min_sources(gold) == 2  # the default: a majority of the three feeds


def test_liquidate__other_collateral_while_a_side_asset_has_one_source_of_three__goes_on(
    system, lone_gold_source, borrower, keeper
):
    vault, engine = system.vault, system.engine
    weth, gold = system.tokens["WETH"], system.tokens["GOLD"]
    debt = vault.debt_of(borrower)

    tx = engine.liquidate(borrower, weth, MAX_UINT, sender=keeper)

    event = engine.Liquidation.from_receipt(tx)[0]
    assert event.repaid > 0 and event.seized > 0
    assert vault.debt_of(borrower) < debt
    assert vault.collateral_of(borrower, gold) == 10**6  # the unreadable asset is untouched


def test_liquidate__the_collateral_with_one_source_of_three__reverts_too_few_sources(
    system, lone_gold_source, borrower, keeper
):
    with ape.reverts(TOO_FEW):
        system.engine.liquidate(borrower, system.tokens["GOLD"], MAX_UINT, sender=keeper)


def test_borrow__against_the_lone_surviving_source__is_refused_whatever_it_says(
    actions, system, lone_gold_source, other_borrower
):
    vault, gold = system.vault, system.tokens["GOLD"]
    # the one source left says GOLD is worth $1,000,000: trusted alone, it would lend 650,000 USDA against one GOLD
    lone_gold_source.update_answer(1_000_000 * 10**8, sender=actions.owner)
    debt = vault.debt_of(other_borrower)

    with ape.reverts(TOO_FEW):
        vault.borrow(100_000 * 10**6, other_borrower, sender=other_borrower)
    with ape.reverts(TOO_FEW):
        vault.remove_collateral(gold, 1, other_borrower, sender=other_borrower)
    assert vault.debt_of(other_borrower) == debt
