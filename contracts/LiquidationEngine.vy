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
        When the bid pools cannot raise what a liquidation needs and an auction
        house is wired, the unfilled remainder of the slice goes to a Dutch
        auction: the collateral worth the unrepaid debt at the queue's top-slot
        price leaves for the auction house, which starts selling it at that price.
        `settle_auction` (anyone; `liquidate` does it too) books what the auction
        raised as repayment, returns any surplus to the borrower, and when it ends
        with a shortfall and no collateral value left, writes the debt off. An
        account is not liquidated again while its auction runs.
@license MIT
@custom:contract-name LiquidationEngine
"""

from interfaces import ILiquidationEngine
from interfaces import ILendingVault
from interfaces import ILiquidationQueue
from interfaces import IPriceOracle
from interfaces import IDutchAuction
from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed

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
# The vault's asset, which the engine holds only between an auction's take and its settlement.
base_asset: public(immutable(address))
# 10**decimals of the base asset.
_BASE_UNIT: immutable(uint256)

# The Dutch-auction house selling what the bid pools cannot fund; empty: no fallback. Wired once by the
# owner, as the auction house is deployed after the engine (it needs the engine's address).
auction_house: public(address)
# Account -> id of its auction not yet settled to the end; 0: none. At most one per account.
auction_of: public(HashMap[address, uint256])
# Auction id -> base it raised that has been booked on the vault, base units.
auction_booked: public(HashMap[uint256, uint256])
# Account -> auction surplus it could not be sent (its transfer failed), base units; `claim_refund` pays it.
refunds: public(HashMap[address, uint256])

# Every liquidation reads all four parameters, so they share one slot (60 bits each, dust 76 bits):
# close_ratio (largest share of the debt one liquidation repays, WAD) | keeper_fee (share of the funds
# raised paid to the caller, WAD) | protocol_fee (share paid to the reserves, WAD) | dust_value (debt or
# remainder worth less than this is repaid whole, WAD USD).
_params: uint256


# What a liquidation hands to the auction house.
struct Slice:
    # collateral, token units
    lot: uint256
    # debt its sale is to repay, base units
    tab: uint256
    # starting price: the queue's top-slot price, WAD base per whole collateral token
    top: uint256


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
    base_asset = base
    _BASE_UNIT = 10 ** convert(staticcall IERC20Detailed(base).decimals(), uint256)
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
    running: uint256 = self.auction_of[account]
    if running != 0:
        self._settle_auction(running, staticcall IDutchAuction(self.auction_house).auction_info(running))
        assert self.auction_of[account] == 0, "engine: auction running"
    snap: ILendingVault.LiquidationSnapshot = extcall ILendingVault(vault).prepare_liquidation(account, collateral)
    assert snap.liquidatable, "engine: healthy"
    assert snap.collateral_amount != 0, "engine: no such collateral"

    params: uint256 = self._params
    keeper_fee: uint256 = (params >> 60) & MASK_60
    protocol_fee: uint256 = (params >> 120) & MASK_60
    target: uint256 = self._target_repay(snap, max_repay, params)
    funds: uint256 = self._funds_needed(target, keeper_fee, protocol_fee)
    fill: ILiquidationQueue.FillResult = extcall ILiquidationQueue(queue).fill(
        collateral, snap.collateral_price, snap.base_price, funds, snap.collateral_amount, msg.sender, keeper_fee, vault
    )
    repaid: uint256 = 0
    protocol_cut: uint256 = 0
    repaid, protocol_cut = self._split(fill, snap.debt, protocol_fee)

    # dev: the auction house is read only when the queue fell short, so a full fill does not pay for it
    house: address = empty(address)
    sale: Slice = empty(Slice)
    if fill.raised < funds:
        house = self.auction_house
        if house != empty(address):
            sale = self._auction_slice(snap, collateral, target, repaid, fill.collateral)
    assert fill.raised != 0 or sale.lot != 0, "engine: no active bids"

    bad_debt: uint256 = 0
    if fill.raised != 0:
        bad_debt = extcall ILendingVault(vault).settle_liquidation(
            account, collateral, fill.collateral, queue, repaid, protocol_cut, sale.lot == 0
        )
    if sale.lot != 0:
        extcall ILendingVault(vault).settle_liquidation(account, collateral, sale.lot, house, 0, 0, False)
        auction_id: uint256 = extcall IDutchAuction(house).kick(account, collateral, sale.lot, sale.tab, sale.top)
        self.auction_of[account] = auction_id
        log ILiquidationEngine.AuctionOpened(
            auction_id=auction_id, account=account, collateral=collateral, lot=sale.lot, tab=sale.tab, top=sale.top
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
def settle_auction(auction_id: uint256) -> uint256:
    """
    @notice Book what auction `auction_id` raised since the last settlement as repayment of its
            account's debt (anyone may call; `liquidate` settles the account's auction first).
            Base beyond the current debt (the borrower repaid meanwhile) goes to the borrower.
            Once the auction has ended, the account may be liquidated again, and a shortfall
            left with no collateral value is written off as bad debt. Returns the debt repaid.
    """
    house: address = self.auction_house
    assert house != empty(address), "engine: no auction house"
    info: IDutchAuction.AuctionInfo = staticcall IDutchAuction(house).auction_info(auction_id)
    assert info.account != empty(address), "engine: unknown auction"
    assert self.auction_of[info.account] == auction_id, "engine: auction already settled"
    return self._settle_auction(auction_id, info)


@external
def yank_auction(auction_id: uint256, receiver: address) -> uint256:
    """
    @notice Owner only. End a running auction (for example when the borrower can no longer receive
            the collateral its final take would return, which makes that take revert), send its
            unsold collateral to `receiver` and settle it. Returns the debt repaid.
    """
    ownable._check_owner()
    assert receiver != empty(address), "engine: zero receiver"
    house: address = self.auction_house
    assert house != empty(address), "engine: no auction house"
    extcall IDutchAuction(house).yank(auction_id, receiver)
    return self._settle_auction(auction_id, staticcall IDutchAuction(house).auction_info(auction_id))


@external
def claim_refund(receiver: address) -> uint256:
    """
    @notice Send the caller's held auction surplus (`refunds`) to `receiver`. Returns the amount.
    """
    assert receiver != empty(address), "engine: zero receiver"
    amount: uint256 = self.refunds[msg.sender]
    assert amount != 0, "engine: no refund"
    self.refunds[msg.sender] = 0
    self._push_base(receiver, amount)
    log ILiquidationEngine.RefundClaimed(account=msg.sender, receiver=receiver, amount=amount)
    return amount


@external
def set_auction_house(auction_house: address):
    """
    @notice Owner only, once: wire the Dutch-auction house (its engine and beneficiary must be
            this engine, and its base asset the vault's).
    """
    ownable._check_owner()
    assert self.auction_house == empty(address), "engine: auction house already set"
    assert auction_house != empty(address), "engine: zero auction house"
    assert staticcall IDutchAuction(auction_house).engine() == self, "engine: auction house of another engine"
    assert staticcall IDutchAuction(auction_house).beneficiary() == self, "engine: auction proceeds go elsewhere"
    assert staticcall IDutchAuction(auction_house).base_asset() == base_asset, "engine: auction base mismatch"
    self.auction_house = auction_house
    log ILiquidationEngine.AuctionHouseSet(auction_house=auction_house)


@external
@view
def liquidatable(accounts: DynArray[address, MAX_BATCH]) -> DynArray[bool, MAX_BATCH]:
    """
    @notice For each account, whether `liquidate` would pass the threshold check now against
            at least one collateral: an account breaching a threshold reads false while every
            collateral it holds has its liquidations paused by the oracle's breaker, and while
            it has an auction not yet settled to the end (`auction_of`; `settle_auction` it).
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
        if flag and self.auction_of[accounts[i]] != 0:
            flag = False
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
            An account with an auction not yet settled to the end previews as not liquidatable
            (`settle_auction` it first). `auction_lot` and `auction_tab` are what would go to the
            auction house when the bid pools fall short.
    """
    snap: ILendingVault.LiquidationSnapshot = staticcall ILendingVault(vault).liquidation_snapshot(account, collateral)
    if not snap.liquidatable or snap.collateral_amount == 0 or self.auction_of[account] != 0:
        return empty(ILiquidationEngine.LiquidationPreview)
    if staticcall IPriceOracle(oracle).liquidations_paused(collateral):
        return ILiquidationEngine.LiquidationPreview(
            liquidatable=True,
            repay=0,
            seized=0,
            funds=0,
            first_slot=0,
            last_slot=0,
            keeper_fee=0,
            protocol_fee=0,
            auction_lot=0,
            auction_tab=0,
        )
    params: uint256 = self._params
    keeper_fee: uint256 = (params >> 60) & MASK_60
    protocol_fee: uint256 = (params >> 120) & MASK_60
    target: uint256 = self._target_repay(snap, max_value(uint256), params)
    funds: uint256 = self._funds_needed(target, keeper_fee, protocol_fee)
    fill: ILiquidationQueue.FillResult = staticcall ILiquidationQueue(queue).preview_fill(
        collateral, snap.collateral_price, snap.base_price, funds, snap.collateral_amount, keeper_fee
    )
    repaid: uint256 = 0
    protocol_cut: uint256 = 0
    repaid, protocol_cut = self._split(fill, snap.debt, protocol_fee)
    sale: Slice = empty(Slice)
    if fill.raised < funds and self.auction_house != empty(address):
        sale = self._auction_slice(snap, collateral, target, repaid, fill.collateral)
    return ILiquidationEngine.LiquidationPreview(
        liquidatable=True,
        repay=repaid,
        seized=fill.collateral,
        funds=fill.raised,
        first_slot=fill.first_slot,
        last_slot=fill.last_slot,
        keeper_fee=fill.keeper_cut,
        protocol_fee=protocol_cut,
        auction_lot=sale.lot,
        auction_tab=sale.tab,
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
def _auction_slice(
    snap: ILendingVault.LiquidationSnapshot, collateral: address, target: uint256, repaid: uint256, sold: uint256
) -> Slice:
    """
    @notice The unfilled remainder of the slice: the debt the queue left unrepaid, and the collateral
            worth it at the queue's top-slot price (all that is left, if less), to be auctioned from
            that price down. Empty when nothing is left to repay or to sell.
    """
    left: uint256 = snap.collateral_amount - sold
    if repaid >= target or left == 0:
        return empty(Slice)
    tab: uint256 = target - repaid
    pool: ILiquidationQueue.PoolParams = staticcall ILiquidationQueue(queue).pool_params(collateral)
    # dev: the queue bounds max_slot * premium_step below WAD / 2; round down as the slots do
    top_usd: uint256 = snap.collateral_price * (WAD - pool.max_slot * pool.premium_step) // WAD
    top: uint256 = top_usd * WAD // snap.base_price
    if top == 0:
        return empty(Slice)
    unit: uint256 = 10 ** convert(staticcall IERC20Detailed(collateral).decimals(), uint256)
    # dev: round up, the lot must raise the whole tab at the top price
    lot: uint256 = min(math._mul_div(tab * unit, snap.base_price, top_usd * _BASE_UNIT, True), left)
    return Slice(lot=lot, tab=tab, top=top)


@internal
def _settle_auction(auction_id: uint256, info: IDutchAuction.AuctionInfo) -> uint256:
    """
    @notice Book the base auction `auction_id` (`info`: its auction_info now) raised since its last
            settlement (the auction house sent it to this engine) and, once the auction has ended,
            release its account.
    """
    fresh: uint256 = info.raised - self.auction_booked[auction_id]
    if fresh == 0 and not info.finished:
        return 0
    self.auction_booked[auction_id] = info.raised
    # dev: settle_liquidation books at the stored index: bring it up to date first
    extcall ILendingVault(vault).accrue_interest()
    debt: uint256 = staticcall ILendingVault(vault).debt_of(info.account)
    repaid: uint256 = min(fresh, debt)
    bad_debt: uint256 = 0
    if repaid != 0:
        self._push_base(vault, repaid)
    if repaid != 0 or (info.finished and debt != 0):
        bad_debt = extcall ILendingVault(vault).settle_liquidation(
            info.account, info.collateral, 0, self, repaid, 0, info.finished
        )
    if fresh > repaid:
        self._refund(info.account, fresh - repaid)
    if info.finished:
        self.auction_of[info.account] = 0
    log ILiquidationEngine.AuctionSettled(
        auction_id=auction_id,
        account=info.account,
        repaid=repaid,
        refunded=fresh - repaid,
        finished=info.finished,
        bad_debt=bad_debt,
    )
    return repaid


@internal
def _refund(account: address, amount: uint256):
    """
    @notice Send an auction surplus to its borrower; when the transfer fails (a token that blocks the
            account), keep it for `claim_refund`, so that the settlement itself never fails.
    """
    success: bool = False
    response: Bytes[32] = b""
    success, response = raw_call(
        base_asset,
        abi_encode(account, amount, method_id=method_id("transfer(address,uint256)")),
        max_outsize=32,
        revert_on_failure=False,
    )
    if success and len(response) != 0:
        success = convert(response, bool)
    if not success:
        self.refunds[account] += amount
        log ILiquidationEngine.RefundHeld(account=account, amount=amount)


@internal
def _push_base(receiver: address, amount: uint256):
    assert extcall IERC20(base_asset).transfer(receiver, amount, default_return_value=True), (
        "engine: transfer failed"
    )


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
