# pragma version ~=0.4.3
"""
@title Bid-pool math
@notice Pure helpers of the liquidation queue: slot prices and quotes, the
        product-sum pro-rata accounting (Liquity StabilityPool, with epochs and
        scales) and the bit packing of the queue's storage words.
        Notation, per slot: `D` active base, `P` running product (PRECISION at
        the start of an epoch, kept in [P_FLOOR, PRECISION] by rescaling),
        `S` collateral-per-deposit sum of the current (epoch, scale). A bid that
        joined with deposit `d0` at (P0, S0, epoch, scale) holds
        `d0 * P / P0 / SCALE_FACTOR**(scale - scale0)` base and has bought
        `d0 * (S - S0) / P0` collateral (plus the later scales, each divided by
        SCALE_FACTOR once more).
        Precision: with P >= P_FLOOR = 1e27 and `D <= 2**128`, one fill costs a bid
        at most `d / 1e27` units of collateral through the floor of `S`, and its
        final floor at most one unit per scale term; the product's own floor is a
        relative error below 1e-27.
@license MIT
@custom:contract-name pool_math
"""

from snekmate.utils import math
from . import conversions


# 100% in WAD
WAD: constant(uint256) = 10**18
# value of the running product P at the start of an epoch
PRECISION: constant(uint256) = 10**36
# P is rescaled (multiplied by SCALE_FACTOR) whenever a fill drives it below this
P_FLOOR: constant(uint256) = 10**27
# factor of one scale step
SCALE_FACTOR: constant(uint256) = 10**9
# rescalings one fill may need: with D <= 2**128 and P >= P_FLOOR, (D - u) / D >= 2**-128 and
# P * 1e45 * 2**-128 >= 1e27, so five steps always bring P back above P_FLOOR (P stays in
# [P_FLOOR, PRECISION] for good). A fifth step is needed only when P < 1e-9 * 2**128 < 2**99,
# so P * SCALE_FACTOR**steps never overflows.
MAX_RESCALES: constant(uint256) = 5
# scale steps over which a bid's gains are summed; after 6 steps its deposit is below one unit
MAX_GAIN_SCALES: constant(uint256) = 8

# bit masks of the packed words
MASK_32: constant(uint256) = 2**32 - 1
MASK_40: constant(uint256) = 2**40 - 1
MASK_56: constant(uint256) = 2**56 - 1
MASK_64: constant(uint256) = 2**64 - 1
MASK_128: constant(uint256) = 2**128 - 1
MASK_136: constant(uint256) = 2**136 - 1
MASK_160: constant(uint256) = 2**160 - 1
MASK_168: constant(uint256) = 2**168 - 1
MASK_192: constant(uint256) = 2**192 - 1


@internal
@pure
def _slot_price(collateral_price: uint256, slot: uint256, premium_step: uint256) -> uint256:
    """
    @notice Price of slot `slot` in WAD USD per whole collateral token.
    """
    return conversions._discounted(collateral_price, slot * premium_step)


@internal
@pure
def _quote(
    active: uint256,
    funds_left: uint256,
    collateral_left: uint256,
    base_value: uint256,
    slot_value: uint256,
) -> (uint256, uint256):
    """
    @notice Base `u` taken from a slot and collateral `x` given to it.
    @param base_value base_price * 10**collateral_decimals (value of base in collateral terms)
    @param slot_value slot_price * 10**base_decimals
    """
    # rounds down: the account never gives more collateral than the base it is paid is worth. Rounding it up
    # would hand a whole unit of a 0-decimal token (worth far more than one base unit) to a fill of one base
    # unit, again and again with a tiny `max_repay` (invariant 11)
    x: uint256 = min(conversions._collateral_for(min(active, funds_left), base_value, slot_value, False), collateral_left)
    # rounds up: the pool pays at least the value of what it buys, and never more than it had (x was rounded
    # down from it); x == 0 (less than one collateral unit's worth) takes nothing
    return conversions._base_for(x, base_value, slot_value, True), x


