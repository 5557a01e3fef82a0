# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title ALA kinked interest rate model
@notice The utilisation-based borrow rate of a LendingVault (Compound's JumpRateModel, Aave's
        DefaultReserveInterestRateStrategy): `base_rate + slope_low·u/kink` up to the kink, then
        `slope_high` more over the rest of the range. Parameters are immutable and bounded at
        deployment: a vault changes model by pointing at a new one (`LendingVault.set_rate_model`).
@license MIT
@custom:contract-name KinkedRateModel
"""

from interfaces import IRateModel

implements: IRateModel

WAD: constant(uint256) = 10**18
# Bounds of the parameters; the highest rate a model can quote is 1400% a year.
MAX_BASE_RATE: constant(uint256) = WAD
MAX_SLOPE_LOW: constant(uint256) = 3 * WAD
MAX_SLOPE_HIGH: constant(uint256) = 10 * WAD

# Annual borrow rate at zero utilisation, WAD.
base_rate: public(immutable(uint256))
# Annual rate added from zero utilisation to the kink, WAD.
slope_low: public(immutable(uint256))
# Annual rate added from the kink to full utilisation, WAD.
slope_high: public(immutable(uint256))
# Utilisation where the slope steepens, WAD, strictly between 0 and 1e18.
kink: public(immutable(uint256))


@deploy
def __init__(base_rate_: uint256, slope_low_: uint256, slope_high_: uint256, kink_: uint256):
    assert base_rate_ <= MAX_BASE_RATE, "rate model: base_rate above bound"
    assert slope_low_ <= MAX_SLOPE_LOW, "rate model: slope_low above bound"
    assert slope_high_ <= MAX_SLOPE_HIGH, "rate model: slope_high above bound"
    assert kink_ != 0 and kink_ < WAD, "rate model: kink out of bounds"
    base_rate = base_rate_
    slope_low = slope_low_
    slope_high = slope_high_
    kink = kink_


@external
@view
def borrow_rate(utilisation: uint256) -> uint256:
    """
    @notice Annual borrow rate, WAD, at `utilisation` (WAD; values above 1e18 count as 1e18).
    """
    u: uint256 = min(utilisation, WAD)
    if u <= kink:
        # dev: round down, the borrower's rate is never overstated by more than a wei
        return base_rate + slope_low * u // kink
    return base_rate + slope_low + slope_high * (u - kink) // (WAD - kink)
