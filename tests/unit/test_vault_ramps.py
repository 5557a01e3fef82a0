"""LendingVault threshold ramps: a change of a listed asset's liq_ltv, or of the market's base_risk_factor,
liq_risk_ratio or liq_leverage, moves linearly over LIQ_LTV_RAMP seconds from the value in force, so no account
becomes liquidatable by the parameter step itself.

The borrower posts 10 WETH at $2,000 ($20,000; max_ltv 80%, liq_ltv 85%, risk factor 10%) and borrows 16,000 USDA
(LTV 80%; risk ratio (2,000 + 320) / 4,000 = 0.58; leverage 5).
"""

import ape
import pytest

from tests.utils.ramp_model import ramp_in_force
from tests.utils.rates import set_rates

WAD = 10**18
USDA = 10**6
RAMP = 86_400
PCT = WAD // 100


@pytest.fixture
def weth(system):
    return system.tokens["WETH"]


@pytest.fixture
def position(actions, lender, borrower, owner, system):
    set_rates(system.vault, owner, 0, 0, 0, WAD // 2)  # no interest: health moves with liq_ltv alone
    actions.lend(lender, 1_000_000)
    actions.post(borrower, "WETH", 10)
    actions.borrow(borrower, 16_000)
    return borrower


def configure(system, owner, weth, max_ltv, liq_ltv, chain):
    """configure_collateral mined at a known timestamp (the ramp starts there); returns (receipt, timestamp)."""
    at = chain.blocks.head.timestamp + 1
    chain.pending_timestamp = at
    tx = system.engine.configure_collateral(weth, max_ltv, liq_ltv, 10 * PCT, sender=owner)
    return tx, at


def in_force_at(system, weth, chain, timestamp):
    """The liq_ltv in force at `timestamp` (a block mined then)."""
    chain.pending_timestamp = timestamp
    chain.mine()
    return system.engine.collateral_config(weth).liq_ltv


linear = ramp_in_force


def test_lowering_liq_ltv__ramps_linearly_over_a_day(system, owner, weth, chain, position):
    tx, start = configure(system, owner, weth, 70 * PCT, 75 * PCT, chain)

    assert system.engine.CollateralConfigured.from_receipt(tx)[0].liq_ltv == 75 * PCT
    assert system.engine.collateral_config(weth).liq_ltv == 85 * PCT  # in the block of the change
    for elapsed in (1, 3_600, RAMP // 3, RAMP // 2, RAMP - 1, RAMP, RAMP + 3_600):
        expected = linear(85 * PCT, 75 * PCT, start, start + elapsed)
        assert in_force_at(system, weth, chain, start + elapsed) == expected
    assert system.engine.collateral_config(weth).liq_ltv == 75 * PCT


def test_raising_liq_ltv__ramps_too(system, owner, weth, chain, position):
    _, start = configure(system, owner, weth, 80 * PCT, 90 * PCT, chain)
    assert in_force_at(system, weth, chain, start + RAMP // 4) == 85 * PCT + 5 * PCT // 4
    assert in_force_at(system, weth, chain, start + RAMP) == 90 * PCT


def test_a_healthy_account__is_not_made_liquidatable_by_the_change(system, owner, weth, chain, position):
    """LTV 80% against liq_ltv 85% (health 1.0625). Lowering liq_ltv to 75% leaves it healthy in the block of the
    change; it becomes liquidatable only once the ramp crosses its LTV (80%), half-way through, which gives the
    borrower half a day to repay or add collateral."""
    health_before = system.lens.account_health(position).health
    _, start = configure(system, owner, weth, 70 * PCT, 75 * PCT, chain)
    assert system.lens.account_health(position).health == health_before
    assert system.lens.liquidatable([position]) == [False]

    chain.pending_timestamp = start + RAMP // 2 - 60
    chain.mine()
    assert not system.lens.account_health(position).liquidatable
    chain.pending_timestamp = start + RAMP // 2 + 60
    chain.mine()
    assert system.lens.account_health(position).liquidatable


def test_a_change_during_a_ramp__starts_from_the_value_in_force(system, owner, weth, chain, position):
    _, start = configure(system, owner, weth, 70 * PCT, 75 * PCT, chain)
    halfway = in_force_at(system, weth, chain, start + RAMP // 2)
    assert halfway == 80 * PCT
    # the owner changes their mind: back to 85%, from where the threshold is now (80%)
    _, restart = configure(system, owner, weth, 70 * PCT, 85 * PCT, chain)
    ramp_from = linear(85 * PCT, 75 * PCT, start, restart)
    assert system.engine.collateral_config(weth).liq_ltv == ramp_from  # no jump at the restart
    assert in_force_at(system, weth, chain, restart + RAMP // 2) == linear(
        ramp_from, 85 * PCT, restart, restart + RAMP // 2
    )
    assert in_force_at(system, weth, chain, restart + RAMP) == 85 * PCT


def test_other_parameters_changed__no_ramp(system, owner, weth, chain, position):
    _, start = configure(system, owner, weth, 75 * PCT, 85 * PCT, chain)
    assert system.engine.collateral_config(weth).max_ltv == 75 * PCT
    assert in_force_at(system, weth, chain, start + RAMP // 2) == 85 * PCT


def test_max_ltv_at_or_above_the_liq_ltv_in_force__reverts(system, owner, weth, chain, position):
    """Raising both limits at once would let an account open at the new max_ltv while the threshold still ramps
    up from the old liq_ltv: it would be liquidatable at once."""
    with ape.reverts("engine: max_ltv must be below liq_ltv"):
        system.engine.configure_collateral(weth, 86 * PCT, 90 * PCT, 10 * PCT, sender=owner)
    config = system.engine.collateral_config(weth)
    assert (config.max_ltv, config.liq_ltv) == (80 * PCT, 85 * PCT)
    # during a ramp down, max_ltv must stay below the threshold in force, not only below the target
    _, start = configure(system, owner, weth, 70 * PCT, 75 * PCT, chain)
    chain.pending_timestamp = start + RAMP // 2
    with ape.reverts("engine: max_ltv must be below liq_ltv"):
        system.engine.configure_collateral(weth, 80 * PCT, 85 * PCT, 10 * PCT, sender=owner)


def test_listing_a_new_asset__takes_its_liq_ltv_at_once(project, system, owner, chain):
    token = project.MockERC20.deploy("NEW", "NEW", 18, sender=owner)
    feed = project.MockAggregator.deploy(8, "NEW / USD", 10**8, sender=owner)
    system.oracle.set_feeds(token, [feed], 86_400, 0, sender=owner)
    system.engine.configure_collateral(token, 50 * PCT, 60 * PCT, 10 * PCT, sender=owner)
    assert system.engine.collateral_config(token).liq_ltv == 60 * PCT


# ---------------------------------------------------------------- the market's thresholds

DEPLOYED = (2 * PCT, WAD, 3 * WAD // 2, 10 * WAD, 15 * WAD)  # base_rf, max_rr, liq_rr, max_lev, liq_lev


def set_limits(system, owner, chain, limits):
    """set_risk_limits mined at a known timestamp (the ramp starts there); returns (receipt, timestamp)."""
    at = chain.blocks.head.timestamp + 1
    chain.pending_timestamp = at
    return system.engine.set_risk_limits(*limits, sender=owner), at


def limits_at(system, chain, timestamp):
    chain.pending_timestamp = timestamp
    chain.mine()
    return tuple(system.engine.risk_limits())


def test_market_thresholds__every_change__ramps_linearly_over_a_day(system, owner, chain, position):
    target = (10 * PCT, WAD // 2, WAD // 2, 4 * WAD, 9 * WAD // 2)
    tx, start = set_limits(system, owner, chain, target)
    event = system.engine.RiskLimitsSet.from_receipt(tx)[0]
    assert (event.liq_risk_ratio, event.ramp_end) == (WAD // 2, start + RAMP)
    # in the block of the change: the opening limits are the new ones, the thresholds the old ones
    assert tuple(system.engine.risk_limits()) == (2 * PCT, WAD // 2, 3 * WAD // 2, 4 * WAD, 15 * WAD)
    for elapsed in (1, 3_600, RAMP // 3, RAMP // 2, RAMP - 1, RAMP, RAMP + 3_600):
        now = start + elapsed
        expected = (
            linear(2 * PCT, 10 * PCT, start, now),
            WAD // 2,
            linear(3 * WAD // 2, WAD // 2, start, now),
            4 * WAD,
            linear(15 * WAD, 9 * WAD // 2, start, now),
        )
        assert limits_at(system, chain, now) == expected
    assert tuple(system.engine.risk_limits()) == target


def test_market_thresholds__a_healthy_account__is_not_made_liquidatable_by_the_change(
    system, owner, chain, actions, position
):
    """Risk ratio 0.58 against a liq_risk_ratio cut from 1.5 to 0.3: the threshold crosses 0.58 after
    (1.5 - 0.58) / 1.2 of the day, about 18.4 hours, which the borrower has to repay or add collateral."""
    health_before = system.lens.account_health(position)
    assert health_before.risk_ratio == 58 * PCT
    _, start = set_limits(system, owner, chain, (2 * PCT, 30 * PCT, 30 * PCT, 10 * WAD, 15 * WAD))
    assert system.lens.account_health(position) == health_before
    assert system.lens.liquidatable([position]) == [False]
    crossing = start + RAMP * 92 // 120
    chain.pending_timestamp = crossing - 120
    actions.refresh_feeds()
    assert system.engine.risk_limits().liq_risk_ratio > 58 * PCT
    assert system.lens.liquidatable([position]) == [False]
    chain.pending_timestamp = crossing + 120
    actions.refresh_feeds()
    assert system.engine.risk_limits().liq_risk_ratio < 58 * PCT
    assert system.lens.liquidatable([position]) == [True]


def test_market_thresholds__a_change_during_a_ramp__starts_from_the_values_in_force(system, owner, chain, position):
    _, start = set_limits(system, owner, chain, (2 * PCT, WAD // 2, WAD // 2, 10 * WAD, 15 * WAD))
    halfway = limits_at(system, chain, start + RAMP // 2)
    assert halfway[2] == WAD
    # back up to 2, from where the threshold is now
    _, restart = set_limits(system, owner, chain, (2 * PCT, WAD // 2, 2 * WAD, 10 * WAD, 15 * WAD))
    ramp_from = linear(3 * WAD // 2, WAD // 2, start, restart)
    assert system.engine.risk_limits().liq_risk_ratio == ramp_from  # no jump at the restart
    now = restart + RAMP // 4
    assert limits_at(system, chain, now)[2] == linear(ramp_from, 2 * WAD, restart, now)
    assert limits_at(system, chain, restart + RAMP)[2] == 2 * WAD


def test_market_thresholds__only_opening_limits_changed__no_ramp(system, owner, chain, position):
    tx, _ = set_limits(system, owner, chain, (2 * PCT, WAD // 2, 3 * WAD // 2, 4 * WAD, 15 * WAD))
    assert system.engine.RiskLimitsSet.from_receipt(tx)[0].ramp_end == 0
    assert tuple(system.engine.risk_limits()) == (2 * PCT, WAD // 2, 3 * WAD // 2, 4 * WAD, 15 * WAD)


def test_market_thresholds__nobody_owes_anything__take_effect_at_once(system, owner, chain):
    assert system.vault.total_debt() == 0
    target = (10 * PCT, WAD // 2, WAD // 2, 4 * WAD, 9 * WAD // 2)
    tx, _ = set_limits(system, owner, chain, target)
    assert system.engine.RiskLimitsSet.from_receipt(tx)[0].ramp_end == 0
    assert tuple(system.engine.risk_limits()) == target


@pytest.mark.parametrize("metric", ["risk_ratio", "leverage"])
def test_market_thresholds__opening_limit_above_the_threshold_in_force__reverts(metric, system, owner, chain, position):
    """While a threshold ramps down, the opening limit must stay at or below where it is, not only below its target:
    an account opened above it would be liquidatable at once."""
    down = (2 * PCT, WAD // 2, WAD // 2, 4 * WAD, 5 * WAD)
    _, start = set_limits(system, owner, chain, down)
    chain.pending_timestamp = start + RAMP // 2  # liq_risk_ratio 1.0, liq_leverage 10
    if metric == "risk_ratio":
        limits, reason = (2 * PCT, WAD + 1, 3 * WAD // 2, 4 * WAD, 5 * WAD), "engine: bad risk ratio limits"
    else:
        limits, reason = (2 * PCT, WAD // 2, WAD // 2, 10 * WAD + 1, 15 * WAD), "engine: bad leverage limits"
    with ape.reverts(reason):
        system.engine.set_risk_limits(*limits, sender=owner)
    assert tuple(system.engine.risk_limits()) == (2 * PCT, WAD // 2, WAD, 4 * WAD, 10 * WAD)


def test_market_thresholds__only_opening_limits_changed_during_a_ramp__the_ramp_goes_on(system, owner, chain, position):
    _, start = set_limits(system, owner, chain, (2 * PCT, WAD // 2, WAD // 2, 10 * WAD, 15 * WAD))
    chain.pending_timestamp = start + RAMP // 2
    tx = system.engine.set_risk_limits(2 * PCT, WAD // 4, WAD // 2, 4 * WAD, 15 * WAD, sender=owner)
    assert system.engine.RiskLimitsSet.from_receipt(tx)[0].ramp_end == start + RAMP  # not restarted
    now = start + 3 * RAMP // 4
    assert limits_at(system, chain, now) == (
        2 * PCT,
        WAD // 4,
        linear(3 * WAD // 2, WAD // 2, start, now),
        4 * WAD,
        15 * WAD,
    )
    assert limits_at(system, chain, start + RAMP)[2] == WAD // 2
