# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title ALA liquidation lens
@notice Stateless views for keepers and front ends: which accounts can be liquidated now and
        the health of many accounts (one eth_call per batch of up to 500; every price and every
        risk parameter read once per batch), the health of one account, and the exact preview of
        a liquidation. The metrics come from the same module (modules/risk.vy) and the same
        public parameters (the engine's `collateral_config` and `risk_limits`, ramps included)
        as the engine's own checks, and the preview follows the engine's own plan
        (modules/liquidation_plan.vy), so the lens and the engine cannot disagree. It holds no
        state, so the contracts that do keep their size under EIP-170.
@license MIT
@custom:contract-name LiquidationLens
"""

from interfaces import ILiquidationLens
from interfaces import ILiquidationEngine
from interfaces import ILendingVault
from interfaces import ILiquidationQueue
from interfaces import IPriceOracle
from interfaces import IAuctionSettlement
from ethereum.ercs import IERC20Detailed

implements: ILiquidationLens

from modules import risk
from modules import liquidation_plan
from modules import conversions


MAX_BATCH: constant(uint256) = 500
# Collateral assets the vault lists, at most (ILendingVault.collateral_assets).
MAX_COLLATERALS: constant(uint256) = 8

# The risk engine whose judgement the views reproduce.
engine: public(immutable(address))
# The engine's ledger.
vault: public(immutable(address))
# The engine's price source.
oracle: public(immutable(address))
# The engine's bid pools.
queue: public(immutable(address))
# The base asset (the debt), and 10**its decimals.
_BASE: immutable(address)
_BASE_UNIT: immutable(uint256)


# What a batch reads once: the listed assets, their prices and parameters, and the market limits.
struct Market:
    assets: DynArray[address, MAX_COLLATERALS]
    # WAD USD per whole token; 0 for an asset nobody has posted (never needed)
    prices: DynArray[uint256, MAX_COLLATERALS]
    configs: DynArray[ILiquidationEngine.CollateralConfig, MAX_COLLATERALS]
    limits: ILiquidationEngine.RiskLimits
    base_price: uint256


@deploy
def __init__(engine_: address):
    assert engine_ != empty(address), "lens: zero engine"
    engine = engine_
    vault = staticcall ILiquidationEngine(engine_).vault()
    oracle = staticcall ILiquidationEngine(engine_).oracle()
    queue = staticcall ILiquidationEngine(engine_).queue()
    _BASE = staticcall ILendingVault(vault).asset()
    _BASE_UNIT = 10 ** convert(staticcall IERC20Detailed(_BASE).decimals(), uint256)


@external
@view
def liquidatable(accounts: DynArray[address, MAX_BATCH]) -> DynArray[bool, MAX_BATCH]:
    """
    @notice For each account, whether `engine.liquidate` would pass the threshold check now against
            at least one collateral: an account breaching a threshold reads false while every
            collateral it holds has its liquidations paused by the oracle's breaker, and while
            it has an auction not yet settled to the end (the settlement's `auction_of`; `settle_auction` it).
            A collateral whose price cannot be read counts as worthless and cannot be liquidated against
            (invariant 10): the batch answers all the same.
    """
    market: Market = self._market()
    paused: DynArray[bool, MAX_COLLATERALS] = []
    for asset: address in market.assets:
        paused.append(staticcall IPriceOracle(oracle).liquidations_paused(asset))
    result: DynArray[bool, MAX_BATCH] = []
    for account: address in accounts:
        position: ILendingVault.Position = staticcall ILendingVault(vault).position_of(account)
        limits: ILiquidationEngine.RiskLimits = market.limits
        flag: bool = risk._liquidatable(
            self._totals(position, market), limits.base_risk_factor, limits.liq_risk_ratio, limits.liq_leverage
        )
        if flag and self._auction_of(account) != 0:
            flag = False
        if flag:
            # dev: at least one collateral it holds must be open to liquidation
            flag = False
            for asset: address in position.assets:
                i: uint256 = self._index(market, asset)
                if not paused[i] and market.prices[i] != 0:
                    flag = True
                    break
        result.append(flag)
    return result


@external
@view
def accounts_health(
    accounts: DynArray[address, MAX_BATCH],
) -> DynArray[ILiquidationEngine.AccountHealth, MAX_BATCH]:
    """
    @notice `engine.account_health` of each account; every price is read once for the whole batch. A
            collateral whose price cannot be read counts as worthless, as on the engine's liquidation paths.
    """
    market: Market = self._market()
    result: DynArray[ILiquidationEngine.AccountHealth, MAX_BATCH] = []
    for account: address in accounts:
        result.append(self._health(staticcall ILendingVault(vault).position_of(account), market))
    return result


@external
@view
def account_health(account: address) -> ILiquidationEngine.AccountHealth:
    """
    @notice Every metric of `account` against the thresholds in force (a running ramp included),
            as the engine judges it.
    """
    position: ILendingVault.Position = staticcall ILendingVault(vault).position_of(account)
    return self._health(position, self._market_of(position.assets))


@external
@view
def liquidation_snapshot(account: address, collateral: address) -> ILiquidationEngine.LiquidationSnapshot:
    """
    @notice What `engine.liquidate` would judge `account` by now, against `collateral`.
    """
    self._check_listed(collateral)
    position: ILendingVault.Position = staticcall ILendingVault(vault).position_of(account)
    return self._judge(position, collateral, self._market_of(position.assets))


@external
@view
def preview_liquidation(account: address, collateral: address) -> ILiquidationEngine.LiquidationPreview:
    """
    @notice Exactly what `engine.liquidate(account, collateral, max_uint)` would do now. While
            `collateral`'s liquidations are paused, an account breaching a threshold previews
            as liquidatable with nothing raised, repaid or seized (as with no active bids):
            `liquidate` reverts until the oracle accepts the new price (`liquidations_paused`).
            An account with an auction not yet settled to the end previews as not liquidatable
            (`settle_auction` it first). `auction_lot` and `auction_tab` are what would go to the
            auction house when the bid pools fall short.
    """
    self._check_listed(collateral)
    position: ILendingVault.Position = staticcall ILendingVault(vault).position_of(account)
    snap: ILiquidationEngine.LiquidationSnapshot = self._judge(position, collateral, self._market_of(position.assets))
    if not snap.liquidatable or snap.collateral_amount == 0:
        return empty(ILiquidationEngine.LiquidationPreview)
    if self._auction_of(account) != 0:
        return empty(ILiquidationEngine.LiquidationPreview)
    preview: ILiquidationEngine.LiquidationPreview = empty(ILiquidationEngine.LiquidationPreview)
    preview.liquidatable = True
    if staticcall IPriceOracle(oracle).liquidations_paused(collateral):
        return preview
    keeper_fee: uint256 = staticcall ILiquidationEngine(engine).keeper_fee()
    protocol_fee: uint256 = staticcall ILiquidationEngine(engine).protocol_fee()
    target: uint256 = liquidation_plan._target_repay(
        snap.debt,
        snap.debt_value,
        max_value(uint256),
        staticcall ILiquidationEngine(engine).close_ratio(),
        staticcall ILiquidationEngine(engine).dust_value(),
        liquidation_plan._unit_cost(
            snap.collateral_price,
            (staticcall ILiquidationEngine(engine).collateral_config(collateral)).scale,
            snap.base_price,
            _BASE_UNIT,
        ),
    )
    funds: uint256 = liquidation_plan._funds_needed(target, keeper_fee, protocol_fee)
    fill: ILiquidationQueue.FillResult = staticcall ILiquidationQueue(queue).preview_fill(
        collateral, snap.collateral_price, snap.base_price, funds, snap.collateral_amount, keeper_fee
    )
    repaid: uint256 = 0
    protocol_cut: uint256 = 0
    repaid, protocol_cut = liquidation_plan._split(fill.raised, fill.keeper_cut, snap.debt, protocol_fee)
    sale: liquidation_plan.Slice = empty(liquidation_plan.Slice)
    if fill.raised < funds and self._auction_house() != empty(address):
        pool: ILiquidationQueue.PoolParams = staticcall ILiquidationQueue(queue).pool_params(collateral)
        sale = liquidation_plan._auction_slice(
            snap.collateral_amount - fill.collateral,
            target,
            repaid,
            snap.collateral_price,
            snap.base_price,
            pool.max_slot * pool.premium_step,
            (staticcall ILiquidationEngine(engine).collateral_config(collateral)).scale,
            _BASE_UNIT,
        )
        # dev: the engine opens no auction of a lot worth less than dust_value
        if conversions._value(
            sale.lot,
            snap.collateral_price,
            (staticcall ILiquidationEngine(engine).collateral_config(collateral)).scale,
            False,
        ) < staticcall ILiquidationEngine(engine).dust_value():
            sale = empty(liquidation_plan.Slice)
    preview.repay = repaid
    preview.seized = fill.collateral
    preview.funds = fill.raised
    preview.first_slot = fill.first_slot
    preview.last_slot = fill.last_slot
    preview.keeper_fee = fill.keeper_cut
    preview.protocol_fee = protocol_cut
    preview.auction_lot = sale.lot
    preview.auction_tab = sale.tab
    return preview


@internal
@view
def _auction_of(account: address) -> uint256:
    """
    @notice The auction of `account` the engine's settlement has not settled to the end; 0: none.
    """
    auctions: address = staticcall ILiquidationEngine(engine).auctions()
    if auctions == empty(address):
        return 0
    return staticcall IAuctionSettlement(auctions).auction_of(account)


@internal
@view
def _auction_house() -> address:
    auctions: address = staticcall ILiquidationEngine(engine).auctions()
    if auctions == empty(address):
        return empty(address)
    return staticcall IAuctionSettlement(auctions).auction_house()


@internal
@view
def _market() -> Market:
    # dev: copied into a variable before the loop (vyper 0.4.3 miscompiles a loop over a staticcall result)
    assets: DynArray[address, MAX_COLLATERALS] = staticcall ILendingVault(vault).collateral_assets()
    return self._market_of(assets)


@internal
@view
def _market_of(assets: DynArray[address, MAX_COLLATERALS]) -> Market:
    """
    @notice The market of `assets` (all listed ones, or those one account holds), priced as the engine's
            liquidation paths price them: 0 for an asset whose price cannot be read (worthless).
    """
    market: Market = empty(Market)
    market.assets = assets
    query: DynArray[address, MAX_COLLATERALS + 1] = []
    for asset: address in assets:
        query.append(asset)
    read: DynArray[uint256, MAX_COLLATERALS + 1] = staticcall IPriceOracle(oracle).try_prices(query)
    for i: uint256 in range(len(assets), bound=MAX_COLLATERALS):
        market.prices.append(read[i])
        market.configs.append(staticcall ILiquidationEngine(engine).collateral_config(assets[i]))
    market.limits = staticcall ILiquidationEngine(engine).risk_limits()
    market.base_price = staticcall IPriceOracle(oracle).price(_BASE)
    return market


@internal
@view
def _judge(
    position: ILendingVault.Position, collateral: address, market: Market
) -> ILiquidationEngine.LiquidationSnapshot:
    health: ILiquidationEngine.AccountHealth = self._health(position, market)
    snap: ILiquidationEngine.LiquidationSnapshot = ILiquidationEngine.LiquidationSnapshot(
        liquidatable=health.liquidatable,
        debt=position.debt,
        debt_value=health.debt_value,
        collateral_amount=0,
        collateral_price=0,
        base_price=market.base_price,
    )
    for i: uint256 in range(len(position.assets), bound=MAX_COLLATERALS):
        if position.assets[i] == collateral:
            snap.collateral_amount = position.amounts[i]
            snap.collateral_price = market.prices[self._index(market, collateral)]
    if snap.collateral_price == 0:
        # dev: the collateral sold must be priced (the engine reverts with the oracle's reason too); one the
        # account does not hold is priced all the same, as the engine would if the account held it
        snap.collateral_price = staticcall IPriceOracle(oracle).price(collateral)
    return snap


@internal
@view
def _check_listed(collateral: address):
    assert (staticcall ILiquidationEngine(engine).collateral_config(collateral)).listed != 0, (
        "lens: unknown collateral"
    )


@internal
@pure
def _index(market: Market, asset: address) -> uint256:
    for i: uint256 in range(len(market.assets), bound=MAX_COLLATERALS):
        if market.assets[i] == asset:
            return i
    raise "lens: unlisted asset"


@internal
@view
def _totals(position: ILendingVault.Position, market: Market) -> risk.Totals:
    t: risk.Totals = empty(risk.Totals)
    for j: uint256 in range(len(position.assets), bound=MAX_COLLATERALS):
        i: uint256 = self._index(market, position.assets[j])
        config: ILiquidationEngine.CollateralConfig = market.configs[i]
        t = risk._add(
            t,
            conversions._value(position.amounts[j], market.prices[i], config.scale, False),
            config.max_ltv,
            config.liq_ltv,
            config.risk_factor,
        )
    if position.debt != 0:
        t.debt_value = conversions._value(position.debt, market.base_price, _BASE_UNIT, True)
    return t


@internal
@view
def _health(position: ILendingVault.Position, market: Market) -> ILiquidationEngine.AccountHealth:
    t: risk.Totals = self._totals(position, market)
    limits: ILiquidationEngine.RiskLimits = market.limits
    return ILiquidationEngine.AccountHealth(
        collateral_value=t.collateral_value,
        debt_value=t.debt_value,
        health=risk._health(t),
        risk_ratio=risk._risk_ratio(t, limits.base_risk_factor),
        leverage=risk._leverage(t),
        liquidatable=risk._liquidatable(t, limits.base_risk_factor, limits.liq_risk_ratio, limits.liq_leverage),
    )
