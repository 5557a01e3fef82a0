"""Dust auctions: a borrower must not open a tiny Dutch auction on his own account (`liquidate` with a one-unit
`max_repay` and no bids) to block the liquidation of his collateral while it runs, again after each take. The
engine sizes an auction by its own target (the close ratio's slice, as Maker's `bark` takes no size from its
caller), never opens one whose lot is worth less than `dust_value`, and once the account's debt is covered anyone
may end a running auction: the lot returns to the account's collateral in the ledger. The market: 10 WETH ($2,000)
against 15,000 USDA, WETH at $1,700, no bids.
"""

from __future__ import annotations

import dataclasses

import ape
import pytest

from tests.utils.rates import set_rates

WAD = 10**18
USDA = 10**6
MAX_UINT = 2**256 - 1


@pytest.fixture(scope="module")
def system(project, accounts, chain, system_params):
    from ala.deploy import deploy_system
    from ala.params import AuctionParams

    return deploy_system(project, accounts[0], dataclasses.replace(system_params, auction=AuctionParams()), chain)


@pytest.fixture
def underwater(actions, system, lender, borrower, owner):
    set_rates(system.vault, owner, 0, 0, 0, WAD // 2)
    actions.lend(lender, 1_000_000)
    actions.post(borrower, "WETH", 10)
    actions.borrow(borrower, 15_000)
    actions.set_price("WETH", 1_700)
    return borrower


def test_liquidate__own_account_with_one_unit_max_repay__opens_no_dust_auction(system, underwater):
    engine, weth = system.engine, system.tokens["WETH"]
    debt = system.vault.debt_of(underwater)

    tx = engine.liquidate(underwater, weth, 1, sender=underwater)

    event = engine.AuctionOpened.from_receipt(tx)[0]
    assert event.tab == -(-debt * engine.close_ratio() // WAD)  # the engine's slice, not the caller's one unit
    lot_value = event.lot * system.oracle.price(weth) // 10**18
    assert lot_value >= engine.dust_value()


def test_end_auction__debt_repaid_during_the_auction__anyone_ends_it_and_the_lot_returns_to_the_ledger(
    actions, system, underwater, keeper, stranger
):
    engine, vault, auctions, weth = system.engine, system.vault, system.auctions, system.tokens["WETH"]
    event = engine.AuctionOpened.from_receipt(engine.liquidate(underwater, weth, MAX_UINT, sender=keeper))[0]
    posted = vault.collateral_of(underwater, weth)
    actions.mint("USDA", underwater, 20_000, vault)
    vault.repay(MAX_UINT, underwater, sender=underwater)

    auctions.end_auction(event.auction_id, sender=stranger)

    assert vault.collateral_of(underwater, weth) == posted + event.lot
    assert weth.balanceOf(system.auction) == 0 and weth.balanceOf(stranger) == 0
    assert auctions.auction_of(underwater) == 0
    assert system.auction.auction_info(event.auction_id).finished


def test_end_auction__debt_still_owed__reverts(system, underwater, keeper, stranger):
    engine, weth = system.engine, system.tokens["WETH"]
    event = engine.AuctionOpened.from_receipt(engine.liquidate(underwater, weth, MAX_UINT, sender=keeper))[0]
    with ape.reverts("auctions: debt not covered"):
        system.auctions.end_auction(event.auction_id, sender=stranger)
