"""Invariant 9, no hidden bad debt: an account that still owes while what it holds is worth less than `dust_value`
(or cannot buy one base unit) is closed by the next liquidation. Its dust goes to the vault's reserve account
(`collateral_of(vault, asset)`, withdrawn by the owner like the base reserves) and its debt is written off, reserves
first. Nothing a third party does (collateral added to someone else's account, a `max_repay` chosen to leave dust)
prevents or postpones it.

Collateral of 0, 2 and 18 decimals plays the dust: one whole unit of a 0-decimal token worth $5 is dust too.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import ape
import pytest

from tests.adversarial.conftest import MAX_UINT, WAD

USDA = 10**6


@pytest.fixture(scope="module")
def system_params(system_params):
    """The suite's market plus a 0-decimal token worth $5 a unit and a 2-decimal one worth $100 a unit."""
    extra = tuple(
        dataclasses.replace(system_params.collateral("GOLD"), symbol=symbol, decimals=decimals, price=Decimal(price))
        for symbol, decimals, price in (("ZERO", 0, 5), ("CENT", 2, 100))
    )
    return dataclasses.replace(system_params, collaterals=(*system_params.collaterals, *extra))


# (symbol, raw units a stranger adds): each is worth less than the $10 dust value
DUST = [("WETH", 1), ("CENT", 1), ("ZERO", 1)]


@pytest.fixture
def wbtc_borrower(actions, system, lender, borrower):
    """1 WBTC ($60,000) against 40,000 USDA."""
    actions.lend(lender, 1_000_000)
    actions.post(borrower, "WBTC", 1)
    actions.borrow(borrower, 40_000)
    return borrower


def _add_dust(actions, system, stranger, account, symbol, raw):
    token = system.tokens[symbol]
    actions.fast.mint_and_approve(actions.owner, token, stranger, raw, system.vault, allowance=MAX_UINT)
    system.vault.add_collateral(token, raw, account, sender=stranger)
    return token


def _assert_closed(system, account, swept: dict, reserve_collateral_before: dict, tx):
    """The account owes nothing and holds nothing; its dust sits in the vault's reserve account; the write-off is
    booked as bad debt and announced."""
    vault = system.vault
    assert vault.debt_of(account) == 0
    for symbol, raw in swept.items():
        token = system.tokens[symbol]
        assert vault.collateral_of(account, token) == 0
        assert vault.collateral_of(vault, token) == reserve_collateral_before[symbol] + raw
    for token in system.collaterals.values():
        assert vault.collateral_of(account, token) == 0
    write_off = vault.BadDebtWrittenOff.from_receipt(tx)[0]
    assert write_off.account == account.address and write_off.amount > 0
    assert vault.total_bad_debt() >= write_off.amount
    assert system.engine.Liquidation.from_receipt(tx)[0].bad_debt == write_off.amount


@pytest.mark.parametrize(("symbol", "raw"), DUST)
def test_liquidate__stranger_dust_on_a_drained_account__is_swept_and_the_debt_written_off(
    actions, system, wbtc_borrower, stranger, bidder, keeper, symbol, raw
):
    vault, engine = system.vault, system.engine
    wbtc = system.tokens["WBTC"]
    _add_dust(actions, system, stranger, wbtc_borrower, symbol, raw)
    actions.set_price("WBTC", 20_000)  # 1 WBTC now covers half the debt
    actions.bid(bidder, "WBTC", 0, 100_000)
    actions.bid(bidder, symbol, 0, 100_000)  # a bid for the dust too: it cannot buy a base unit
    before = {symbol: vault.collateral_of(vault, system.tokens[symbol])}

    tx = engine.liquidate(wbtc_borrower, wbtc, MAX_UINT, sender=keeper)

    assert vault.collateral_of(wbtc_borrower, wbtc) == 0  # the liquidation took every WBTC
    _assert_closed(system, wbtc_borrower, {symbol: raw}, before, tx)
    # nothing is left to liquidate: no account hides a debt behind the dust
    assert system.lens.liquidatable([wbtc_borrower]) == [False]


@pytest.mark.parametrize(("symbol", "raw"), DUST)
def test_liquidate__account_worth_less_than_dust__closes_without_any_bid(
    actions, system, wbtc_borrower, stranger, keeper, symbol, raw
):
    vault, engine = system.vault, system.engine
    token = _add_dust(actions, system, stranger, wbtc_borrower, symbol, raw)
    actions.set_price("WBTC", "0.000001")  # the whole WBTC is worth a millionth of a dollar
    before = {s: vault.collateral_of(vault, system.tokens[s]) for s in (symbol, "WBTC")}

    # no bid anywhere: the liquidation must not revert "engine: no active bids"
    tx = engine.liquidate(wbtc_borrower, token, MAX_UINT, sender=keeper)

    _assert_closed(system, wbtc_borrower, {symbol: raw, "WBTC": 10**8}, before, tx)
    assert engine.Liquidation.from_receipt(tx)[0].repaid == 0


def test_liquidate__max_repay_leaving_dust_collateral__sweeps_it_in_the_same_liquidation(
    actions, system, wbtc_borrower, bidder, keeper, owner
):
    vault, engine = system.vault, system.engine
    wbtc = system.tokens["WBTC"]
    engine.set_close_ratio(WAD, sender=owner)
    actions.set_price("WBTC", 20_000)
    actions.bid(bidder, "WBTC", 0, 100_000)
    # the keeper asks for just enough to buy all but ten satoshis ($0.002) at slot 0
    fees = engine.keeper_fee() + engine.protocol_fee()
    funds = (10**8 - 10) * 20_000 * USDA // 10**8
    max_repay = funds * (WAD - fees) // WAD
    before = {"WBTC": vault.collateral_of(vault, wbtc)}

    tx = engine.liquidate(wbtc_borrower, wbtc, max_repay, sender=keeper)

    seized = engine.Liquidation.from_receipt(tx)[0].seized
    assert 0 < 10**8 - seized <= 11  # the keeper did leave dust ...
    _assert_closed(system, wbtc_borrower, {"WBTC": 10**8 - seized}, before, tx)  # ... and it was swept at once


def test_withdraw_reserve_collateral__owner_takes_the_swept_dust__stranger_cannot(
    actions, system, wbtc_borrower, stranger, keeper, owner
):
    vault, engine = system.vault, system.engine
    weth = _add_dust(actions, system, stranger, wbtc_borrower, "WETH", 1)
    actions.set_price("WBTC", "0.000001")
    engine.liquidate(wbtc_borrower, weth, MAX_UINT, sender=keeper)
    assert vault.collateral_of(vault, weth) == 1
    with ape.reverts("ownable: caller is not the owner"):
        vault.withdraw_reserve_collateral(weth, 1, stranger, sender=stranger)
    with ape.reverts("vault: exceeds reserve collateral"):
        vault.withdraw_reserve_collateral(weth, 2, owner, sender=owner)
    total = vault.total_collateral(weth)
    before = weth.balanceOf(owner)
    vault.withdraw_reserve_collateral(weth, 1, owner, sender=owner)
    assert weth.balanceOf(owner) == before + 1
    assert vault.collateral_of(vault, weth) == 0 and vault.total_collateral(weth) == total - 1
