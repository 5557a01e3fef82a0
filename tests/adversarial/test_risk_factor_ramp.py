"""Invariant 12, nothing moves under a standing position: a change of a listed collateral's `risk_factor` ramps over
one day from the value in force, like its `liq_ltv`, so an account is never made liquidatable in the block of the
change. The borrower posts 10 WETH at $2,000 (liq_ltv 85%, risk factor 10%) and owes 12,000 USDA: health
17,000 / 12,000 = 1.42; risk ratio (2,000 + 240) / 8,000 = 0.28 against a threshold of 1.5. A risk factor of 100%
would put it at (20,000 + 240) / 8,000 = 2.53 at once.
"""

from __future__ import annotations

import ape
import pytest

from tests.utils.ramp_model import ramp_in_force
from tests.utils.rates import set_rates

WAD = 10**18
PCT = WAD // 100
USDA = 10**6
MAX_UINT = 2**256 - 1
RAMP = 86_400


@pytest.fixture
def weth(system):
    return system.tokens["WETH"]


@pytest.fixture
def position(actions, system, lender, borrower, bidder, owner):
    set_rates(system.vault, owner, 0, 0, 0, WAD // 2)  # no interest: the metrics move with the parameters alone
    actions.lend(lender, 1_000_000)
    actions.post(borrower, "WETH", 10)
    actions.borrow(borrower, 12_000)
    actions.bid(bidder, "WETH", 0, 50_000)  # liquidity stands: only the threshold check can refuse
    health = system.lens.account_health(borrower)
    assert 141 * PCT < health.health < 142 * PCT and not health.liquidatable  # 1.42
    return borrower


def raise_risk_factor(system, owner, weth, chain, risk_factor=WAD):
    """configure_collateral with only the risk factor changed, mined at a known timestamp (the ramp's start)."""
    at = chain.blocks.head.timestamp + 1
    chain.pending_timestamp = at
    system.engine.configure_collateral(weth, 80 * PCT, 85 * PCT, risk_factor, sender=owner)
    return at


def at(chain, timestamp):
    chain.pending_timestamp = timestamp
    chain.mine()


def test_configure_collateral__raising_risk_factor__healthy_account_stays_healthy_in_the_block_of_the_change(
    system, owner, weth, chain, position, keeper
):
    raise_risk_factor(system, owner, weth, chain)

    assert system.engine.collateral_config(weth).risk_factor == 10 * PCT  # the value in force: not moved yet
    assert system.lens.liquidatable([position]) == [False]
    with ape.reverts("engine: healthy"):
        system.engine.liquidate(position, weth, MAX_UINT, sender=keeper)


def test_configure_collateral__raising_risk_factor__ramps_linearly_over_a_day(system, owner, weth, chain, position):
    start = raise_risk_factor(system, owner, weth, chain)
    for elapsed in (1, 3_600, RAMP // 3, RAMP // 2, RAMP - 1, RAMP, RAMP + 3_600):
        at(chain, start + elapsed)
        expected = ramp_in_force(10 * PCT, WAD, start, start + elapsed)
        assert system.engine.collateral_config(weth).risk_factor == expected, elapsed
    assert system.engine.collateral_config(weth).liq_ltv == 85 * PCT  # unchanged: it does not move


def test_configure_collateral__raising_risk_factor__liquidatable_only_once_the_ramp_crosses_the_position(
    system, owner, weth, chain, position, keeper
):
    """The risk ratio reaches 1.5 when the factor reaches (1.5 * 8,000 - 240) / 20,000 = 58.8%, 54.2% of the way:
    the borrower has half a day to repay or add collateral."""
    start = raise_risk_factor(system, owner, weth, chain)
    at(chain, start + RAMP // 2)
    assert not system.lens.account_health(position).liquidatable
    at(chain, start + 55 * RAMP // 100)
    assert system.lens.account_health(position).liquidatable
    system.engine.liquidate(position, weth, MAX_UINT, sender=keeper)


def test_configure_collateral__risk_factor_changed_during_a_ramp__starts_from_the_value_in_force(
    system, owner, weth, chain, position
):
    start = raise_risk_factor(system, owner, weth, chain)
    restart = start + RAMP // 2
    chain.pending_timestamp = restart
    system.engine.configure_collateral(weth, 80 * PCT, 85 * PCT, 10 * PCT, sender=owner)  # back down
    ramp_from = ramp_in_force(10 * PCT, WAD, start, restart)
    assert system.engine.collateral_config(weth).risk_factor == ramp_from  # no jump at the restart
    at(chain, restart + RAMP)
    assert system.engine.collateral_config(weth).risk_factor == 10 * PCT


def test_borrow__while_a_risk_factor_raise_ramps__is_judged_by_the_target(system, owner, weth, chain, position):
    """Opening paths take the stricter of the factor in force and its target (Aave applies a new LTV to new borrows
    at once): no account opens at the old factor only to be liquidated as the ramp rises under it. 2,000 USDA more is
    within max_risk_ratio 1.0 at 10% ((2,000 + 280) / 6,000 = 0.38) but not at 100% ((20,000 + 280) / 6,000)."""
    raise_risk_factor(system, owner, weth, chain)
    with ape.reverts("engine: exceeds max risk ratio"):
        system.vault.borrow(2_000 * USDA, position, sender=position)
