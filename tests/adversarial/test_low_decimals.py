"""Invariant 11, every liquidation pays for what it takes: the queue quotes in whole collateral units, the collateral
rounded down and then the base that pays for it rounded up. A keeper's `max_repay` of one base unit against a
0-decimal collateral worth $75 a unit used to seize a whole unit for 0.000002 USDA (the collateral rounded up by a
whole unit), and again on every call.

Collateral of 0, 2, 6, 8 and 18 decimals: for each, a liquidation of every size from one base unit to the close
ratio gives no slot more collateral than the base it paid is worth at that slot's price.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import ape
import pytest

USDA = 10**6
DECIMALS = (0, 2, 6, 8, 18)
# max_repay a keeper may pick, in base units: one unit, less than one collateral unit of the coarsest token, about
# one unit, a unit and a half, and the whole close ratio
MAX_REPAYS = (1, 2, 74_000_000, 75_000_001, 112_500_000, 2**256 - 1)


@pytest.fixture(scope="module")
def system_params(system_params):
    """The suite's market plus a token of each decimals in DECIMALS, worth $100 a unit."""
    extra = tuple(
        dataclasses.replace(
            system_params.collateral("GOLD"), symbol=f"D{decimals}", decimals=decimals, price=Decimal(100)
        )
        for decimals in DECIMALS
    )
    return dataclasses.replace(system_params, collaterals=(*system_params.collaterals, *extra))


@pytest.mark.parametrize("max_repay", MAX_REPAYS)
@pytest.mark.parametrize("decimals", DECIMALS)
def test_liquidate__any_max_repay_any_decimals__takes_no_more_collateral_than_it_pays_for(
    actions, system, lender, borrower, bidder, keeper, decimals, max_repay
):
    symbol = f"D{decimals}"
    token = system.tokens[symbol]
    vault, engine, queue = system.vault, system.engine, system.queue
    actions.lend(lender, 1_000_000)
    actions.post(borrower, symbol, 100)  # $10,000
    actions.borrow(borrower, 6_000)
    actions.bid(bidder, symbol, 0, 100_000)
    actions.set_price(symbol, 75)  # $7,500 against 6,000: liquidatable
    held = vault.collateral_of(borrower, token)

    try:
        tx = engine.liquidate(borrower, token, max_repay, sender=keeper)
    except ape.exceptions.ContractLogicError as error:
        # a repayment too small to buy one collateral unit, nor worth an auction, is refused and changes nothing
        assert max_repay < 75 * USDA and "engine: no active bids" in str(error)
        assert vault.collateral_of(borrower, token) == held
        return

    base_price = system.oracle.price(system.base)
    fills = queue.SlotFilled.from_receipt(tx)
    for fill in fills:
        # value given (WAD USD) never exceeds the value paid for it, at the slot's own price
        assert fill.collateral_bought * fill.price // 10**decimals <= fill.base_spent * base_price // USDA
    event = engine.Liquidation.from_receipt(tx)[0]
    assert event.seized == sum(fill.collateral_bought for fill in fills)
    lot = sum(opened.lot for opened in engine.AuctionOpened.from_receipt(tx))
    assert vault.collateral_of(borrower, token) == held - event.seized - lot
    if max_repay >= 75 * USDA:
        assert event.seized > 0  # a repayment worth a unit buys it
    # the funds asked of the queue round up and the fees down: the repayment may pass max_repay by two units
    assert event.repaid <= max_repay + 2


def test_liquidate__one_unit_worth_more_than_the_close_ratio_slice__still_buys_a_whole_unit(
    actions, system, lender, borrower, bidder, keeper
):
    """The queue sells whole units only, so a slice (half the debt) worth less than one unit of a coarse token bought
    nothing: the account stayed liquidatable beside bids that could never fill (`engine: no active bids`), its debt
    accruing. The repayment is lifted to the cost of one unit (liquidation_plan._unit_cost)."""
    decimals = 0
    symbol = f"D{decimals}"
    token = system.tokens[symbol]
    actions.lend(lender, 1_000_000)
    actions.post(borrower, symbol, 2)  # $200
    actions.borrow(borrower, 100)
    actions.bid(bidder, symbol, 0, 100_000)
    actions.set_price(symbol, 52)  # $104 against 100: liquidatable; half the debt ($50) buys no $52 unit
    held = system.vault.collateral_of(borrower, token)

    tx = system.engine.liquidate(borrower, token, 2**256 - 1, sender=keeper)

    event = system.engine.Liquidation.from_receipt(tx)[0]
    assert event.seized >= 10**decimals  # at least one whole token
    assert system.vault.collateral_of(borrower, token) == held - event.seized
    base_price = system.oracle.price(system.base)
    for fill in system.queue.SlotFilled.from_receipt(tx):
        assert fill.collateral_bought * fill.price // 10**decimals <= fill.base_spent * base_price // USDA

    # what is left: one unit ($52) against about $48.5 of debt, still below the threshold. A unit now costs more than
    # the whole debt, which no liquidation may repay past; the collateral still covers the debt, so nothing is hidden
    # and the account waits (the borrower can repay; an auction house would sell it)
    if system.vault.collateral_of(borrower, token) == 10**decimals:
        with ape.reverts("engine: no active bids"):
            system.engine.liquidate(borrower, token, 2**256 - 1, sender=keeper)
    # once the unit is worth less than the debt, it sells and the shortfall is written off, reserves first
    actions.set_price(symbol, 30)
    while system.vault.collateral_of(borrower, token) != 0:
        system.engine.liquidate(borrower, token, 2**256 - 1, sender=keeper)
    assert system.vault.debt_of(borrower) == 0