@internal
@pure
def _distribute(x: uint256, p: uint256, active: uint256, error: uint256) -> (uint256, uint256):
    """
    @notice Increment of S for `x` collateral shared over `active` base at product `p`, and the
            remainder (in collateral * P units) that the increment could not express.
    @dev (x * p + error) / active, in 512-bit precision for x * p.
    """
    # rounds down: bids never get more than the fill brought; the remainder is carried forward
    quotient: uint256 = math._mul_div(x, p, active, False)
    remainder: uint256 = uint256_mulmod(x, p, active) + error
    return quotient + remainder // active, remainder % active


@internal
@pure
def _next_product(p: uint256, active: uint256, spent: uint256) -> (uint256, uint256):
    """
    @notice P after `spent` of `active` base is taken (0 < spent < active), and the number of
            scale steps taken to keep it at or above P_FLOOR.
    """
    kept: uint256 = active - spent
    # rounds down: deposits shrink at least as much as the fill took
    new_p: uint256 = math._mul_div(p, kept, active, False)
    steps: uint256 = 0
    factor: uint256 = 1
    for _: uint256 in range(MAX_RESCALES):
        if new_p >= P_FLOOR:
            break
        steps += 1
        factor *= SCALE_FACTOR
        # dev: recomputed from p, not from the floored new_p, so every step keeps full precision;
        # p * factor < 2**256 because the smallest sufficient `steps` is taken (see MAX_RESCALES)
        # rounds down: deposits shrink at least as much as the fill took
        new_p = math._mul_div(p * factor, kept, active, False)
    return new_p, steps


@internal
@pure
def _compounded(d0: uint256, p0: uint256, p: uint256, scale_steps: uint256) -> uint256:
    """
    @notice Base left of a deposit `d0` that joined at product `p0`, now `p` and
            `scale_steps` scale steps later.
    """
    if scale_steps > MAX_GAIN_SCALES:
        return 0
    # rounds down (twice, which equals one floor of the exact quotient): favours the pool
    return math._mul_div(d0, p, p0, False) // pow_mod256(SCALE_FACTOR, scale_steps)


@internal
@pure
def _scale_gain(d0: uint256, sum_delta: uint256, p0: uint256, scale_steps: uint256) -> uint256:
    """
    @notice Collateral bought by deposit `d0` (joined at `p0`) from an increase `sum_delta` of S,
            `scale_steps` scales after the one it joined in.
    """
    if sum_delta == 0:
        return 0
    # dev: p0 <= 1e36, so p0 * 1e9**4 fits; the remaining steps divide the (much smaller) result
    head: uint256 = min(scale_steps, 4)
    # rounds down (twice, which equals one floor of the exact quotient): favours the pool
    return math._mul_div(d0, sum_delta, p0 * pow_mod256(SCALE_FACTOR, head), False) // pow_mod256(
        SCALE_FACTOR, scale_steps - head
    )


@internal
@pure
def _pack_state(p: uint256, epoch: uint256, scale: uint256, fills: uint256) -> uint256:
    """
    @notice Slot state word: P (bits 0-127) | epoch (128-159) | scale (160-191) | fills (192-255).
    """
    return p | (epoch << 128) | (scale << 160) | (fills << 192)


@internal
@pure
def _unpack_state(state: uint256) -> (uint256, uint256, uint256):
    """
    @notice (P, epoch, scale) of a state or snapshot word.
    """
    return state & MASK_128, (state >> 128) & MASK_32, (state >> 160) & MASK_32


@internal
@pure
def _sum_key(state: uint256) -> uint256:
    """
    @notice Key of S for the (epoch, scale) of a state word: epoch | scale << 32. The key of the
            scale `j` steps later is `key + (j << 32)`.
    """
    return (state >> 128) & MASK_64
