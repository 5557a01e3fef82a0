"""LiquidationEngine + DutchAuction: the fallback opens only when the bid pools fall short, and what the
auction raises repays the debt, refunds a surplus, or ends in a write-off."""

import dataclasses

import ape
import pytest

from tests.utils.auction_model import Curve
from tests.utils.rates import set_rates

WAD = 10**18
MAX_UINT = 2**256 - 1
USDA = 10**6
ZERO = "0x0000000000000000000000000000000000000000"


@pytest.fixture(scope="module")
def system(project, accounts, chain, system_params):
    """The conftest system with a Dutch-auction house wired to the engine (the contract's default curve)."""
    from ala.deploy import deploy_system
    from ala.params import AuctionParams

    return deploy_system(project, accounts[0], dataclasses.replace(system_params, auction=AuctionParams()), chain)


@pytest.fixture
def weth(system):
    return system.tokens["WETH"]


@pytest.fixture
def underwater(actions, system, lender, borrower, owner):
    """10 WETH ($2,000) against 15,000 USDA; WETH drops to $1,700. No interest, so debts stay put."""
    set_rates(system.vault, owner, 0, 0, 0, WAD // 2)
    actions.lend(lender, 1_000_000)
    actions.post(borrower, "WETH", 10)
    actions.borrow(borrower, 15_000)
    actions.set_price("WETH", 1_700)
    return borrower


@pytest.fixture
def taker(actions, system, stranger):
    """A buyer of auctioned collateral with 1,000,000 USDA approved to the auction house."""
    actions.mint("USDA", stranger, 1_000_000, system.auction)
    return stranger


def expected_slice(system, snap, weth, repaid, seized=0):
    """(tab, lot, top) the engine should hand to the auction house, from the vault's snapshot before the
    liquidation, after the queue repaid `repaid` and took `seized` collateral."""
    target = -(-snap.debt * system.engine.close_ratio() // WAD)
    pool = system.queue.pool_params(weth)
    top_usd = snap.collateral_price * (WAD - pool.max_slot * pool.premium_step) // WAD
    tab = target - repaid
    lot = min(-(-tab * 10**18 * snap.base_price // (top_usd * USDA)), snap.collateral_amount - seized)
    return tab, lot, top_usd * WAD // snap.base_price


def opened(engine, tx):
    events = engine.AuctionOpened.from_receipt(tx)
    assert len(events) == 1
    return events[0]


# ---------------------------------------------------------------- opening


def test_liquidate__queue_covers_the_slice__no_auction(actions, system, underwater, bidder, keeper, weth):
    actions.bid(bidder, "WETH", 0, 50_000)
    tx = system.engine.liquidate(underwater, weth, MAX_UINT, sender=keeper)
    assert system.engine.AuctionOpened.from_receipt(tx) == []
    assert system.auctions.auction_of(underwater) == 0
    assert system.auction.next_auction_id() == 1


def test_liquidate__no_bids__auctions_the_whole_slice_from_the_top_slot_price(
    actions, system, underwater, keeper, weth
):
    engine, vault, auction = system.engine, system.vault, system.auction
    debt = vault.debt_of(underwater)
    tab, lot, top = expected_slice(system, system.lens.liquidation_snapshot(underwater, weth), weth, 0)
    preview = system.lens.preview_liquidation(underwater, weth)

    tx = engine.liquidate(underwater, weth, MAX_UINT, sender=keeper)

    event = opened(engine, tx)
    assert (event.account, event.collateral, event.tab, event.lot, event.top) == (
        underwater.address,
        weth.address,
        tab,
        lot,
        top,
    )
    assert tab == 7_500 * USDA
    # what the preview announced
    assert (preview.funds, preview.repay, preview.auction_lot, preview.auction_tab) == (0, 0, lot, tab)
    liquidation = engine.Liquidation.from_receipt(tx)[0]
    assert (liquidation.repaid, liquidation.seized, liquidation.funds, liquidation.bad_debt) == (0, 0, 0, 0)
    # the lot left the account for the auction house; the debt waits for the proceeds
    assert vault.collateral_of(underwater, weth) == 10 * WAD - lot
    assert weth.balanceOf(auction) == lot
    assert vault.debt_of(underwater) == debt
    info = auction.auction_info(event.auction_id)
    assert (info.account, info.lot, info.tab, info.top, info.finished) == (underwater.address, lot, tab, top, False)
    assert system.auctions.auction_of(underwater) == event.auction_id
    # not liquidated again while the auction runs
    assert system.lens.liquidatable([underwater]) == [False]
    assert not system.lens.preview_liquidation(underwater, weth).liquidatable
    with ape.reverts("engine: auction running"):
        engine.liquidate(underwater, weth, MAX_UINT, sender=keeper)


def test_liquidate__queue_short__auctions_only_the_unfilled_remainder(
    actions, system, underwater, bidder, keeper, weth
):
    engine, vault = system.engine, system.vault
    actions.bid(bidder, "WETH", 3, 3_000)
    preview = system.lens.preview_liquidation(underwater, weth)
    snap = system.lens.liquidation_snapshot(underwater, weth)

    tx = engine.liquidate(underwater, weth, MAX_UINT, sender=keeper)

    liquidation = engine.Liquidation.from_receipt(tx)[0]
    assert liquidation.funds == 3_000 * USDA
    tab, lot, _ = expected_slice(system, snap, weth, liquidation.repaid, liquidation.seized)
    event = opened(engine, tx)
    assert (event.tab, event.lot) == (tab, lot)
    assert (preview.repay, preview.seized, preview.auction_tab, preview.auction_lot) == (
        liquidation.repaid,
        liquidation.seized,
        tab,
        lot,
    )
    assert vault.collateral_of(underwater, weth) == 10 * WAD - liquidation.seized - lot
    # the queue's part is repaid at once; the auction's part is still owed
    assert vault.debt_of(underwater) == 15_000 * USDA - liquidation.repaid


# ---------------------------------------------------------------- settling


def test_take_whole_tab_then_settle__repays_the_tab_and_releases_the_account(
    actions, system, underwater, keeper, taker, weth
):
    engine, vault, auction, base = system.engine, system.vault, system.auction, system.base
    event = opened(engine, engine.liquidate(underwater, weth, MAX_UINT, sender=keeper))
    debt = vault.debt_of(underwater)
    wallet = weth.balanceOf(underwater)

    bought, owe = auction.take(event.auction_id, MAX_UINT, MAX_UINT, taker, b"", sender=taker).return_value
    assert owe == event.tab and bought <= event.lot
    # the proceeds wait in the auction settlement until settled (anyone may settle)
    assert base.balanceOf(system.auctions) == owe and base.balanceOf(engine) == 0
    assert system.auctions.auction_of(underwater) == event.auction_id

    tx = system.auctions.settle_auction(event.auction_id, sender=keeper)

    settled = system.auctions.AuctionSettled.from_receipt(tx)[0]
    assert (settled.repaid, settled.refunded, settled.finished) == (owe, 0, True)
    assert engine.Liquidation.from_receipt(tx) == []  # nothing to close: no write-off was asked
    assert tx.return_value == owe
    assert vault.debt_of(underwater) == debt - owe
    assert base.balanceOf(engine) == 0 == base.balanceOf(system.auctions)
    assert system.auctions.auction_of(underwater) == 0
    assert system.auctions.auction_booked(event.auction_id) == owe
    # the unsold rest of the lot (rounding only, at the top price) went back to the borrower
    assert weth.balanceOf(underwater) - wallet == event.lot - bought
    with ape.reverts("auctions: auction already settled"):
        system.auctions.settle_auction(event.auction_id, sender=keeper)


def test_partial_takes__each_settlement_books_what_is_new(actions, system, underwater, keeper, taker, weth):
    engine, vault, auction = system.engine, system.vault, system.auction
    event = opened(engine, engine.liquidate(underwater, weth, MAX_UINT, sender=keeper))
    debt = vault.debt_of(underwater)

    _, first = auction.take(event.auction_id, WAD, MAX_UINT, taker, b"", sender=taker).return_value
    assert system.auctions.settle_auction(event.auction_id, sender=keeper).return_value == first
    assert vault.debt_of(underwater) == debt - first
    # nothing new: a no-op that still leaves the account blocked
    tx = system.auctions.settle_auction(event.auction_id, sender=keeper)
    assert tx.return_value == 0 and system.auctions.AuctionSettled.from_receipt(tx) == []
    assert system.auctions.auction_of(underwater) == event.auction_id

    _, second = auction.take(event.auction_id, WAD, MAX_UINT, taker, b"", sender=taker).return_value
    system.auctions.settle_auction(event.auction_id, sender=keeper)
    assert vault.debt_of(underwater) == debt - first - second
    assert system.auctions.auction_booked(event.auction_id) == first + second


def test_liquidate__settles_a_finished_auction_first(actions, system, underwater, bidder, keeper, taker, weth, chain):
    engine, vault, auction = system.engine, system.vault, system.auction
    event = opened(engine, engine.liquidate(underwater, weth, MAX_UINT, sender=keeper))
    _, owe = auction.take(event.auction_id, MAX_UINT, MAX_UINT, taker, b"", sender=taker).return_value
    # WETH keeps falling; bids arrive
    actions.set_price("WETH", 1_000)
    actions.bid(bidder, "WETH", 0, 50_000)
    debt = vault.debt_of(underwater)
    assert system.lens.liquidatable([underwater]) == [False]  # not settled yet

    tx = engine.liquidate(underwater, weth, MAX_UINT, sender=keeper)

    settled = system.auctions.AuctionSettled.from_receipt(tx)[0]
    assert (settled.auction_id, settled.repaid, settled.finished) == (event.auction_id, owe, True)
    liquidation = engine.Liquidation.from_receipt(tx)[0]
    assert liquidation.repaid > 0
    assert vault.debt_of(underwater) == debt - owe - liquidation.repaid


def test_auction_sells_the_last_collateral_short__settlement_writes_off_the_rest(
    actions, system, underwater, keeper, owner, taker, weth, chain
):
    engine, vault, auction = system.engine, system.vault, system.auction
    engine.set_close_ratio(WAD, sender=owner)
    actions.set_price("WETH", 1_400)  # 10 WETH at the top price (1,260) cannot raise 15,000
    event = opened(engine, engine.liquidate(underwater, weth, MAX_UINT, sender=keeper))
    assert event.lot == 10 * WAD and event.tab == 15_000 * USDA
    assert vault.collateral_of(underwater, weth) == 0
    assert vault.debt_of(underwater) == 15_000 * USDA  # not written off while the auction runs
    assert vault.total_bad_debt() == 0

    bought, owe = auction.take(event.auction_id, MAX_UINT, MAX_UINT, taker, b"", sender=taker).return_value
    assert bought == event.lot and owe < event.tab
    tx = system.auctions.settle_auction(event.auction_id, sender=keeper)

    settled = system.auctions.AuctionSettled.from_receipt(tx)[0]
    assert (settled.repaid, settled.finished) == (owe, True)
    # the settlement has the engine close the account: it holds nothing, so the rest is bad debt
    written = engine.Liquidation.from_receipt(tx)[0].bad_debt
    assert written == 15_000 * USDA - owe
    assert vault.BadDebtWrittenOff.from_receipt(tx)[0].amount == written
    assert vault.debt_of(underwater) == 0
    assert system.auctions.auction_of(underwater) == 0


def test_borrower_repays_during_the_auction__the_surplus_goes_back_to_the_borrower(
    actions, system, underwater, keeper, taker, weth
):
    engine, vault, auction, base = system.engine, system.vault, system.auction, system.base
    event = opened(engine, engine.liquidate(underwater, weth, MAX_UINT, sender=keeper))
    # the borrower repays all but 1,000 USDA
    actions.mint("USDA", underwater, 14_000, vault)
    vault.repay(14_000 * USDA, underwater, sender=underwater)
    wallet = base.balanceOf(underwater)

    _, owe = auction.take(event.auction_id, MAX_UINT, MAX_UINT, taker, b"", sender=taker).return_value
    tx = system.auctions.settle_auction(event.auction_id, sender=keeper)

    settled = system.auctions.AuctionSettled.from_receipt(tx)[0]
    assert (settled.repaid, settled.refunded) == (1_000 * USDA, owe - 1_000 * USDA)
    assert vault.debt_of(underwater) == 0
    assert base.balanceOf(underwater) - wallet == owe - 1_000 * USDA
    assert base.balanceOf(engine) == 0 == base.balanceOf(system.auctions)


def test_auction_price_falls_on_the_stair_step_curve_from_the_top_slot(system, underwater, keeper, weth, chain):
    engine, auction = system.engine, system.auction
    event = opened(engine, engine.liquidate(underwater, weth, MAX_UINT, sender=keeper))
    started = auction.auction_info(event.auction_id).started_at
    for elapsed in (0, 89, 90, 900, 3_600):
        chain.pending_timestamp = started + elapsed
        chain.mine()
        curve = Curve(cut=auction.cut(), step=auction.step(), floor=auction.floor())
        assert auction.auction_price(event.auction_id) == curve.price(event.top, elapsed)


def test_yank_auction__owner_ends_it_and_settles(actions, system, underwater, keeper, owner, taker, stranger, weth):
    engine, vault, auction = system.engine, system.vault, system.auction
    event = opened(engine, engine.liquidate(underwater, weth, MAX_UINT, sender=keeper))
    _, owe = auction.take(event.auction_id, WAD, MAX_UINT, taker, b"", sender=taker).return_value
    lot_left = auction.auction_info(event.auction_id).lot
    debt = vault.debt_of(underwater)
    posted = vault.collateral_of(underwater, weth)
    with ape.reverts("ownable: caller is not the owner"):
        system.auctions.yank_auction(event.auction_id, sender=stranger)

    tx = system.auctions.yank_auction(event.auction_id, sender=owner)

    assert tx.return_value == owe
    assert weth.balanceOf(owner) == 0
    assert vault.collateral_of(underwater, weth) == posted + lot_left  # back in the ledger
    assert vault.debt_of(underwater) == debt - owe
    assert system.auctions.auction_of(underwater) == 0
    with ape.reverts("auctions: auction already settled"):
        system.auctions.yank_auction(event.auction_id, sender=owner)


# ---------------------------------------------------------------- wiring and bad input


def test_settle_auction__bad_input__reverts(actions, system, underwater, keeper, weth):
    with ape.reverts("auction: unknown auction"):
        system.auctions.settle_auction(7, sender=keeper)


def test_settle_auction__no_auction_house__reverts(project, system, owner, keeper):
    auctions = project.AuctionSettlement.deploy(system.engine, sender=owner)
    with ape.reverts("auctions: no auction house"):
        auctions.settle_auction(1, sender=keeper)
    with ape.reverts("auctions: no auction house"):
        auctions.yank_auction(1, sender=owner)


def test_set_auction_house__checks_its_wiring_once(project, system, owner, stranger):
    engine = project.LiquidationEngine.deploy(system.vault, system.queue, sender=owner)
    auctions = project.AuctionSettlement.deploy(engine, sender=owner)
    base, oracle, vault = system.base, system.oracle, system.vault
    ours = project.DutchAuction.deploy(base, oracle, auctions, vault, auctions, sender=owner)
    with ape.reverts("ownable: caller is not the owner"):
        auctions.set_auction_house(ours, sender=stranger)
    with ape.reverts("auctions: zero auction house"):
        auctions.set_auction_house(ZERO, sender=owner)
    with ape.reverts("auctions: auction house of another engine"):
        auctions.set_auction_house(system.auction, sender=owner)
    elsewhere = project.DutchAuction.deploy(base, oracle, auctions, vault, owner, sender=owner)
    with ape.reverts("auctions: auction proceeds go elsewhere"):
        auctions.set_auction_house(elsewhere, sender=owner)
    other_base = project.DutchAuction.deploy(system.tokens["WETH"], oracle, auctions, vault, auctions, sender=owner)
    with ape.reverts("auctions: auction base mismatch"):
        auctions.set_auction_house(other_base, sender=owner)

    tx = auctions.set_auction_house(ours, sender=owner)

    assert auctions.AuctionHouseSet.from_receipt(tx)[0].auction_house == ours.address
    assert auctions.auction_house() == ours.address
    with ape.reverts("auctions: auction house already set"):
        auctions.set_auction_house(ours, sender=owner)


def test_set_auctions__checks_its_wiring_once(project, system, owner, stranger):
    engine = project.LiquidationEngine.deploy(system.vault, system.queue, sender=owner)
    ours = project.AuctionSettlement.deploy(engine, sender=owner)
    with ape.reverts("ownable: caller is not the owner"):
        engine.set_auctions(ours, sender=stranger)
    with ape.reverts("engine: zero auctions"):
        engine.set_auctions(ZERO, sender=owner)
    with ape.reverts("engine: auctions of another engine"):
        engine.set_auctions(system.auctions, sender=owner)

    tx = engine.set_auctions(ours, sender=owner)

    assert engine.AuctionsSet.from_receipt(tx)[0].auctions == ours.address
    assert engine.auctions() == ours.address
    with ape.reverts("engine: auctions already set"):
        engine.set_auctions(ours, sender=owner)


def test_write_off__account_that_still_has_collateral_value__reverts(system, underwater, keeper):
    """Invariant 13: nobody, the owner included, writes off debt that collateral still covers."""
    with ape.reverts("engine: not dust"):
        system.engine.write_off(underwater, sender=keeper)


def test_write_off__healthy_account__reverts(actions, system, lender, borrower, keeper):
    actions.lend(lender, 100_000)
    actions.post(borrower, "WETH", 10)
    actions.borrow(borrower, 1_000)
    with ape.reverts("engine: healthy"):
        system.engine.write_off(borrower, sender=keeper)


def test_refund_the_borrower_cannot_receive__is_held_for_claim_refund(project, chain, system_params, owner, accounts):
    from ala.deploy import deploy_system
    from ala.params import AuctionParams
    from tests.utils.actions import Actions

    usdb = project.MockBlockingToken.deploy("USDB", "USDB", 6, sender=owner)
    base = dataclasses.replace(system_params.base, symbol="USDB", address=usdb.address)
    params = dataclasses.replace(system_params, base=base, auction=AuctionParams())
    s = deploy_system(project, owner, params, chain)
    actions = Actions(s, owner, chain)
    lender, borrower, keeper, taker = accounts[1], accounts[2], accounts[4], accounts[5]
    weth = s.tokens["WETH"]
    set_rates(s.vault, owner, 0, 0, 0, WAD // 2)
    actions.lend(lender, 1_000_000)
    actions.post(borrower, "WETH", 10)
    actions.borrow(borrower, 15_000)
    actions.set_price("WETH", 1_700)
    auction_id = opened(s.engine, s.engine.liquidate(borrower, weth, MAX_UINT, sender=keeper)).auction_id
    actions.mint("USDB", borrower, 14_000, s.vault)
    s.vault.repay(14_000 * USDA, borrower, sender=borrower)
    usdb.set_blocked(borrower, True, sender=owner)
    actions.mint("USDB", taker, 100_000, s.auction)
    _, owe = s.auction.take(auction_id, MAX_UINT, MAX_UINT, taker, b"", sender=taker).return_value

    tx = s.auctions.settle_auction(auction_id, sender=keeper)

    surplus = owe - 1_000 * USDA
    assert s.auctions.RefundHeld.from_receipt(tx)[0].amount == surplus
    settled = s.auctions.AuctionSettled.from_receipt(tx)[0]
    assert (settled.repaid, settled.refunded, settled.finished) == (1_000 * USDA, surplus, True)
    assert s.auctions.refunds(borrower) == surplus == usdb.balanceOf(s.auctions)
    assert s.auctions.auction_of(borrower) == 0 and s.vault.debt_of(borrower) == 0
    with ape.reverts("auctions: no refund"):
        s.auctions.claim_refund(keeper, sender=keeper)
    with ape.reverts("auctions: zero receiver"):
        s.auctions.claim_refund(ZERO, sender=borrower)
    # the borrower collects it at another address
    claim = s.auctions.claim_refund(taker, sender=borrower)
    assert claim.return_value == surplus
    assert s.auctions.RefundClaimed.from_receipt(claim)[0].receiver == taker.address
    assert s.auctions.refunds(borrower) == 0 == usdb.balanceOf(s.auctions)
