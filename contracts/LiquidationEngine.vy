# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title ALA liquidation engine: the risk engine
@notice Holds every risk parameter (per asset: max_ltv, liq_ltv, risk_factor and
        decimals; per market: the risk-ratio and leverage limits) with the one-day
        ramps of every liquidation threshold, and computes the three metrics of an
        account (modules/risk.vy) from the position the vault, a plain ledger,
        reports: the vault asks `check_opening` on borrow and remove_collateral,
        passing the position in calldata, so nothing calls back into it.
        Anyone may liquidate an account that breaches a threshold (LTV health,
        risk ratio or leverage). The engine sizes the repayment (close ratio, dust rules),
        raises the funds from the collateral's bid pools cheapest slot first,
        pays the keeper and protocol fees out of the funds raised, repays the
        debt, and has the vault write off what no collateral can cover, reserves
        first. The only contract allowed to seize collateral on the vault and to
        fill the queue. Liquidations against a collateral whose oracle circuit
        breaker is tripped wait until the oracle accepts the new price.
        When the bid pools cannot raise what a liquidation needs and an auction
        settlement with its house is wired, the unfilled remainder of the slice goes
        to a Dutch auction: the collateral worth the unrepaid debt at the queue's
        top-slot price leaves for the auction house, which starts selling it at that
        price. The settlement (AuctionSettlement.vy, its own contract since the engine
        ran out of room) books what an auction raised as repayment; `liquidate` has it
        settle the account's auction first. `write_off` (anyone) closes an account
        left owing with only dust, which an auction that sold out short can leave. An
        account is not liquidated again while its auction runs.
