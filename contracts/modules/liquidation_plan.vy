# pragma version ~=0.4.3
"""
@title The plan of one liquidation
@notice Pure steps shared by `LiquidationEngine.liquidate` and `LiquidationLens.preview_liquidation`,
        so that a preview is the liquidation it announces: the repayment target (close ratio, dust
        rule), the funds to raise (repayment plus keeper and protocol fees), the split of the funds
        raised, and the slice of collateral and debt handed to the Dutch auction when the bid
        pools fall short. Units as in DESIGN: WAD ratios, WAD USD values and prices, token units.
@license MIT
@custom:contract-name liquidation_plan
"""

from snekmate.utils import math
from . import conversions


# 100% in WAD
WAD: constant(uint256) = 10**18


# What a liquidation hands to the auction house.
struct Slice:
    # collateral, token units
    lot: uint256
    # debt its sale is to repay, base units
    tab: uint256
    # starting price: the queue's top-slot price, WAD base per whole collateral token
    top: uint256


@internal
@pure
def _target_repay(
    debt: uint256, debt_value: uint256, max_repay: uint256, close_ratio: uint256, dust: uint256, unit_cost: uint256
) -> uint256:
    """
    @notice R = min(max(close_ratio·D, unit_cost), max_repay, D), or the whole debt when the debt or
            the remainder would be worth less than `dust` (WAD USD): a dust position costs more gas
            to liquidate than it is worth. `unit_cost` (`_unit_cost`) lifts the close ratio's slice to
            the price of one whole unit of the collateral sold: the queue sells whole units only, and
            one unit of a 0-decimal token can be worth more than the slice, which would leave the
            account liquidatable with bids that can never buy.
    """
    if debt_value <= dust:
        assert max_repay >= debt, "engine: max repay leaves dust"
        return debt
    # dev: round up, the close ratio is a cap on each liquidation, not a floor on what is left
    target: uint256 = min(min(max(math._mul_div(debt, close_ratio, WAD, True), unit_cost), max_repay), debt)
    # dev: value of the remainder, pro rata of the debt value (round down: a borderline remainder counts as dust)
    remainder_value: uint256 = math._mul_div(debt - target, debt_value, debt, False)
    if remainder_value < dust:
        assert max_repay >= debt, "engine: max repay leaves dust"
        return debt
    return target



@internal
@pure
def _unit_cost(collateral_price: uint256, collateral_unit: uint256, base_price: uint256, base_unit: uint256) -> uint256:
    """
    @notice Base units that pay for one base unit of the collateral at its oracle price (the dearest slot),
            rounded up: funds of at least this much buy one unit from any slot that holds them.
    """
    return math._mul_div(collateral_price, base_unit, base_price * collateral_unit, True)

@internal
@pure
def _funds_needed(target: uint256, keeper_fee: uint256, protocol_fee: uint256) -> uint256:
    # dev: F = R / (1 − fees), rounded up so the fees never eat into the repayment
    return math._mul_div(target, WAD, WAD - keeper_fee - protocol_fee, True)


@internal
@pure
def _split(raised: uint256, keeper_cut: uint256, debt: uint256, protocol_fee: uint256) -> (uint256, uint256):
    """
    @notice (debt repaid, protocol cut) of the funds `raised`; the keeper's cut was paid by the queue.
            Rounding leftovers beyond the debt go to the reserves, never back to anyone's pocket.
    """
    # dev: round down, the remainder repays debt
    protocol_cut: uint256 = raised * protocol_fee // WAD
    repaid: uint256 = raised - keeper_cut - protocol_cut
    if repaid > debt:
        protocol_cut += repaid - debt
        repaid = debt
    return repaid, protocol_cut


@internal
@pure
def _auction_slice(
    left: uint256,
    target: uint256,
    repaid: uint256,
    collateral_price: uint256,
    base_price: uint256,
    premium_cap: uint256,
    unit: uint256,
    base_unit: uint256,
) -> Slice:
    """
    @notice The unfilled remainder of the slice: the debt the queue left unrepaid, and the collateral
            worth it at the queue's top-slot price (all that is `left`, if less), to be auctioned from
            that price down. Empty when nothing is left to repay or to sell.
    @param premium_cap max_slot * premium_step of the collateral's pools (the queue bounds it below WAD / 2)
    @param unit 10**decimals of the collateral; `base_unit` of the base asset
    """
    if repaid >= target or left == 0:
        return empty(Slice)
    tab: uint256 = target - repaid
    top_usd: uint256 = conversions._discounted(collateral_price, premium_cap)
    top: uint256 = top_usd * WAD // base_price
    if top == 0:
        return empty(Slice)
    # dev: round up, the lot must raise the whole tab at the top price
    lot: uint256 = min(conversions._collateral_for(tab, base_price * unit, top_usd * base_unit, True), left)
    return Slice(lot=lot, tab=tab, top=top)
