# pragma version ~=0.4.3
"""
@title Value, amount and slot-price conversions
@notice Every conversion between a token amount, its USD value and a discounted (slot) price, written
        once with its rounding stated: the risk metrics, the queue's quotes and the auction slice all
        go through here. Units: prices in WAD USD per whole token, `unit` = 10**decimals of a token,
        values in WAD USD, premiums in WAD. Every product stays below 2**256 for amounts below 2**128
        and prices below 2**96 (1e10 WAD USD); `math._mul_div` keeps full precision beyond that.
@license MIT
@custom:contract-name conversions
"""

from snekmate.utils import math

# 1e18 = 100%
WAD: constant(uint256) = 10**18


@internal
@pure
def _value(amount: uint256, price: uint256, unit: uint256, round_up: bool) -> uint256:
    """
    @notice WAD USD value of `amount` base units of a token with `unit = 10**decimals` at `price`.
            Collateral is valued rounding down and debt rounding up (both favour the protocol).
    """
    if round_up:
        return math._ceil_div(amount * price, unit)
    return amount * price // unit


@internal
@pure
def _discounted(price: uint256, premium: uint256) -> uint256:
    """
    @notice `price` less `premium` (a slot's premium, or the highest one), rounded down: a lower price gives the
            buyer more collateral per unit of base, never the seller.
    """
    return price * (WAD - premium) // WAD


@internal
@pure
def _collateral_for(base_amount: uint256, base_worth: uint256, collateral_worth: uint256, round_up: bool) -> uint256:
    """
    @notice Collateral units worth `base_amount` base units.
    @param base_worth base price (WAD USD) * 10**collateral decimals
    @param collateral_worth collateral price (WAD USD, discounted where it applies) * 10**base decimals
    """
    return math._mul_div(base_amount, base_worth, collateral_worth, round_up)


@internal
@pure
def _base_for(collateral_amount: uint256, base_worth: uint256, collateral_worth: uint256, round_up: bool) -> uint256:
    """
    @notice Base units worth `collateral_amount` collateral units (the inverse of `_collateral_for`).
    """
    return math._mul_div(collateral_amount, collateral_worth, base_worth, round_up)
