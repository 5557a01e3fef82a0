"""LiquidationEngine: thresholds, close ratio and dust rules, slot order, fees, bad debt, views, admin."""

import ape
import pytest

from tests.utils.rates import set_rates

WAD = 10**18
MAX_UINT = 2**256 - 1
USDA = 10**6


@pytest.fixture
def weth(system):
    return system.tokens["WETH"]


@pytest.fixture
def underwater(actions, system, lender, borrower):
    """A borrower with 10 WETH ($2,000) and 15,000 USDA of debt; WETH then drops to $1,700 (health 0.963)."""
    actions.lend(lender, 1_000_000)
    actions.post(borrower, "WETH", 10)
    actions.borrow(borrower, 15_000)
    actions.set_price("WETH", 1_700)
    return borrower


def expected_fill(debt, step_slots, price, base_price, fees, close_ratio=WAD // 2, decimals=18):
    """Exact integer replay of DESIGN.md steps 2-4 for fills that do not hit the collateral cap."""
    target = -(-debt * close_ratio // WAD)
    funds = -(-target * WAD // (WAD - fees))
    out = []
    left = funds
    for slot, active, step in step_slots:
        if left == 0:
            break
        p_k = price * (WAD - slot * step) // WAD
        # whole collateral units rounded down, then the base that pays for them rounded up
        x = min(active, left) * base_price * 10**decimals // (USDA * p_k)
        u = -(-x * USDA * p_k // (base_price * 10**decimals))
        out.append((slot, u, x))
        left -= u
    return target, funds, out


def test_liquidate__healthy_account__reverts(actions, system, lender, borrower, bidder, keeper, weth):
    actions.lend(lender, 100_000)
    actions.post(borrower, "WETH", 10)
    actions.borrow(borrower, 10_000)
    actions.bid(bidder, "WETH", 0, 50_000)
    with ape.reverts("engine: healthy"):
        system.engine.liquidate(borrower, weth, MAX_UINT, sender=keeper)


def test_liquidate__bad_arguments__revert_with_their_reason(system, underwater, keeper, weth, stranger):
    with ape.reverts("engine: zero account"):
        system.engine.liquidate("0x0000000000000000000000000000000000000000", weth, MAX_UINT, sender=keeper)
    with ape.reverts("engine: zero max repay"):
        system.engine.liquidate(underwater, weth, 0, sender=keeper)
    with ape.reverts("engine: unknown collateral"):
        system.engine.liquidate(underwater, stranger, MAX_UINT, sender=keeper)
    with ape.reverts("engine: no such collateral"):
        system.engine.liquidate(underwater, system.tokens["WBTC"], MAX_UINT, sender=keeper)


def test_liquidate__only_pending_bids__reverts_no_active_bids(actions, system, underwater, bidder, keeper, weth):
    actions.submit(bidder, "WETH", 0, 50_000)
    with ape.reverts("engine: no active bids"):
        system.engine.liquidate(underwater, weth, MAX_UINT, sender=keeper)


def test_liquidate__one_slot__repays_close_ratio_and_splits_fees(
    actions, system, underwater, bidder, keeper, owner, weth
):
    bid = actions.bid(bidder, "WETH", 0, 50_000)
    vault, engine, queue, base = system.vault, system.engine, system.queue, system.base
    # no interest, so the debt the snapshot reads is the debt the liquidation repays a block later
    set_rates(vault, owner, 0, 0, 0, WAD // 2)
    reserves_before = vault.reserves()
    keeper_before = base.balanceOf(keeper)
    snap = system.lens.liquidation_snapshot(underwater, weth)
    preview = system.lens.preview_liquidation(underwater, weth)

    tx = engine.liquidate(underwater, weth, MAX_UINT, sender=keeper)

    fees = engine.keeper_fee() + engine.protocol_fee()
    target, funds, fills = expected_fill(
        snap.debt, [(0, 50_000 * USDA, 10**16)], snap.collateral_price, snap.base_price, fees
    )
    (_, u, x) = fills[0]
    event = engine.Liquidation.from_receipt(tx)[0]
    assert event.funds == u == funds
    assert event.seized == x
    assert event.keeper_fee == u * engine.keeper_fee() // WAD
    assert event.protocol_fee == u * engine.protocol_fee() // WAD
    assert event.repaid == u - event.keeper_fee - event.protocol_fee
    assert target <= event.repaid <= target + 2
    assert (event.first_slot, event.last_slot, event.bad_debt) == (0, 0, 0)
    assert base.balanceOf(keeper) - keeper_before == event.keeper_fee
    assert vault.reserves() - reserves_before >= event.protocol_fee
    assert vault.collateral_of(underwater, weth) == 10 * WAD - x
    assert weth.balanceOf(queue) == x
    assert queue.claimable(bid) == x
    # the preview said exactly this
    assert (preview.repay, preview.seized, preview.funds) == (event.repaid, event.seized, event.funds)
    assert (preview.keeper_fee, preview.protocol_fee) == (event.keeper_fee, event.protocol_fee)
    # half the debt repaid at a 0% premium restores the account
    assert not system.lens.account_health(underwater).liquidatable


def test_liquidate__slots_fill_strictly_in_order(actions, system, underwater, bidder, other_bidder, keeper, weth):
    low = actions.bid(bidder, "WETH", 1, 3_000)
    high = actions.bid(other_bidder, "WETH", 4, 50_000)
    queue, engine = system.queue, system.engine
    tx = engine.liquidate(underwater, weth, MAX_UINT, sender=keeper)
    event = engine.Liquidation.from_receipt(tx)[0]
    fills = queue.SlotFilled.from_receipt(tx)
    assert [f.slot for f in fills] == [1, 4]
    assert fills[0].base_spent == 3_000 * USDA  # slot 1 drained before slot 4 was touched
    assert queue.bid_info(low).amount == 0
    assert queue.bid_info(high).amount == 50_000 * USDA - fills[1].base_spent
    assert (event.first_slot, event.last_slot) == (1, 4)
    assert event.funds == sum(f.base_spent for f in fills)
    assert event.seized == sum(f.collateral_bought for f in fills)


def test_liquidate__max_repay__caps_the_repayment(actions, system, underwater, bidder, keeper, weth):
    actions.bid(bidder, "WETH", 0, 50_000)
    tx = system.engine.liquidate(underwater, weth, 1_000 * USDA, sender=keeper)
    event = system.engine.Liquidation.from_receipt(tx)[0]
    assert 1_000 * USDA <= event.repaid <= 1_000 * USDA + 2


def test_liquidate__max_repay_that_leaves_dust__reverts(actions, system, underwater, bidder, keeper, owner, weth):
    actions.bid(bidder, "WETH", 0, 50_000)
    system.engine.set_close_ratio(WAD, sender=owner)
    debt = system.vault.debt_of(underwater)
    with ape.reverts("engine: max repay leaves dust"):
        system.engine.liquidate(underwater, weth, debt - 5 * USDA, sender=keeper)


def test_liquidate__remainder_below_dust__repays_the_whole_debt(
    actions, system, underwater, bidder, keeper, owner, weth
):
    actions.bid(bidder, "WETH", 0, 50_000)
    # a close ratio of 99.99% would leave ~1.5 USDA: below the $10 dust, so the whole debt goes
    system.engine.set_close_ratio(WAD - WAD // 10_000, sender=owner)
    system.engine.liquidate(underwater, weth, MAX_UINT, sender=keeper)
    assert system.vault.debt_of(underwater) == 0


def test_liquidate__debt_below_dust__is_repaid_whole(actions, system, lender, borrower, bidder, keeper, owner, weth):
    actions.lend(lender, 10_000)
    actions.post(borrower, "WETH", "0.005")  # $10 of WETH
    actions.borrow(borrower, 7)
    actions.set_price("WETH", 1_500)
    actions.bid(bidder, "WETH", 0, 1_000)
    system.engine.liquidate(borrower, weth, MAX_UINT, sender=keeper)
    assert system.vault.debt_of(borrower) == 0


def test_liquidate__exhausted_collateral__writes_off_bad_debt_from_reserves_first(
    actions, system, underwater, bidder, keeper, owner, lender, weth, chain
):
    vault, engine = system.vault, system.engine
    engine.set_close_ratio(WAD, sender=owner)
    # a year of interest builds reserves; then WETH collapses to $1,000: 10 WETH cannot cover ~15,600 USDA
    chain.pending_timestamp += 365 * 86_400
    actions.refresh_feeds()
    vault.accrue_interest(sender=keeper)
    actions.set_price("WETH", 1_000)
    actions.bid(bidder, "WETH", 0, 100_000)
    reserves = vault.reserves()
    assets_before = vault.totalAssets()
    debt = vault.debt_of(underwater)
    assert reserves > 0

    # the liquidation lands in a block of the same second as the reads: no interest accrues in between
    chain.pending_timestamp = chain.blocks.head.timestamp
    tx = engine.liquidate(underwater, weth, MAX_UINT, sender=keeper)

    event = engine.Liquidation.from_receipt(tx)[0]
    write_off = vault.BadDebtWrittenOff.from_receipt(tx)[0]
    assert vault.collateral_of(underwater, weth) == 0
    assert vault.debt_of(underwater) == 0
    assert event.bad_debt == write_off.amount == debt - event.repaid
    assert write_off.from_reserves == min(write_off.amount, reserves + event.protocol_fee)
    assert write_off.from_lenders == write_off.amount - write_off.from_reserves
    assert vault.total_bad_debt() == write_off.amount
    # lenders lose exactly what the reserves could not absorb
    assert assets_before - vault.totalAssets() <= write_off.from_lenders + 1


def test_liquidate__by_risk_ratio_alone(actions, system, lender, borrower, bidder, keeper, owner, weth):
    vault = system.vault
    actions.lend(lender, 100_000)
    actions.post(borrower, "WETH", 10)
    actions.borrow(borrower, 10_000)
    health = system.lens.account_health(borrower)
    assert health.health > WAD and not health.liquidatable
    # tighten the risk-ratio threshold below the account's ratio; LTV and leverage still pass
    system.engine.set_risk_limits(
        2 * 10**16, health.risk_ratio - 2, health.risk_ratio - 1, 10 * WAD, 15 * WAD, sender=owner
    )
    assert not system.lens.account_health(borrower).liquidatable  # the threshold ramps down over a day
    actions.wait_out_ramps()
    assert system.lens.account_health(borrower).liquidatable
    actions.bid(bidder, "WETH", 0, 50_000)
    system.engine.liquidate(borrower, weth, MAX_UINT, sender=keeper)
    assert vault.debt_of(borrower) < 10_000 * USDA


def test_liquidate__by_leverage_alone(actions, system, lender, borrower, bidder, keeper, owner, weth):
    actions.lend(lender, 100_000)
    actions.post(borrower, "WETH", 10)
    actions.borrow(borrower, 10_000)
    health = system.lens.account_health(borrower)
    system.engine.set_risk_limits(2 * 10**16, WAD, 100 * WAD, health.leverage - 2, health.leverage - 1, sender=owner)
    assert not system.lens.account_health(borrower).liquidatable  # the threshold ramps down over a day
    actions.wait_out_ramps()
    assert system.lens.account_health(borrower).liquidatable
    actions.bid(bidder, "WETH", 0, 50_000)
    system.engine.liquidate(borrower, weth, MAX_UINT, sender=keeper)


def test_liquidate__collateral_cap__never_seizes_more_than_the_account_holds(
    actions, system, lender, borrower, bidder, keeper, owner, weth
):
    actions.lend(lender, 100_000)
    actions.post(borrower, "WETH", 1)
    actions.post(borrower, "WBTC", 1)
    actions.borrow(borrower, 40_000)
    actions.set_price("WBTC", 40_000)
    system.engine.set_close_ratio(WAD, sender=owner)
    actions.bid(bidder, "WETH", 0, 100_000)
    tx = system.engine.liquidate(borrower, weth, MAX_UINT, sender=keeper)
    event = system.engine.Liquidation.from_receipt(tx)[0]
    assert event.seized == 1 * WAD
    assert system.vault.collateral_of(borrower, weth) == 0
    assert event.bad_debt == 0  # WBTC still backs the rest
    # the slot paid for exactly what it got, at its price
    assert event.funds == 2_000 * USDA


def test_liquidatable__batch__matches_single_views(actions, system, underwater, other_borrower, stranger):
    actions.post(other_borrower, "WBTC", 1)
    actions.borrow(other_borrower, 1_000)
    flags = system.lens.liquidatable([underwater, other_borrower, stranger])
    assert flags == [True, False, False]


def test_preview_liquidation__healthy__is_empty(actions, system, lender, borrower, weth):
    actions.lend(lender, 100_000)
    actions.post(borrower, "WETH", 10)
    preview = system.lens.preview_liquidation(borrower, weth)
    assert not preview.liquidatable and preview.funds == 0


def test_vault_and_queue_hooks__callers_other_than_the_engine__revert(system, underwater, stranger, weth):
    with ape.reverts("vault: caller is not the engine"):
        system.vault.prepare_liquidation(underwater, sender=stranger)
    with ape.reverts("vault: caller is not the engine"):
        system.vault.list_collateral(stranger, sender=stranger)
    with ape.reverts("vault: caller is not the engine"):
        system.vault.settle_liquidation(underwater, weth, 1, stranger, 0, 0, True, sender=stranger)
    with ape.reverts("queue: caller is not the engine"):
        system.queue.fill(weth, WAD, WAD, 1, 1, stranger, 0, stranger, sender=stranger)


@pytest.mark.parametrize(
    ("setter", "args", "reason"),
    [
        ("set_close_ratio", (10**17 - 1,), "engine: close_ratio out of bounds"),
        ("set_close_ratio", (WAD + 1,), "engine: close_ratio out of bounds"),
        ("set_dust_value", (10_000 * WAD + 1,), "engine: dust_value above bound"),
        ("set_fees", (5 * 10**16 + 1, 0), "engine: keeper_fee above bound"),
        ("set_fees", (0, 10**17 + 1), "engine: protocol_fee above bound"),
    ],
)
def test_setters__out_of_bounds__revert_and_change_nothing(system, owner, setter, args, reason):
    engine = system.engine
    before = (engine.close_ratio(), engine.dust_value(), engine.keeper_fee(), engine.protocol_fee())
    with ape.reverts(reason):
        getattr(engine, setter)(*args, sender=owner)
    assert (engine.close_ratio(), engine.dust_value(), engine.keeper_fee(), engine.protocol_fee()) == before


def test_setters__owner__update_and_emit(system, owner):
    engine = system.engine
    tx = engine.set_close_ratio(WAD, sender=owner)
    assert engine.CloseRatioSet.from_receipt(tx)[0].close_ratio == WAD
    tx = engine.set_dust_value(5 * WAD, sender=owner)
    assert engine.DustValueSet.from_receipt(tx)[0].dust_value == 5 * WAD
    tx = engine.set_fees(10**16, 2 * 10**16, sender=owner)
    event = engine.FeesSet.from_receipt(tx)[0]
    assert (event.keeper_fee, event.protocol_fee) == (10**16, 2 * 10**16)
    assert (engine.close_ratio(), engine.dust_value(), engine.keeper_fee(), engine.protocol_fee()) == (
        WAD,
        5 * WAD,
        10**16,
        2 * 10**16,
    )


@pytest.mark.parametrize("setter", ["set_close_ratio", "set_dust_value"])
def test_setters__stranger__reverts(system, stranger, setter):
    with ape.reverts("ownable: caller is not the owner"):
        getattr(system.engine, setter)(WAD // 2, sender=stranger)
    with ape.reverts("ownable: caller is not the owner"):
        system.engine.set_fees(0, 0, sender=stranger)


def test_ownership__two_step_transfer(system, owner, stranger):
    engine = system.engine
    engine.transfer_ownership(stranger, sender=owner)
    assert engine.owner() == owner.address
    engine.accept_ownership(sender=stranger)
    assert engine.owner() == stranger.address


def test_constructor__mismatched_base_asset__reverts(project, system, owner, weth):
    other_queue = project.LiquidationQueue.deploy(weth, sender=owner)
    with ape.reverts("engine: base asset mismatch"):
        project.LiquidationEngine.deploy(system.vault, other_queue, sender=owner)
