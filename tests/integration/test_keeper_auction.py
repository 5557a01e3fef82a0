"""The keeper and the Dutch-auction fallback: it liquidates into auctions when no bids stand, takes collateral
below its reference price, settles what auctions raised, and redoes auctions that are due."""

from __future__ import annotations

import dataclasses

import pytest

from tests.utils.actions import Actions
from tests.utils.rates import set_rates

WAD = 10**18
USDA = 10**6


@pytest.fixture(scope="module")
def system(project, accounts, chain, system_params):
    """The conftest system with an auction house wired to the engine, every feed behind a proxy."""
    from ala.deploy import deploy_system
    from ala.params import AuctionParams

    params = dataclasses.replace(system_params, auction=AuctionParams())
    return deploy_system(project, accounts[0], params, chain, feed_proxies=True)


@pytest.fixture
def underwater(system, owner, chain, accounts):
    """Two borrowers of 10 WETH and 15,000 USDA each, WETH down from $2,000 to $1,700, and no bids at all."""
    actions = Actions(system, owner, chain)
    set_rates(system.vault, owner, 0, 0, 0, WAD // 2)
    actions.lend(accounts[1], 1_000_000)
    borrowers = [accounts[15], accounts[16]]
    for b in borrowers:
        actions.post(b, "WETH", 10)
        actions.borrow(b, 15_000)
    actions.set_price("WETH", 1_700)
    assert system.lens.liquidatable(borrowers) == [True, True]
    return actions, borrowers


def opened_auctions(system) -> int:
    return system.auction.next_auction_id() - 1


def test_keeper__no_bids__liquidates_into_auctions_and_does_not_take_without_a_margin(system, underwater, make_keeper):
    _, borrowers = underwater
    keeper = make_keeper()

    report = keeper.run_once()

    assert report.liquidations_mined == 2
    assert opened_auctions(system) == 2
    assert sorted(system.auctions.auction_of(b) for b in borrowers) == [1, 2]
    assert report.takes_sent == 0 and report.settles_sent == 0
    # nothing liquidatable while the auctions run
    assert system.lens.liquidatable(borrowers) == [False, False]


def test_keeper__take_margin__buys_below_the_reference_then_settles(system, underwater, make_keeper, keeper):
    actions, borrowers = underwater
    make_keeper().run_once()  # open the auctions
    first = {b: system.auctions.auction_of(b) for b in borrowers}
    debts = {b: system.vault.debt_of(b) for b in borrowers}
    actions.mint("USDA", keeper, 100_000, keeper)  # base to pay with (the keeper approves the auction house itself)
    # the auctions start at the top slot (10% below the oracle): a 5% margin takes at once
    taker = make_keeper(take_margin=0.05)

    report = taker.run_once()

    # each first auction was bought whole at its top price and settled; what the settlement left
    # liquidatable went to new auctions, which the keeper took and settled in turn
    assert report.takes_sent >= 2 and report.settles_sent >= 2
    for auction_id in first.values():
        info = system.auction.auction_info(auction_id)
        assert info.finished and info.tab == 0 and info.raised == info.due
    raised = {b.address: 0 for b in borrowers}
    for auction_id in range(1, system.auction.next_auction_id()):
        info = system.auction.auction_info(auction_id)
        assert system.auctions.auction_booked(auction_id) == info.raised
        raised[info.account] += info.raised
    for b in borrowers:
        assert system.vault.debt_of(b) == debts[b] - raised[b.address]
    assert system.tokens["WETH"].balanceOf(keeper) > 0
    kinds = [a["kind"] for a in taker.store.actions() if a["status"] == "mined"]
    assert kinds[0] == "approve" and kinds.count("approve") == 1


def test_keeper__take_margin_not_reached__waits(system, underwater, make_keeper, keeper):
    actions, _ = underwater
    make_keeper().run_once()
    actions.mint("USDA", keeper, 100_000, keeper)
    # 10% below the oracle is not 20% below it
    report = make_keeper(take_margin=0.20).run_once()
    assert report.takes_sent == 0
    assert not system.auction.auction_info(1).finished


def test_keeper__auction_past_its_tail__is_redone(system, underwater, make_keeper, chain):
    make_keeper().run_once()
    tops = [system.auction.auction_info(i).top for i in (1, 2)]
    chain.pending_timestamp = chain.blocks.head.timestamp + system.auction.tail() + 1
    chain.mine()

    report = make_keeper().run_once()

    assert report.redos_sent == 2
    for i in (1, 2):
        info = system.auction.auction_info(i)
        assert info.started_at >= chain.blocks.head.timestamp - 5
        assert not info.finished
    assert [system.auction.auction_info(i).top for i in (1, 2)] != tops
