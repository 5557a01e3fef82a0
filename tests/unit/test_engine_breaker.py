"""LiquidationEngine and the oracle circuit breaker: paused liquidations, the views, repay and collateral."""

import ape
import pytest

WAD = 10**18
MAX_UINT = 2**256 - 1
USDA = 10**6
TOLERANCE = 10 * WAD // 100
DELAY = 3_600


@pytest.fixture
def weth(system):
    return system.tokens["WETH"]


@pytest.fixture
def position(actions, system, lender, borrower):
    """10 WETH ($2,000) against 15,000 USDA of debt: healthy until WETH drops below ~$1,765."""
    actions.lend(lender, 1_000_000)
    actions.post(borrower, "WETH", 10)
    actions.borrow(borrower, 15_000)
    return borrower


@pytest.fixture
def tripped(system, position, actions, bidder, owner, keeper, weth):
    """WETH's breaker on at 10% / 1 hour and anchored at $2,000; bids stand; WETH drops 15% to $1,700
    (health 0.963) and a poke trips the breaker. Steps in one fixture so their order is explicit."""
    system.oracle.set_breaker(weth, TOLERANCE, DELAY, sender=owner)
    system.oracle.poke(weth, sender=keeper)
    actions.bid(bidder, "WETH", 0, 50_000)
    actions.set_price("WETH", 1_700)
    tx = system.oracle.poke(weth, sender=keeper)
    assert system.oracle.BreakerTripped.from_receipt(tx)
    return position


def test_deploy__reads_the_vaults_oracle(system):
    assert system.engine.oracle() == system.oracle.address == system.vault.oracle()


def test_liquidate__breaker_off__large_move_liquidates(system, actions, position, bidder, keeper, weth):
    system.oracle.poke(weth, sender=keeper)
    actions.bid(bidder, "WETH", 0, 50_000)
    actions.set_price("WETH", 1_700)
    system.oracle.poke(weth, sender=keeper)
    assert not system.engine.liquidations_paused(weth)
    system.engine.liquidate(position, weth, MAX_UINT, sender=keeper)


def test_liquidate__jump_that_nobody_poked__reverts_paused(system, position, actions, bidder, owner, keeper, weth):
    """A liquidation in the block of a feed jump cannot get in before the poke that would trip the breaker."""
    system.oracle.set_breaker(weth, TOLERANCE, DELAY, sender=owner)
    system.oracle.poke(weth, sender=keeper)
    actions.bid(bidder, "WETH", 0, 50_000)
    actions.set_price("WETH", 1_700)
    assert system.lens.account_health(position).liquidatable
    with ape.reverts("engine: liquidations paused"):
        system.engine.liquidate(position, weth, MAX_UINT, sender=keeper)
    assert system.lens.liquidatable([position]) == [False]


def test_liquidate__tripped__reverts_paused(system, tripped, keeper, weth):
    with ape.reverts("engine: liquidations paused"):
        system.engine.liquidate(tripped, weth, MAX_UINT, sender=keeper)


@pytest.mark.parametrize("role", ["owner", "guardian"])
def test_liquidate__after_override__liquidates(system, tripped, keeper, owner, guardian, weth, role):
    system.oracle.set_guardian(guardian, sender=owner)
    system.oracle.confirm_price(weth, sender=owner if role == "owner" else guardian)
    tx = system.engine.liquidate(tripped, weth, MAX_UINT, sender=keeper)
    assert system.engine.Liquidation.from_receipt(tx)[0].repaid > 0


def test_liquidate__after_the_move_persisted__liquidates(system, tripped, keeper, weth, actions, chain):
    chain.pending_timestamp += DELAY
    actions.refresh_feeds()
    tx = system.oracle.poke(weth, sender=keeper)
    assert not system.oracle.PriceConfirmed.from_receipt(tx)[0].override
    tx = system.engine.liquidate(tripped, weth, MAX_UINT, sender=keeper)
    assert system.engine.Liquidation.from_receipt(tx)[0].repaid > 0


def test_repay_and_add_collateral__while_paused__work(system, tripped, actions, weth):
    debt = system.vault.debt_of(tripped)
    actions.mint("USDA", tripped, 1_000, system.vault)
    system.vault.repay(1_000 * USDA, tripped, sender=tripped)
    assert system.vault.debt_of(tripped) < debt
    actions.post(tripped, "WETH", 1)
    assert system.vault.collateral_of(tripped, weth) == 11 * WAD
    assert system.oracle.liquidations_paused(weth)


def test_views__while_paused__reflect_the_pause(system, tripped, weth):
    engine = system.engine
    assert engine.liquidations_paused(weth)
    # the threshold is breached, but WETH is the only collateral and it is paused
    assert system.lens.account_health(tripped).liquidatable
    assert system.lens.liquidatable([tripped]) == [False]
    preview = system.lens.preview_liquidation(tripped, weth)
    assert preview.liquidatable
    assert (preview.repay, preview.seized, preview.funds, preview.keeper_fee, preview.protocol_fee) == (0, 0, 0, 0, 0)


def test_views__after_confirmation__read_as_before(system, tripped, owner, weth):
    system.oracle.confirm_price(weth, sender=owner)
    assert not system.engine.liquidations_paused(weth)
    assert system.lens.liquidatable([tripped]) == [True]
    assert system.lens.preview_liquidation(tripped, weth).funds > 0


def test_liquidatable__paused_and_unpaused_collateral__stays_liquidatable(
    system, actions, owner, lender, borrower, other_borrower, keeper, weth
):
    """An account also holding unpaused WBTC can still be liquidated through it; an all-WETH one cannot."""
    system.oracle.set_breaker(weth, TOLERANCE, DELAY, sender=owner)
    system.oracle.poke(weth, sender=keeper)
    actions.lend(lender, 1_000_000)
    actions.post(borrower, "WETH", 10)
    actions.post(borrower, "WBTC", "0.01")
    actions.borrow(borrower, 15_000)
    actions.post(other_borrower, "WETH", 10)
    actions.borrow(other_borrower, 15_000)
    actions.set_price("WETH", 1_700)
    system.oracle.poke(weth, sender=keeper)
    assert system.engine.liquidations_paused(weth)
    assert not system.engine.liquidations_paused(system.tokens["WBTC"])
    assert system.lens.liquidatable([borrower, other_borrower, lender]) == [True, False, False]