@license MIT
@custom:contract-name LiquidationEngine
"""

from interfaces import ILiquidationEngine
from interfaces import ILendingVault
from interfaces import ILiquidationQueue
from interfaces import IPriceOracle
from interfaces import IAuctionSettlement
from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed

implements: ILiquidationEngine

from snekmate.auth import ownable
from snekmate.auth import ownable_2step
from snekmate.utils import math
from modules import risk
from modules import liquidation_plan
from modules import transfers
from modules import conversions

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
MAX_LIQ_LTV: constant(uint256) = 97 * 10**16
MAX_RISK_RATIO: constant(uint256) = 100 * WAD
MAX_LEVERAGE: constant(uint256) = 100 * WAD
MASK_60: constant(uint256) = 2**60 - 1
MASK_64: constant(uint256) = 2**64 - 1
MASK_72: constant(uint256) = 2**72 - 1
MASK_128: constant(uint256) = 2**128 - 1
MASK_40: constant(uint256) = 2**40 - 1
# Collateral assets the vault lists, at most (ILendingVault.collateral_assets).
MAX_COLLATERALS: constant(uint256) = 8
# A change of a liquidation input (an asset's liq_ltv and risk_factor, or the market's base_risk_factor,
# liq_risk_ratio and liq_leverage) ramps linearly over this long, seconds (as Curve ramps A): no account
# becomes liquidatable by a parameter step (invariant 12).
RAMP_TIME: constant(uint256) = 86400
# `_config` word: max_ltv (bits 0-63) | liq_ltv (64-127) | risk_factor (128-191), WAD each;
# decimals (192-199) | listed flag (200) | end of a running liq_ltv / risk_factor ramp (208-247; 0: none)
DECIMALS_SHIFT: constant(uint256) = 192
LISTED: constant(uint256) = 1 << 200
RAMP_SHIFT: constant(uint256) = 208
# `_liq_limits` word: base_risk_factor | liq_risk_ratio | liq_leverage, 72 bits each, WAD;
# end of a running ramp in bits 216-255 (0: none)
LIMITS_RAMP_SHIFT: constant(uint256) = 216

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

# The auction settlement (AuctionSettlement.vy) that opens and books the Dutch auctions selling what the bid
# pools cannot fund; empty: no fallback. Wired once by the owner, as it is deployed after the engine.
auctions: public(address)

# Asset -> its risk parameters, one word (see DECIMALS_SHIFT); 0: not listed.
_config: HashMap[address, uint256]
# Asset -> the liq_ltv (bits 0-63) and risk_factor (64-127) a running ramp started from, WAD each.
_ramps_from: HashMap[address, uint256]
# The market's liquidation thresholds (see LIMITS_RAMP_SHIFT).
_liq_limits: uint256
# The three thresholds in force when the running ramp started, packed as in _liq_limits.
_liq_limits_from: uint256
# Opening limits, WAD, 128 bits each: max_risk_ratio | max_leverage.
_open_limits: uint256

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
    base_asset = base
    _BASE_UNIT = 10 ** convert(staticcall IERC20Detailed(base).decimals(), uint256)
    self._params = self._pack(WAD // 2, 5 * 10**15, 5 * 10**15, 10 * WAD)
    self._liq_limits = 2 * 10**16 | (3 * WAD // 2 << 72) | (15 * WAD << 144)
    self._open_limits = WAD | (10 * WAD << 128)


@external
def liquidate(account: address, collateral: address, max_repay: uint256) -> (uint256, uint256):
    """
    @notice Liquidate `account` against its `collateral`, repaying at most `max_repay` of debt.
            The caller receives the keeper fee. Returns (debt repaid, collateral seized).
    """
    assert account != empty(address), "engine: zero account"
    assert max_repay != 0, "engine: zero max repay"
    assert not staticcall IPriceOracle(oracle).liquidations_paused(collateral), "engine: liquidations paused"
    # dev: what the account's auction raised is booked before the account is judged
    auctions_: address = self.auctions
    if auctions_ != empty(address):
        assert not extcall IAuctionSettlement(auctions_).settle_account(account), "engine: auction running"
    self._check_listed(collateral)
    position: ILendingVault.Position = extcall ILendingVault(vault).prepare_liquidation(account)
    snap: ILiquidationEngine.LiquidationSnapshot = empty(ILiquidationEngine.LiquidationSnapshot)
    other_value: uint256 = 0
    priced: bool = False
    snap, other_value, priced = self._judge(position, collateral)
    if snap.collateral_price == 0 and snap.collateral_amount != 0:
        # dev: the collateral sold must be priced: revert with the oracle's reason (a side asset may be unpriced)
        snap.collateral_price = staticcall IPriceOracle(oracle).price(collateral)
    assert snap.liquidatable, "engine: healthy"
    assert snap.collateral_amount != 0, "engine: no such collateral"

    params: uint256 = self._params
    keeper_fee: uint256 = (params >> 60) & MASK_60
    protocol_fee: uint256 = (params >> 120) & MASK_60
    # dev: the collateral's decimals, read once for the unit cost, the auction slice and the dust check below
    scale: uint256 = self._load_config(collateral).scale
    unit_cost: uint256 = liquidation_plan._unit_cost(snap.collateral_price, scale, snap.base_price, _BASE_UNIT)
    target: uint256 = liquidation_plan._target_repay(
        snap.debt, snap.debt_value, max_repay, params & MASK_60, params >> 180, unit_cost
    )
    funds: uint256 = liquidation_plan._funds_needed(target, keeper_fee, protocol_fee)
    fill: ILiquidationQueue.FillResult = extcall ILiquidationQueue(queue).fill(
        collateral, snap.collateral_price, snap.base_price, funds, snap.collateral_amount, msg.sender, keeper_fee, vault
    )
    repaid: uint256 = 0
    protocol_cut: uint256 = 0
    repaid, protocol_cut = liquidation_plan._split(fill.raised, fill.keeper_cut, snap.debt, protocol_fee)

    # dev: the auction house is read only when the queue fell short, so a full fill does not pay for it
    house: address = empty(address)
    sale: liquidation_plan.Slice = empty(liquidation_plan.Slice)
    if fill.raised < funds and auctions_ != empty(address):
        house = staticcall IAuctionSettlement(auctions_).auction_house()
        if house != empty(address):
            pool: ILiquidationQueue.PoolParams = staticcall ILiquidationQueue(queue).pool_params(collateral)
            # dev: an auction sells the engine's own slice, whatever max_repay the caller chose (Maker's `bark`
            # takes no size from its caller), so nobody opens a tiny auction to block the account
            sale = liquidation_plan._auction_slice(
                snap.collateral_amount - fill.collateral,
                liquidation_plan._target_repay(
                    snap.debt, snap.debt_value, max_value(uint256), params & MASK_60, params >> 180, unit_cost
                ),
                repaid,
                snap.collateral_price,
                snap.base_price,
                pool.max_slot * pool.premium_step,
                scale,
                _BASE_UNIT,
            )
            # dev: no auction of a lot worth less than dust_value; what is left is then closed as dust or waits
            if conversions._value(sale.lot, snap.collateral_price, scale, False) < params >> 180:
                sale = empty(liquidation_plan.Slice)

    # dev: close the account (dust to the reserve account, debt written off) when what is left is dust: nothing
    # at auction, every asset priced, and what is left worth less than dust_value or nothing that can be sold
    write_off: bool = False
    if sale.lot == 0 and priced:
        left: uint256 = conversions._value(
            snap.collateral_amount - fill.collateral,
            snap.collateral_price,
            scale,
            False,
        )
        write_off = self._is_dust(self._sellable(left, snap.base_price) + other_value, params >> 180)
    assert fill.raised != 0 or sale.lot != 0 or write_off, "engine: no active bids"

    bad_debt: uint256 = 0
    if fill.raised != 0 or write_off:
        bad_debt = extcall ILendingVault(vault).settle_liquidation(
            account, collateral, fill.collateral, queue, repaid, protocol_cut, write_off
        )
    if sale.lot != 0:
        extcall ILendingVault(vault).settle_liquidation(account, collateral, sale.lot, house, 0, 0, False)
        auction_id: uint256 = extcall IAuctionSettlement(auctions_).kick(account, collateral, sale.lot, sale.tab, sale.top)
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
def set_auctions(auctions: address):
    """
    @notice Owner only, once: wire the auction settlement (its engine must be this engine).
    """
    ownable._check_owner()
    assert self.auctions == empty(address), "engine: auctions already set"
    assert auctions != empty(address), "engine: zero auctions"
    assert staticcall IAuctionSettlement(auctions).engine() == self, "engine: auctions of another engine"
    self.auctions = auctions
    log ILiquidationEngine.AuctionsSet(auctions=auctions)


@external
def write_off(account: address) -> uint256:
    """
    @notice Close an account that still owes while what it holds is dust (invariant 9): anyone may call,
            for instance after an auction sold its last collateral short. Its dust goes to the reserves and
            its debt is written off, reserves first. Reverts unless the account is liquidatable, has no
            auction running, holds only priced assets and those are dust. Returns the bad debt.
    """
    auctions_: address = self.auctions
    # dev: the settlement calls this right after releasing the account (and is locked then: no view into it)
    if auctions_ != empty(address) and msg.sender != auctions_:
        assert staticcall IAuctionSettlement(auctions_).auction_of(account) == 0, "engine: auction running"
    position: ILendingVault.Position = extcall ILendingVault(vault).prepare_liquidation(account)
    snap: ILiquidationEngine.LiquidationSnapshot = empty(ILiquidationEngine.LiquidationSnapshot)
    worth: uint256 = 0
    priced: bool = False
    # dev: judged against no collateral, every asset counts in `worth`
    snap, worth, priced = self._judge(position, empty(address))
    assert snap.liquidatable, "engine: healthy"
    assert priced and self._is_dust(worth, self._params >> 180), "engine: not dust"
    bad_debt: uint256 = extcall ILendingVault(vault).settle_liquidation(account, empty(address), 0, self, 0, 0, True)
    log ILiquidationEngine.Liquidation(
        account=account,
        collateral=empty(address),
        keeper=msg.sender,
        repaid=0,
        seized=0,
        funds=0,
        keeper_fee=0,
        protocol_fee=0,
        first_slot=0,
        last_slot=0,
        bad_debt=bad_debt,
    )
    return bad_debt


@external
@view
def check_opening(
    debt: uint256, assets: DynArray[address, MAX_COLLATERALS], amounts: DynArray[uint256, MAX_COLLATERALS]
) -> bool:
    """
    @notice Revert unless a position of `debt` (base units) against `amounts` of `assets` is within every
            opening limit. The vault calls it on borrow and remove_collateral with the account's new position.
            Each asset's `max_ltv` is scaled by the oracle's volatility factor: opening limits tighten in
            volatile markets, liquidation thresholds never.
    """
    if debt == 0:
        return True
    position: ILendingVault.Position = ILendingVault.Position(debt=debt, assets=assets, amounts=amounts)
    prices: DynArray[uint256, MAX_COLLATERALS] = []
    base_price: uint256 = 0
    prices, base_price = self._read_prices(position, True)
    t: risk.Totals = self._totals(position, prices, base_price, True)
    opening: uint256 = self._open_limits
    assert t.debt_value <= t.borrow_capacity, "engine: exceeds max ltv"
    assert risk._risk_ratio(t, self._liq_limits_now() & MASK_72) <= opening & MASK_128, "engine: exceeds max risk ratio"
    assert risk._leverage(t) <= opening >> 128, "engine: exceeds max leverage"
    return True


@external
@view
def collateral_config(collateral: address) -> ILiquidationEngine.CollateralConfig:
    """
    @notice `collateral`'s risk parameters, its liq_ltv as in force now (a running ramp included).
    """
    return self._load_config(collateral)


@external
@view
def risk_limits() -> ILiquidationEngine.RiskLimits:
    """
    @notice The opening limits and the liquidation thresholds in force, a running ramp included.
    """
    liq: uint256 = self._liq_limits_now()
    opening: uint256 = self._open_limits
    return ILiquidationEngine.RiskLimits(
        base_risk_factor=liq & MASK_72,
        max_risk_ratio=opening & MASK_128,
        liq_risk_ratio=(liq >> 72) & MASK_72,
        max_leverage=opening >> 128,
        liq_leverage=liq >> 144,
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
def configure_collateral(collateral: address, max_ltv: uint256, liq_ltv: uint256, risk_factor: uint256):
    """
    @notice Owner only. List `collateral` (on the vault too) or change its parameters: max_ltv < liq_ltv
            <= 97%, risk_factor <= 100%. A listed asset's liq_ltv and risk_factor move to the new values
            linearly over RAMP_TIME seconds from where they are now (`collateral_config` shows them), so no
            account becomes liquidatable by the step; max_ltv (at once) must also stay below the current
            liq_ltv, and opening paths use the stricter of the risk factor in force and its target.
    """
    ownable._check_owner()
    assert collateral != empty(address), "engine: zero asset"
    assert collateral != base_asset, "engine: base asset as collateral"
    assert liq_ltv <= MAX_LIQ_LTV, "engine: liq_ltv above bound"
    assert risk_factor <= WAD, "engine: risk_factor above bound"
    packed: uint256 = self._config[collateral]
    # dev: decimals and the listed flag survive a parameter change
    identity: uint256 = packed & (511 << DECIMALS_SHIFT)
    # dev: the liq_ltv in force (the new one for a new listing): max_ltv stays below it too
    current: uint256 = liq_ltv
    ramp_end: uint256 = 0
    if identity != 0:
        in_force: ILiquidationEngine.CollateralConfig = self._load_config(collateral)
        current = in_force.liq_ltv
        # dev: both thresholds of the asset ramp together from the values in force, over one window
        if liq_ltv != current or risk_factor != in_force.risk_factor:
            ramp_end = block.timestamp + RAMP_TIME
            self._ramps_from[collateral] = current | (in_force.risk_factor << 64)
    else:
        assert collateral.is_contract, "engine: collateral not a contract"
        decimals: uint8 = staticcall IERC20Detailed(collateral).decimals()
        assert decimals <= 18, "engine: decimals above 18"
        # dev: the oracle must price the asset before anyone can post it
        assert staticcall IPriceOracle(oracle).price(collateral) != 0, "engine: unpriced asset"
        extcall ILendingVault(vault).list_collateral(collateral)
        identity = (convert(decimals, uint256) << DECIMALS_SHIFT) | LISTED
    assert max_ltv < min(liq_ltv, current), "engine: max_ltv must be below liq_ltv"
    # dev: every parameter below 2**64 (WAD fractions)
    self._config[collateral] = max_ltv | (liq_ltv << 64) | (risk_factor << 128) | identity | (ramp_end << RAMP_SHIFT)
    log ILiquidationEngine.CollateralConfigured(
        asset=collateral, max_ltv=max_ltv, liq_ltv=liq_ltv, risk_factor=risk_factor
    )


@external
def set_risk_limits(
    base_risk_factor: uint256,
    max_risk_ratio: uint256,
    liq_risk_ratio: uint256,
    max_leverage: uint256,
    liq_leverage: uint256,
):
    """
    @notice Owner only. Set the opening limits (at once) and the liquidation thresholds. While anyone
            owes the vault, the thresholds move from where they are to the new values linearly over
            RAMP_TIME seconds (`risk_limits` shows them in force), so no account becomes liquidatable
            by the step; the opening limits must stay at or below them all along.
    """
    ownable._check_owner()
    assert base_risk_factor <= WAD, "engine: base_risk_factor above bound"
    assert liq_risk_ratio <= MAX_RISK_RATIO, "engine: liq_risk_ratio above bound"
    assert liq_leverage <= MAX_LEVERAGE, "engine: liq_leverage above bound"
    target: uint256 = base_risk_factor | (liq_risk_ratio << 72) | (liq_leverage << 144)
    # dev: with debt outstanding the thresholds ramp from where they are; without, nobody can be liquidated
    current: uint256 = target
    if staticcall ILendingVault(vault).total_scaled_debt() != 0:
        current = self._liq_limits_now()
    # dev: the opening limits stay at or below the thresholds in force all along the ramp
    assert max_risk_ratio != 0 and max_risk_ratio <= min(liq_risk_ratio, (current >> 72) & MASK_72), (
        "engine: bad risk ratio limits"
    )
    assert max_leverage > WAD and max_leverage <= min(liq_leverage, current >> 144), "engine: bad leverage limits"
    stored: uint256 = self._liq_limits
    if target == stored & (2**LIMITS_RAMP_SHIFT - 1):
        # dev: the thresholds' target is unchanged (only opening limits move): a running ramp goes on as it was
        target = stored
    elif target != current:
        self._liq_limits_from = current
        target |= (block.timestamp + RAMP_TIME) << LIMITS_RAMP_SHIFT
    self._liq_limits = target
    self._open_limits = max_risk_ratio | (max_leverage << 128)
    log ILiquidationEngine.RiskLimitsSet(
        base_risk_factor=base_risk_factor,
        max_risk_ratio=max_risk_ratio,
        liq_risk_ratio=liq_risk_ratio,
        max_leverage=max_leverage,
        liq_leverage=liq_leverage,
        ramp_end=target >> LIMITS_RAMP_SHIFT,
    )


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




# ---------------------------------------------------------------- internal: risk


@internal
@view
def _read_prices(
    position: ILendingVault.Position, strict: bool
) -> (DynArray[uint256, MAX_COLLATERALS], uint256):
    """
    @notice The oracle price of every asset `position` holds, in its order, and of the base asset:
            one oracle call for the whole account. `strict` (the opening paths): any unreadable price
            reverts. Otherwise (the liquidation paths, invariant 10) a collateral whose price cannot be read
            reads 0, worthless; the base asset's price must still be read.
    """
    assets: DynArray[address, MAX_COLLATERALS + 1] = []
    for asset: address in position.assets:
        assets.append(asset)
    assets.append(base_asset)
    read: DynArray[uint256, MAX_COLLATERALS + 1] = []
    if strict:
        read = staticcall IPriceOracle(oracle).prices(assets)
    else:
        read = staticcall IPriceOracle(oracle).try_prices(assets)
    prices: DynArray[uint256, MAX_COLLATERALS] = []
    for i: uint256 in range(len(position.assets), bound=MAX_COLLATERALS):
        prices.append(read[i])
    base_price: uint256 = read[len(position.assets)]
    if base_price == 0:
        # dev: reverts with the oracle's reason: no debt is valued without its price
        base_price = staticcall IPriceOracle(oracle).price(base_asset)
    return prices, base_price


@internal
@view
def _totals(
    position: ILendingVault.Position, prices: DynArray[uint256, MAX_COLLATERALS], base_price: uint256, opening: bool
) -> risk.Totals:
    """
    @notice The sums behind every metric; `prices` are those of `position.assets`, `base_price` the debt's.
            With `opening` (borrow and collateral removal only), each asset's `max_ltv` is
            scaled by the oracle's volatility factor.
    """
    t: risk.Totals = empty(risk.Totals)
    for i: uint256 in range(len(position.assets), bound=MAX_COLLATERALS):
        asset: address = position.assets[i]
        config: ILiquidationEngine.CollateralConfig = self._load_config(asset)
        if opening:
            # dev: rounds down (favours the protocol); the factor is exactly WAD while the asset's k is 0
            config.max_ltv = config.max_ltv * staticcall IPriceOracle(oracle).ltv_factor(asset) // WAD
            # dev: a new position is judged by the stricter of the risk factor in force and its ramp's target
            # (Aave applies a new LTV to new borrows at once), so none opens only to be liquidated by the ramp
            config.risk_factor = max(config.risk_factor, (self._config[asset] >> 128) & MASK_64)
        t = risk._add(
            t,
            conversions._value(position.amounts[i], prices[i], config.scale, False),
            config.max_ltv,
            config.liq_ltv,
            config.risk_factor,
        )
    if position.debt != 0:
        t.debt_value = conversions._value(position.debt, base_price, _BASE_UNIT, True)
    return t


@internal
@view
def _judge(
    position: ILendingVault.Position, collateral: address
) -> (ILiquidationEngine.LiquidationSnapshot, uint256, bool):
    """
    @notice What a liquidation of `position` against `collateral` needs, the value of every other
            collateral it holds that could still be sold (WAD USD, `_sellable` each), and whether every
            asset it holds could be priced. An asset whose price cannot be read counts as worthless here.
    """
    prices: DynArray[uint256, MAX_COLLATERALS] = []
    base_price: uint256 = 0
    prices, base_price = self._read_prices(position, False)
    t: risk.Totals = self._totals(position, prices, base_price, False)
    snap: ILiquidationEngine.LiquidationSnapshot = ILiquidationEngine.LiquidationSnapshot(
        liquidatable=self._is_liquidatable(t, self._liq_limits_now()),
        debt=position.debt,
        debt_value=t.debt_value,
        collateral_amount=0,
        collateral_price=0,
        base_price=base_price,
    )
    other_value: uint256 = 0
    priced: bool = True
    for i: uint256 in range(len(position.assets), bound=MAX_COLLATERALS):
        if prices[i] == 0:
            priced = False
        if position.assets[i] == collateral:
            snap.collateral_amount = position.amounts[i]
            snap.collateral_price = prices[i]
        else:
            scale: uint256 = self._load_config(position.assets[i]).scale
            other_value += self._sellable(conversions._value(position.amounts[i], prices[i], scale, False), base_price)
    return snap, other_value, priced


@internal
@view
def _sellable(worth: uint256, base_price: uint256) -> uint256:
    """
    @notice `worth` (WAD USD) of one collateral, or 0 when it cannot buy a base unit from any slot: below two
            base units' worth (the queue keeps every premium under 50%, so half of it buys less than one).
    """
    # dev: the base unit's worth rounds up, so a borderline amount counts as unsellable
    if worth < 2 * math._ceil_div(base_price, _BASE_UNIT):
        return 0
    return worth


@internal
@pure
def _is_dust(worth: uint256, dust_value: uint256) -> bool:
    """
    @notice Whether collateral worth `worth` (WAD USD, sellable only) is dust: nothing, or below `dust_value`.
    """
    return worth == 0 or worth < dust_value


@internal
@pure
def _is_liquidatable(t: risk.Totals, liq: uint256) -> bool:
    return risk._liquidatable(t, liq & MASK_72, (liq >> 72) & MASK_72, liq >> 144)


@internal
@view
def _liq_limits_now() -> uint256:
    """
    @notice The market's liquidation thresholds in force, packed as in _liq_limits (ramp end cleared).
    """
    packed: uint256 = self._liq_limits
    ramp_end: uint256 = packed >> LIMITS_RAMP_SHIFT
    if ramp_end <= block.timestamp:
        return packed & (2**LIMITS_RAMP_SHIFT - 1)
    old: uint256 = self._liq_limits_from
    now: uint256 = 0
    for i: uint256 in range(3):
        bit: uint256 = 72 * i
        now |= self._lerp((old >> bit) & MASK_72, (packed >> bit) & MASK_72, ramp_end) << bit
    return now


@internal
@view
def _lerp(old: uint256, new: uint256, ramp_end: uint256) -> uint256:
    """
    @notice Where a linear ramp from `old` to `new`, started RAMP_TIME seconds before `ramp_end`
            (still ahead), stands now; rounded toward `old`, the value the accounts were measured against.
    """
    left: uint256 = ramp_end - block.timestamp
    if new >= old:
        return new - math._ceil_div((new - old) * left, RAMP_TIME)
    return new + math._ceil_div((old - new) * left, RAMP_TIME)


@internal
@view
def _load_config(collateral: address) -> ILiquidationEngine.CollateralConfig:
    packed: uint256 = self._config[collateral]
    liq_ltv: uint256 = (packed >> 64) & MASK_64
    risk_factor: uint256 = (packed >> 128) & MASK_64
    ramp_end: uint256 = (packed >> RAMP_SHIFT) & MASK_40
    if ramp_end > block.timestamp:
        start: uint256 = self._ramps_from[collateral]
        liq_ltv = self._lerp(start & MASK_64, liq_ltv, ramp_end)
        risk_factor = self._lerp(start >> 64, risk_factor, ramp_end)
    return ILiquidationEngine.CollateralConfig(
        max_ltv=packed & MASK_64,
        liq_ltv=liq_ltv,
        risk_factor=risk_factor,
        scale=10 ** ((packed >> DECIMALS_SHIFT) & 255),
        listed=(packed >> 200) & 1,
    )


@internal
@view
def _check_listed(collateral: address):
    assert self._config[collateral] & LISTED != 0, "engine: unknown collateral"


@internal
@pure
def _pack(close_ratio: uint256, keeper_fee: uint256, protocol_fee: uint256, dust_value: uint256) -> uint256:
    # dev: the setters bound the first three to WAD < 2**60 and dust_value to 10,000 WAD < 2**76
    return close_ratio | (keeper_fee << 60) | (protocol_fee << 120) | (dust_value << 180)
