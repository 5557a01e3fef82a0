# pragma version ~=0.4.3
"""
@title Risk metrics shared by the liquidation engine and the lens
@notice The three account metrics of DESIGN.md, computed from values in WAD USD:
        LTV health `Σ v_i·liq_ltv_i / B`, risk ratio `(Σ f_i·v_i + f_base·B) / (S − B)`
        and leverage `S / (S − B)`. One place for the math, so the opening limits
        and the liquidation thresholds (the engine) and the batched views (the lens)
        can never drift apart. Pure functions only: no storage.
@license MIT
@custom:contract-name risk
"""

from snekmate.utils import math

# 1e18 = 100%
WAD: constant(uint256) = 10**18
# Reported for a metric that is unbounded (no debt for health; S <= B for ratio and leverage).
INFINITE: constant(uint256) = max_value(uint256)


struct Totals:
    # Σ v_i, WAD USD
    collateral_value: uint256
    # B, WAD USD
    debt_value: uint256
    # Σ v_i·liq_ltv_i, WAD USD
    liquidation_capacity: uint256
    # Σ v_i·max_ltv_i, WAD USD
    borrow_capacity: uint256
    # Σ f_i·v_i, WAD USD
    weighted_risk: uint256


@internal
@pure
def _add(t: Totals, worth: uint256, max_ltv: uint256, liq_ltv: uint256, risk_factor: uint256) -> Totals:
    """
    @notice `t` with one more collateral worth `worth` (WAD USD), with these parameters (WAD).
    """
    result: Totals = t
    result.collateral_value += worth
    # dev: capacities round down and risk rounds up (neither ever favours the account)
    result.liquidation_capacity += worth * liq_ltv // WAD
    result.borrow_capacity += worth * max_ltv // WAD
    result.weighted_risk += math._ceil_div(worth * risk_factor, WAD)
    return result


@internal
@pure
def _health(t: Totals) -> uint256:
    if t.debt_value == 0:
        return INFINITE
    # dev: round down, so an account at the line counts as unhealthy (favours the protocol)
    return t.liquidation_capacity * WAD // t.debt_value


@internal
@pure
def _risk_ratio(t: Totals, base_risk_factor: uint256) -> uint256:
    if t.collateral_value <= t.debt_value:
        return INFINITE
    # dev: round up, risk is never understated (favours the protocol)
    risk: uint256 = t.weighted_risk + math._ceil_div(t.debt_value * base_risk_factor, WAD)
    equity: uint256 = t.collateral_value - t.debt_value
    # dev: round up (favours the protocol)
    return math._ceil_div(risk * WAD, equity)


@internal
@pure
def _leverage(t: Totals) -> uint256:
    if t.collateral_value <= t.debt_value:
        return INFINITE
    equity: uint256 = t.collateral_value - t.debt_value
    # dev: round up (favours the protocol)
    return math._ceil_div(t.collateral_value * WAD, equity)


@internal
@pure
def _liquidatable(t: Totals, base_risk_factor: uint256, liq_risk_ratio: uint256, liq_leverage: uint256) -> bool:
    """
    @notice True when the account owes something and breaches any liquidation threshold.
    """
    if t.debt_value == 0:
        return False
    if t.collateral_value <= t.debt_value:
        return True
    if self._health(t) < WAD:
        return True
    if self._risk_ratio(t, base_risk_factor) > liq_risk_ratio:
        return True
    return self._leverage(t) > liq_leverage
