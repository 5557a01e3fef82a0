"""ala.account.liquidation_value: the solver's edge cases, in exact rationals (the integration tests check its
prices against the lens on a live chain)."""

from fractions import Fraction as F

from ala.account import Held, Limits, liquidation_price, liquidation_value

LIMITS = Limits(base_risk_factor=F(2, 100), liq_risk_ratio=F(3, 2), liq_leverage=F(15))


def weth(amount=10, price=2_000, liq_ltv=F(85, 100), risk_factor=F(1, 10)):
    return Held("WETH", amount * 10**18, 10**18, F(price), liq_ltv, risk_factor)


def test_one_collateral__health_binds_at_debt_over_liq_ltv():
    value, binding, high = liquidation_value([weth()], 0, F(12_000), LIMITS)
    assert (value, binding, high) == (F(12_000) / F(85, 100), "ltv_health", None)
    row = liquidation_price([weth()], 0, F(12_000), LIMITS)
    assert row["liquidation_price"] == float(F(12_000) / F(85, 100) / 10)
    assert row["drop"] == float(1 - F(12_000) / F(85, 100) / 10 / 2_000)


def test_no_debt__never_liquidatable():
    assert liquidation_value([weth()], 0, F(0), LIMITS) == (None, "", None)
    assert liquidation_price([weth()], 0, F(0), LIMITS)["liquidation_price"] is None


def test_other_collateral_covers_the_debt__no_price_of_this_one_liquidates():
    gold = Held("GOLD", 100 * 10**6, 10**6, F(2_500), F(75, 100), F(5, 100))  # $250,000
    value, binding, _ = liquidation_value([weth(), gold], 0, F(1_000), LIMITS)
    assert value is None and binding == ""


def test_collateral_with_no_liquidation_weight__liquidatable_at_any_price():
    value, binding, _ = liquidation_value([weth(liq_ltv=F(0))], 0, F(1_000), LIMITS)
    assert (value, binding) == (float("inf"), "ltv_health")


def test_risk_factor_above_the_risk_ratio_threshold__liquidatable_above_a_price_too():
    limits = Limits(base_risk_factor=F(0), liq_risk_ratio=F(1, 2), liq_leverage=F(15))
    gold = Held("GOLD", 10 * 10**6, 10**6, F(2_500), F(75, 100), F(0))  # $25,000, no risk weight
    risky = weth(amount=1, price=100, risk_factor=F(9, 10))
    _, _, high = liquidation_value([risky, gold], 0, F(10_000), limits)
    # (R - f)·v >= 0 + 0 - R·(25,000 - 10,000): -0.4 v >= -7,500, so v <= 18,750
    assert high == F(18_750)
