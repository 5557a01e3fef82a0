"""Invariant 10, failures stay where they are: a side asset whose price cannot be read (its only feed is stale)
counts as worthless on the liquidation paths and in the lens's batched views, so the liquidation of another
collateral and the keeper's scan go on; the collateral being liquidated must itself be readable; the opening paths
(borrow, remove_collateral) still refuse; and no debt is written off while the account holds the unpriced asset.

The side asset is GOLD (6 decimals) or a 0-decimal token, each behind one feed with a 24-hour `max_age`.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import ape
import pytest

from tests.adversarial.conftest import MAX_UINT, WAD

DAY = 86_400


@pytest.fixture(scope="module")
def system_params(system_params):
    """The suite's market plus a 0-decimal token worth $100 a unit."""
    zero = dataclasses.replace(system_params.collateral("GOLD"), symbol="ZERO", decimals=0, price=Decimal(100))
    return dataclasses.replace(system_params, collaterals=(*system_params.collaterals, zero))


@pytest.fixture(params=["GOLD", "ZERO"])
def side(request):
    return request.param


@pytest.fixture
def stale_side(actions, system, chain, lender, borrower, other_borrower, bidder, side):
    """`borrower`: 10 WETH against 15,000 USDA plus one whole unit of the side asset; `other_borrower`: a healthy
    WETH account. A day passes: every feed but the side asset's posts again, and WETH falls to $1,500."""
    actions.lend(lender, 1_000_000)
    actions.post(borrower, "WETH", 10)
    actions.post(borrower, side, 1)
    actions.borrow(borrower, 15_000)
    actions.post(other_borrower, "WETH", 10)
    actions.borrow(other_borrower, 1_000)
    chain.pending_timestamp = chain.blocks.head.timestamp + DAY + 1
    for symbol, feeds in system.feeds.items():
        if symbol != side:
            for feed in feeds:
                feed.update_answer(feed.latestRoundData()[1], sender=actions.owner)
    actions.set_price("WETH", 1_500)
    actions.bid(bidder, "WETH", 0, 100_000)
    with ape.reverts("oracle: stale price"):
        system.oracle.price(system.tokens[side])
    return borrower


def test_liquidate__other_collateral_with_a_stale_side_asset__goes_on(system, stale_side, keeper, side):
    vault, engine = system.vault, system.engine
    weth, token = system.tokens["WETH"], system.tokens[side]
    debt = vault.debt_of(stale_side)

    tx = engine.liquidate(stale_side, weth, MAX_UINT, sender=keeper)

    event = engine.Liquidation.from_receipt(tx)[0]
    assert event.repaid > 0 and event.seized > 0
    assert vault.debt_of(stale_side) < debt
    assert vault.collateral_of(stale_side, token) == 10 ** token.decimals()  # the side asset is untouched


def test_liquidate__stale_collateral_itself__still_reverts_stale_price(system, stale_side, keeper, side):
    with ape.reverts("oracle: stale price"):
        system.engine.liquidate(stale_side, system.tokens[side], MAX_UINT, sender=keeper)


def test_opening_paths__stale_side_asset__still_revert_stale_price(system, stale_side, other_borrower, side):
    with ape.reverts("oracle: stale price"):
        system.vault.borrow(1, stale_side, sender=stale_side)
    with ape.reverts("oracle: stale price"):
        system.vault.remove_collateral(system.tokens["WETH"], 1, stale_side, sender=stale_side)


def test_lens_batch_views__stale_side_asset__answer_for_the_whole_batch(system, stale_side, other_borrower, side):
    lens = system.lens
    batch = [stale_side, other_borrower]

    assert lens.liquidatable(batch) == [True, False]
    health = lens.accounts_health(batch)
    # the stale asset counts for nothing: only the 10 WETH at $1,500 back the debt
    assert health[0].collateral_value == 15_000 * WAD
    assert health[0].liquidatable and not health[1].liquidatable
    assert lens.account_health(stale_side) == health[0]
    preview = lens.preview_liquidation(stale_side, system.tokens["WETH"])
    assert preview.liquidatable and preview.seized > 0


def test_liquidate__all_priced_collateral_gone_with_a_stale_side_asset__writes_nothing_off(
    actions, system, stale_side, keeper, owner, side
):
    vault, engine = system.vault, system.engine
    weth, token = system.tokens["WETH"], system.tokens[side]
    engine.set_close_ratio(WAD, sender=owner)
    actions.set_price("WETH", 1_000)  # 10 WETH ($10,000) cannot cover 15,000 USDA
    bad_debt = vault.total_bad_debt()

    tx = engine.liquidate(stale_side, weth, MAX_UINT, sender=keeper)

    assert vault.collateral_of(stale_side, weth) == 0
    assert engine.Liquidation.from_receipt(tx)[0].bad_debt == 0
    assert vault.BadDebtWrittenOff.from_receipt(tx) == []
    assert vault.total_bad_debt() == bad_debt
    assert vault.debt_of(stale_side) > 0  # still owed: the side asset may be worth it once it can be priced
    assert vault.collateral_of(stale_side, token) == 10 ** token.decimals()
