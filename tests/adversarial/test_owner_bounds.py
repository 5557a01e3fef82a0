"""Invariant 13, the owner is bounded: ending an auction early (`yank_auction`) returns its unsold lot to the
account's collateral in the vault's ledger, never to an address of the owner's choosing, and a yank never writes
off debt that the returned collateral still covers. The market of `tests/unit/test_engine_auction.py`: 10 WETH
($2,000) against 15,000 USDA, WETH at $1,700, no bids, so half the debt's worth of WETH goes to auction.
"""

from __future__ import annotations

import dataclasses

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
def auctioned(actions, system, lender, borrower, owner, keeper):
    set_rates(system.vault, owner, 0, 0, 0, WAD // 2)
    actions.lend(lender, 1_000_000)
    actions.post(borrower, "WETH", 10)
    actions.borrow(borrower, 15_000)
    actions.set_price("WETH", 1_700)
    tx = system.engine.liquidate(borrower, system.tokens["WETH"], MAX_UINT, sender=keeper)
    return system.engine.AuctionOpened.from_receipt(tx)[0]


def test_yank_auction__unsold_lot__goes_back_to_the_account_collateral_in_the_ledger(
    system, auctioned, borrower, owner
):
    weth, vault, auctions = system.tokens["WETH"], system.vault, system.auctions
    posted, total, wallet = vault.collateral_of(borrower, weth), vault.total_collateral(weth), weth.balanceOf(owner)
    debt = vault.debt_of(borrower)

    auctions.yank_auction(auctioned.auction_id, sender=owner)

    assert weth.balanceOf(owner) == wallet  # nothing to the owner
    assert weth.balanceOf(auctions) == 0 and weth.balanceOf(system.auction) == 0
    assert vault.collateral_of(borrower, weth) == posted + auctioned.lot
    assert vault.total_collateral(weth) == total + auctioned.lot
    assert auctions.auction_of(borrower) == 0
    # the collateral covers the debt again: nothing is written off
    assert vault.debt_of(borrower) == debt and vault.total_bad_debt() == 0
