# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title ALA liquidation engine
@notice Anyone may liquidate an account that breaches a threshold (LTV health,
        risk ratio or leverage, computed by the vault with the shared risk
        module). The engine sizes the repayment (close ratio, dust rules),
        raises the funds from the collateral's bid pools cheapest slot first,
        pays the keeper and protocol fees out of the funds raised, repays the
        debt, and has the vault write off what no collateral can cover, reserves
        first. The only contract allowed to seize collateral on the vault and to
        fill the queue. Liquidations against a collateral whose oracle circuit
        breaker is tripped wait until the oracle accepts the new price.
@license MIT
@custom:contract-name LiquidationEngine
"""

from interfaces import ILiquidationEngine
from interfaces import ILendingVault
from interfaces import ILiquidationQueue
from interfaces import IPriceOracle

implements: ILiquidationEngine

from snekmate.auth import ownable
from snekmate.auth import ownable_2step
from snekmate.utils import math

initializes: ownable
initializes: ownable_2step[ownable := ownable]

exports: (
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
)


WAD: constant(uint256) = 10**18
MAX_BATCH: constant(uint256) = 500
# Hard bounds of the owner's setters.
MIN_CLOSE_RATIO: constant(uint256) = 10**17
MAX_KEEPER_FEE: constant(uint256) = 5 * 10**16
MAX_PROTOCOL_FEE: constant(uint256) = 10**17
MAX_DUST_VALUE: constant(uint256) = 10_000 * WAD
MASK_60: constant(uint256) = 2**60 - 1
# Collateral assets the vault lists, at most (ILendingVault.collateral_assets).
MAX_COLLATERALS: constant(uint256) = 8

# The vault whose accounts this engine liquidates.
vault: public(immutable(address))
# The bid pools that buy the collateral.
queue: public(immutable(address))
# The vault's oracle (immutable there too), read once at deploy: its circuit breaker pauses liquidations.
oracle: public(immutable(address))

# Every liquidation reads all four parameters, so they share one slot (60 bits each, dust 76 bits):
# close_ratio (largest share of the debt one liquidation repays, WAD) | keeper_fee (share of the funds
# raised paid to the caller, WAD) | protocol_fee (share paid to the reserves, WAD) | dust_value (debt or
# remainder worth less than this is repaid whole, WAD USD).
_params: uint256


@deploy
def __init__(vault_: address, queue_: address):
    assert vault_ != empty(address), "engine: zero vault"
    assert queue_ != empty(address), "engine: zero queue"
    base: address = staticcall ILendingVault(vault_).asset()
    assert staticcall ILiquidationQueue(queue_).base_asset() == base, "engine: base asset mismatch"
    ownable.__init__()
    ownable_2step.__init__()
    vault = vault_
    queue = queue_
    oracle = staticcall ILendingVault(vault_).oracle()
    self._params = self._pack(WAD // 2, 5 * 10**15, 5 * 10**15, 10 * WAD)


@external
def liquidate(account: address, collateral: address, max_repay: uint256) -> (uint256, uint256):
    """
    @notice Liquidate `account` against its `collateral`, repaying at most `max_repay` of debt.
            The caller receives the keeper fee. Returns (debt repaid, collateral seized).
    """
    assert account != empty(address), "engine: zero account"
    assert max_repay != 0, "engine: zero max repay"
    assert not staticcall IPriceOracle(oracle).liquidations_paused(collateral), "engine: liquidations paused"
    snap: ILendingVault.LiquidationSnapshot = extcall ILendingVault(vault).prepare_liquidation(account, collateral)
    assert snap.liquidatable, "engine: healthy"
    assert snap.collateral_amount != 0, "engine: no such collateral"

    params: uint256 = self._params
    keeper_fee: uint256 = (params >> 60) & MASK_60
    protocol_fee: uint256 = (params >> 120) & MASK_60
    target: uint256 = self._target_repay(snap, max_repay, params)
    fill: ILiquidationQueue.FillResult = extcall ILiquidationQueue(queue).fill(
        collateral,
        snap.collateral_price,
        snap.base_price,
        self._funds_needed(target, keeper_fee, protocol_fee),
        snap.collateral_amount,
        msg.sender,
        keeper_fee,
        vault,
    )
    assert fill.raised != 0, "engine: no active bids"

    repaid: uint256 = 0
    protocol_cut: uint256 = 0
    repaid, protocol_cut = self._split(fill, snap.debt, protocol_fee)
    bad_debt: uint256 = extcall ILendingVault(vault).settle_liquidation(
        account, collateral, fill.collateral, queue, repaid, protocol_cut
    )
    log ILiquidationEngine.Liquidation(
        account=account,
        collateral=collateral,
        keeper=msg.sender,
        repaid=repaid,
        seized=fill.collateral,
        funds=fill.raised,
        keeper_fee=fill.keeper_cut,
        protocol_fee=protocol_cut,
        first_slot=fill.first_slot,
        last_slot=fill.last_slot,
        bad_debt=bad_debt,
    )
    return repaid, fill.collateral


@external
@view
def liquidatable(accounts: DynArray[address, MAX_BATCH]) -> DynArray[bool, MAX_BATCH]:
    """
    @notice For each account, whether `liquidate` would pass the threshold check now against
            at least one collateral: an account breaching a threshold reads false only while
            every collateral it holds has its liquidations paused by the oracle's breaker.
    @dev Without a paused collateral (the common case) this costs one oracle view per listed
         collateral on top of the health batch; with one, a `collateral_of` per unpaused
         collateral of each liquidatable account.
    """
    healths: DynArray[ILendingVault.AccountHealth, MAX_BATCH] = staticcall ILendingVault(vault).accounts_health(accounts)
    assets: DynArray[address, MAX_COLLATERALS] = staticcall ILendingVault(vault).collateral_assets()
    unpaused: DynArray[address, MAX_COLLATERALS] = []
    for asset: address in assets:
        if not staticcall IPriceOracle(oracle).liquidations_paused(asset):
            unpaused.append(asset)
    any_paused: bool = len(unpaused) != len(assets)

    result: DynArray[bool, MAX_BATCH] = []
    for i: uint256 in range(len(healths), bound=MAX_BATCH):
        flag: bool = healths[i].liquidatable
        if flag and any_paused:
            flag = self._holds_any(accounts[i], unpaused)
        result.append(flag)
    return result


@external
@view
def preview_liquidation(account: address, collateral: address) -> ILiquidationEngine.LiquidationPreview:
    """
    @notice Exactly what `liquidate(account, collateral, max_uint)` would do now. While
            `collateral`'s liquidations are paused, an account breaching a threshold previews
            as liquidatable with nothing raised, repaid or seized (as with no active bids):
            `liquidate` reverts until the oracle accepts the new price (`liquidations_paused`).
    """
    snap: ILendingVault.LiquidationSnapshot = staticcall ILendingVault(vault).liquidation_snapshot(account, collateral)
    if not snap.liquidatable or snap.collateral_amount == 0:
        return empty(ILiquidationEngine.LiquidationPreview)
    if staticcall IPriceOracle(oracle).liquidations_paused(collateral):
        return ILiquidationEngine.LiquidationPreview(
            liquidatable=True, repay=0, seized=0, funds=0, first_slot=0, last_slot=0, keeper_fee=0, protocol_fee=0
        )
    params: uint256 = self._params
    keeper_fee: uint256 = (params >> 60) & MASK_60
    protocol_fee: uint256 = (params >> 120) & MASK_60
    target: uint256 = self._target_repay(snap, max_value(uint256), params)
    fill: ILiquidationQueue.FillResult = staticcall ILiquidationQueue(queue).preview_fill(
        collateral,
        snap.collateral_price,
        snap.base_price,
        self._funds_needed(target, keeper_fee, protocol_fee),
        snap.collateral_amount,
        keeper_fee,
    )
    repaid: uint256 = 0
    protocol_cut: uint256 = 0
    repaid, protocol_cut = self._split(fill, snap.debt, protocol_fee)
    return ILiquidationEngine.LiquidationPreview(
        liquidatable=True,
        repay=repaid,
        seized=fill.collateral,
        funds=fill.raised,
        first_slot=fill.first_slot,
        last_slot=fill.last_slot,
        keeper_fee=fill.keeper_cut,
        protocol_fee=protocol_cut,
    )


@external
@view
def liquidations_paused(collateral: address) -> bool:
    """
    @notice Whether the oracle's circuit breaker pauses liquidations against `collateral` now.
    """
    return staticcall IPriceOracle(oracle).liquidations_paused(collateral)


@external
@view
def close_ratio() -> uint256:
    return self._params & MASK_60


@external
@view
def keeper_fee() -> uint256:
    return (self._params >> 60) & MASK_60


@external
@view
def protocol_fee() -> uint256:
    return (self._params >> 120) & MASK_60


@external
@view
def dust_value() -> uint256:
    return self._params >> 180


@external
def set_close_ratio(close_ratio: uint256):
    ownable._check_owner()
    assert close_ratio >= MIN_CLOSE_RATIO and close_ratio <= WAD, "engine: close_ratio out of bounds"
    self._params = (self._params & ~MASK_60) | close_ratio
    log ILiquidationEngine.CloseRatioSet(close_ratio=close_ratio)


@external
def set_dust_value(dust_value: uint256):
    ownable._check_owner()
    assert dust_value <= MAX_DUST_VALUE, "engine: dust_value above bound"
    self._params = (self._params & (2**180 - 1)) | (dust_value << 180)
    log ILiquidationEngine.DustValueSet(dust_value=dust_value)


@external
def set_fees(keeper_fee: uint256, protocol_fee: uint256):
    ownable._check_owner()
    assert keeper_fee <= MAX_KEEPER_FEE, "engine: keeper_fee above bound"
    assert protocol_fee <= MAX_PROTOCOL_FEE, "engine: protocol_fee above bound"
    params: uint256 = self._params
    self._params = self._pack(params & MASK_60, keeper_fee, protocol_fee, params >> 180)
    log ILiquidationEngine.FeesSet(keeper_fee=keeper_fee, protocol_fee=protocol_fee)


@internal
@view
def _target_repay(snap: ILendingVault.LiquidationSnapshot, max_repay: uint256, params: uint256) -> uint256:
    """
    @notice R = min(close_ratio·D, max_repay), or the whole debt when the debt or the
            remainder would be dust (a dust position costs more gas to liquidate than it is worth).
    """
    dust: uint256 = params >> 180
    if snap.debt_value <= dust:
        assert max_repay >= snap.debt, "engine: max repay leaves dust"
        return snap.debt
    # dev: round up, the close ratio is a cap on each liquidation, not a floor on what is left
    target: uint256 = min(math._mul_div(snap.debt, params & MASK_60, WAD, True), max_repay)
    # dev: value of the remainder, pro rata of the debt value (round down: a borderline remainder counts as dust)
    remainder_value: uint256 = math._mul_div(snap.debt - target, snap.debt_value, snap.debt, False)
    if remainder_value < dust:
        assert max_repay >= snap.debt, "engine: max repay leaves dust"
        return snap.debt
    return target


@internal
@view
def _holds_any(account: address, assets: DynArray[address, MAX_COLLATERALS]) -> bool:
    """
    @dev Whether `account` holds a non-zero balance of any of `assets`.
    """
    for asset: address in assets:
        if staticcall ILendingVault(vault).collateral_of(account, asset) != 0:
            return True
    return False


@internal
@pure
def _pack(close_ratio: uint256, keeper_fee: uint256, protocol_fee: uint256, dust_value: uint256) -> uint256:
    # dev: the setters bound the first three to WAD < 2**60 and dust_value to 10,000 WAD < 2**76
    return close_ratio | (keeper_fee << 60) | (protocol_fee << 120) | (dust_value << 180)


@internal
@pure
def _funds_needed(target: uint256, keeper_fee: uint256, protocol_fee: uint256) -> uint256:
    # dev: F = R / (1 − fees), rounded up so the fees never eat into the repayment
    return math._mul_div(target, WAD, WAD - keeper_fee - protocol_fee, True)


@internal
@pure
def _split(fill: ILiquidationQueue.FillResult, debt: uint256, protocol_fee: uint256) -> (uint256, uint256):
    """
    @notice (debt repaid, protocol cut) of the funds raised; the keeper's cut was paid by the queue.
            Rounding leftovers beyond the debt go to the reserves, never back to anyone's pocket.
    """
    # dev: round down, the remainder repays debt
    protocol_cut: uint256 = fill.raised * protocol_fee // WAD
    repaid: uint256 = fill.raised - fill.keeper_cut - protocol_cut
    if repaid > debt:
        protocol_cut += repaid - debt
        repaid = debt
    return repaid, protocol_cut
