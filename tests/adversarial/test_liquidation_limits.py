"""Liquidation edges. Thresholds are strict: an account exactly at a threshold is healthy, one wei past it is not.

Where DESIGN.md's invariant 7 stops: a liquidation cannot lower the health of an account whose *liquidation
capacity* (Σ v_i·liq_ltv_i) still covers liq_ltv_c·B after the premium and the fees, but DESIGN.md words the line as
"collateral covers the debt plus the highest premium and fees", which is the same only for one collateral.

With two collaterals of different liq_ltv, selling the one with the higher liq_ltv at a deep premium can lower the
health even though S·(1 - premium)·(1 - fees) >= B. This test pins that (the state machine checks the precise
condition, `invariant_7_liquidation_never_lowers_covered_health`).
"""

from __future__ import annotations

import ape
import pytest

from tests.adversarial.conftest import MAX_UINT, WAD
from tests.utils.rates import set_rates

MAX_SLOT = 10


def test_liquidate__mixed_liq_ltv_account_whose_collateral_covers_the_debt__can_lower_its_health(
    actions, system, lender, borrower, bidder, keeper
):
    vault, engine = system.vault, system.engine
    weth, gold = system.tokens["WETH"], system.tokens["GOLD"]
    actions.lend(lender, 100_000)
    actions.post(borrower, "WETH", 1)  # liq_ltv 85%
    actions.post(borrower, "GOLD", 4)  # liq_ltv 75%
    actions.borrow(borrower, 7_000)
    actions.set_price("WETH", 700)  # WETH worth 0.10 of the debt
    actions.set_price("GOLD", "1802.5")  # GOLD worth 1.03 of the debt
    actions.bid(bidder, "WETH", MAX_SLOT, 10_000)  # only the deepest slot bids: a 10% premium
    before = system.lens.account_health(borrower)
    fees = engine.keeper_fee() + engine.protocol_fee()
    premium = MAX_SLOT * WAD // 100
    # DESIGN.md's line holds: the collateral covers the debt plus the premium and the fees ...
    assert before.collateral_value * (WAD - premium) * (WAD - fees) >= before.debt_value * WAD * WAD
    assert before.liquidatable

    engine.liquidate(borrower, weth, MAX_UINT, sender=keeper)

    after = system.lens.account_health(borrower)
    assert vault.collateral_of(borrower, weth) == 0 and vault.collateral_of(borrower, gold) == 4 * 10**6
    # ... and yet the health falls: the 85% collateral went for 89.1% of its value, the 75% one stayed
    assert 857 * WAD // 1000 < before.health < 858 * WAD // 1000
    assert after.health < before.health - WAD // 200  # 0.8575 -> 0.8481


# ------------------------------------------------------------------------------------------------ threshold edges


@pytest.fixture
def at_the_line(actions, system, owner, lender, borrower, bidder):
    """10 WETH ($20,000) against 16,000 USDA, no interest (so every figure is exact), and an active bid."""
    set_rates(system.vault, owner, 0, 0, 0, WAD // 2)
    actions.lend(lender, 100_000)
    actions.post(borrower, "WETH", 10)
    actions.borrow(borrower, 16_000)
    actions.bid(bidder, "WETH", 0, 50_000)
    return borrower


def _liquidatable(system, account) -> bool:
    flag = system.lens.liquidatable([account])[0]
    assert flag == system.lens.account_health(account).liquidatable
    return flag


def _wait_out_the_ramp(actions, chain):
    """Let a threshold ramp (one day) finish; post every price again so that none is stale."""
    actions.wait_out_ramps()


def test_liquidate__health_exactly_one__is_not_liquidatable_and_one_wei_below_is(
    at_the_line, actions, chain, system, owner, keeper
):
    weth = system.tokens["WETH"]
    # liq_ltv 80%: capacity 16,000 = debt, health exactly 1
    system.engine.configure_collateral(weth, 70 * WAD // 100, 80 * WAD // 100, WAD // 10, sender=owner)
    _wait_out_the_ramp(actions, chain)
    assert system.lens.account_health(at_the_line).health == WAD
    assert not _liquidatable(system, at_the_line)
    with ape.reverts("engine: healthy"):
        system.engine.liquidate(at_the_line, weth, MAX_UINT, sender=keeper)
    system.engine.configure_collateral(weth, 70 * WAD // 100, 80 * WAD // 100 - 1, WAD // 10, sender=owner)
    assert not _liquidatable(system, at_the_line)  # the 1-wei step ramps in too
    _wait_out_the_ramp(actions, chain)
    assert _liquidatable(system, at_the_line)


@pytest.mark.parametrize("metric", ["risk_ratio", "leverage"])
def test_liquidate__metric_exactly_at_its_threshold__is_not_liquidatable_and_one_wei_above_is(
    at_the_line, actions, chain, system, owner, keeper, metric
):
    weth = system.tokens["WETH"]
    health = system.lens.account_health(at_the_line)
    value = getattr(health, metric)

    def limits(threshold):
        if metric == "risk_ratio":
            return (2 * 10**16, threshold, threshold, 10 * WAD, 15 * WAD)
        return (2 * 10**16, WAD, 100 * WAD, threshold, threshold)

    system.engine.set_risk_limits(*limits(value), sender=owner)
    _wait_out_the_ramp(actions, chain)
    assert system.lens.account_health(at_the_line) == health
    assert not _liquidatable(system, at_the_line)
    with ape.reverts("engine: healthy"):
        system.engine.liquidate(at_the_line, weth, MAX_UINT, sender=keeper)
    system.engine.set_risk_limits(*limits(value - 1), sender=owner)
    assert not _liquidatable(system, at_the_line)  # the 1-wei step ramps in too
    _wait_out_the_ramp(actions, chain)
    assert _liquidatable(system, at_the_line)
    system.engine.liquidate(at_the_line, weth, MAX_UINT, sender=keeper)
