# pragma version ~=0.4.3
# pragma nonreentrancy on
# pragma optimize codesize
"""
@title ALA lending vault
@notice Lenders deposit the base asset for ERC-4626 shares; borrowers post up to
        eight collateral assets and borrow the base asset at a kinked,
        utilisation-based rate accrued per second through a borrow index. A
        reserve factor of the interest feeds the reserves, the insurance fund
        that absorbs bad debt before lenders do. Opening limits (max LTV, max
        risk ratio, max leverage) are enforced on borrow and remove_collateral;
        the liquidation thresholds are exposed to the LiquidationEngine, the
        only contract that may seize collateral or write down debt.
@license MIT
@custom:contract-name LendingVault
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed
from ethereum.ercs import IERC4626

implements: IERC20
implements: IERC20Detailed
implements: IERC4626

from interfaces import ILendingVault
from interfaces import IPriceOracle
from interfaces import IRateModel

implements: ILendingVault

from snekmate.auth import ownable
from snekmate.auth import ownable_2step
from snekmate.tokens import erc20
from snekmate.utils import math
from modules import risk

initializes: ownable
initializes: ownable_2step[ownable := ownable]
initializes: erc20[ownable := ownable]

exports: (
    erc20.IERC20,
    erc20.IERC20Detailed,
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
)


WAD: constant(uint256) = 10**18
YEAR: constant(uint256) = 365 * 86400
MAX_ASSETS: constant(uint256) = 8
MAX_BATCH: constant(uint256) = 500
# Shares carry 10**6 virtual units per asset unit: the first-depositor inflation attack then costs
# the attacker about a million times what it could steal (OpenZeppelin / snekmate decimals offset).
DECIMALS_OFFSET: constant(uint8) = 6
# Hard bounds of the owner's setters.
MAX_LIQ_LTV: constant(uint256) = 97 * 10**16
MAX_RESERVE_FACTOR: constant(uint256) = 5 * 10**17
# Highest annual borrow rate a rate model may quote, WAD (KinkedRateModel's bounds sum to 1400%).
MAX_BORROW_RATE: constant(uint256) = 14 * WAD
MAX_RISK_RATIO: constant(uint256) = 100 * WAD
MAX_LEVERAGE: constant(uint256) = 100 * WAD
# Bit masks of the packed storage words.
MASK_64: constant(uint256) = 2**64 - 1
MASK_72: constant(uint256) = 2**72 - 1
MASK_128: constant(uint256) = 2**128 - 1
MASK_40: constant(uint256) = 2**40 - 1
MASK_160: constant(uint256) = 2**160 - 1
# A change of a liquidation threshold (an asset's liq_ltv, or the market's base_risk_factor,
# liq_risk_ratio and liq_leverage) ramps linearly over this long, seconds (as Curve ramps A): no account
# becomes liquidatable by a parameter step. The end of a running ramp sits in bits 208-247 of an asset's
# config and in bits 216-255 of the market limits.
LIQ_LTV_RAMP: constant(uint256) = 86400
RAMP_SHIFT: constant(uint256) = 208
LIMITS_RAMP_SHIFT: constant(uint256) = 216
INDEX_MASK: constant(uint256) = 2**192 - 1

# The lent asset (ERC-4626 `asset`).
asset: public(immutable(address))
# 10**decimals of the base asset.
_BASE_SCALE: immutable(uint256)
# Price source for every asset, the base asset included.
oracle: public(immutable(address))

# The only contract that may seize collateral and write down debt.
engine: public(address)
# May pause deposits, borrows and collateral removals (never repayments or collateral additions).
guardian: public(address)
# True while deposit, mint, borrow and remove_collateral are paused.
paused: public(bool)

# Base asset held for lenders, borrowers and reserves, base units (donations are not counted).
_cash: uint256
# Insurance fund inside the vault's assets, base units.
_reserves: uint256
# Borrow index (cumulative interest factor of debt, WAD, 1e18 at launch) in bits 0-191 and the
# timestamp of the last accrual in bits 192-255: one slot, read and written by every accrual.
_accrual: uint256
# Σ of every account's scaled debt (debt / borrow index), WAD-scaled base units.
_total_scaled_debt: uint256
# Account -> scaled debt (debt / borrow index).
_scaled_debt: HashMap[address, uint256]
# The interest rate model (IRateModel) in bits 0-159 and the reserve factor (share of accrued
# interest that goes to the reserves, WAD) in bits 160-255: one slot, read by every accrual.
_rates: uint256
# Liquidation thresholds, WAD, 72 bits each: base_risk_factor | liq_risk_ratio | liq_leverage, and
# the end of a running ramp toward them (bits 216-255; 0: none).
_liq_limits: uint256
# The three thresholds in force when the running ramp started, packed as in _liq_limits.
_liq_limits_from: uint256
# Opening limits, WAD, 128 bits each: max_risk_ratio | max_leverage.
_open_limits: uint256
# Base units of debt written off as bad debt, cumulative.
total_bad_debt: public(uint256)

# Listed collateral assets, in listing order.
_assets: DynArray[address, MAX_ASSETS]
# Asset -> its risk parameters packed in one slot (WAD, 64 bits each): max_ltv | liq_ltv | risk_factor,
# then decimals (bits 192-199) and listing position + 1 (bits 200-207; 0: not listed).
_config: HashMap[address, uint256]
# Asset -> liq_ltv a running ramp started from.
_liq_ramps: HashMap[address, uint256]
# Account -> asset -> collateral posted, token units.
_collateral: HashMap[address, HashMap[address, uint256]]
# Asset -> Σ collateral posted by all accounts, token units.
_total_collateral: HashMap[address, uint256]


@deploy
def __init__(asset_: address, oracle_: address, rate_model_: address, name_: String[25], symbol_: String[5]):
    assert asset_ != empty(address), "vault: zero asset"
    assert oracle_ != empty(address), "vault: zero oracle"
    self._check_rate_model(rate_model_)
    decimals: uint8 = staticcall IERC20Detailed(asset_).decimals()
    assert decimals <= 18, "vault: decimals above 18"
    asset = asset_
    oracle = oracle_
    _BASE_SCALE = 10 ** convert(decimals, uint256)

    ownable.__init__()
    ownable_2step.__init__()
    erc20.__init__(name_, symbol_, decimals + DECIMALS_OFFSET, name_, "1")

    self._accrual = self._pack_accrual(WAD, block.timestamp)
    self._rates = convert(rate_model_, uint256) | (10**17 << 160)
    self._liq_limits = 2 * 10**16 | (3 * WAD // 2 << 72) | (15 * WAD << 144)
    self._open_limits = WAD | (10 * WAD << 128)


# ---------------------------------------------------------------- ERC-4626 (lenders)


@external
@view
def totalAssets() -> uint256:
    return self._total_assets()


@external
@view
def convertToShares(assetAmount: uint256) -> uint256:
    return self._to_shares(assetAmount, False)


@external
@view
def convertToAssets(shareAmount: uint256) -> uint256:
    return self._to_assets(shareAmount, False)


@external
@view
def maxDeposit(owner: address) -> uint256:
    if self.paused:
        return 0
    return max_value(uint256)


@external
@view
def maxMint(owner: address) -> uint256:
    if self.paused:
        return 0
    return max_value(uint256)


@external
@view
def maxWithdraw(owner: address) -> uint256:
    return min(self._to_assets(erc20.balanceOf[owner], False), self._available_liquidity())


@external
@view
def maxRedeem(owner: address) -> uint256:
    return min(erc20.balanceOf[owner], self._to_shares(self._available_liquidity(), False))


@external
@view
def previewDeposit(assets: uint256) -> uint256:
    # dev: round down, the depositor never gets more shares than paid for
    return self._to_shares(assets, False)


@external
@view
def previewMint(shares: uint256) -> uint256:
    # dev: round up, the minter pays at least the shares' worth
    return self._to_assets(shares, True)


@external
@view
def previewWithdraw(assets: uint256) -> uint256:
    # dev: round up, the withdrawer burns at least the assets' worth
    return self._to_shares(assets, True)


@external
@view
def previewRedeem(shares: uint256) -> uint256:
    # dev: round down, the redeemer never gets more than the shares are worth
    return self._to_assets(shares, False)


@external
def deposit(assets: uint256, receiver: address) -> uint256:
    self._check_not_paused()
    self._check_amount(assets)
    self._check_receiver(receiver)
    self._accrue()
    shares: uint256 = self._to_shares(assets, False)
    assert shares != 0, "vault: zero shares"
    self._pull(asset, assets)
    self._cash += assets
    erc20._mint(receiver, shares)
    log IERC4626.Deposit(sender=msg.sender, owner=receiver, assets=assets, shares=shares)
    return shares


@external
def mint(shares: uint256, receiver: address) -> uint256:
    self._check_not_paused()
    self._check_amount(shares)
    self._check_receiver(receiver)
    self._accrue()
    assets: uint256 = self._to_assets(shares, True)
    assert assets != 0, "vault: zero assets"
    self._pull(asset, assets)
    self._cash += assets
    erc20._mint(receiver, shares)
    log IERC4626.Deposit(sender=msg.sender, owner=receiver, assets=assets, shares=shares)
    return assets


@external
def withdraw(assets: uint256, receiver: address, owner: address) -> uint256:
    self._check_amount(assets)
    self._check_receiver(receiver)
    self._accrue()
    shares: uint256 = self._to_shares(assets, True)
    self._exit(assets, shares, receiver, owner)
    return shares


@external
def redeem(shares: uint256, receiver: address, owner: address) -> uint256:
    self._check_amount(shares)
    self._check_receiver(receiver)
    self._accrue()
    assets: uint256 = self._to_assets(shares, False)
    assert assets != 0, "vault: zero assets"
    self._exit(assets, shares, receiver, owner)
    return assets


# ---------------------------------------------------------------- borrowers


@external
def add_collateral(collateral_asset: address, amount: uint256, account: address):
    """
    @notice Post `amount` of `collateral_asset` for `account` (anyone may top up any account).
            Never paused: adding collateral only makes an account safer.
    """
    self._check_amount(amount)
    assert account != empty(address), "vault: zero account"
    self._check_listed(collateral_asset)
    self._pull(collateral_asset, amount)
    self._collateral[account][collateral_asset] += amount
    self._total_collateral[collateral_asset] += amount
    log ILendingVault.CollateralAdded(account=account, asset=collateral_asset, amount=amount, sender=msg.sender)


@external
def remove_collateral(collateral_asset: address, amount: uint256, receiver: address):
    """
    @notice Withdraw `amount` (max uint: all) of the caller's `collateral_asset`; the
            account must stay within every opening limit.
    """
    self._check_not_paused()
    self._check_amount(amount)
    self._check_receiver(receiver)
    self._check_listed(collateral_asset)
    posted: uint256 = self._collateral[msg.sender][collateral_asset]
    taken: uint256 = amount
    if amount == max_value(uint256):
        taken = posted
    assert taken != 0 and taken <= posted, "vault: insufficient collateral"
    index: uint256 = self._accrue()
    self._collateral[msg.sender][collateral_asset] = posted - taken
    self._total_collateral[collateral_asset] -= taken
    self._check_opening_limits(msg.sender, index)
    self._push(collateral_asset, receiver, taken)
    log ILendingVault.CollateralRemoved(account=msg.sender, asset=collateral_asset, amount=taken, receiver=receiver)


@external
def borrow(amount: uint256, receiver: address):
    """
    @notice Borrow `amount` of the base asset against the caller's collateral.
    """
    self._check_not_paused()
    self._check_amount(amount)
    self._check_receiver(receiver)
    index: uint256 = self._accrue()
    self._check_liquidity(amount)
    # dev: round the scaled debt up, the borrower owes at least what it took
    scaled: uint256 = math._mul_div(amount, WAD, index, True)
    self._scaled_debt[msg.sender] += scaled
    self._total_scaled_debt += scaled
    self._cash -= amount
    self._check_opening_limits(msg.sender, index)
    self._push(asset, receiver, amount)
    log ILendingVault.Borrowed(account=msg.sender, amount=amount, receiver=receiver)


@external
def repay(amount: uint256, account: address) -> uint256:
    """
    @notice Repay up to `amount` of `account`'s debt (max uint, or anything above the debt,
            repays everything). Never paused. Returns the amount repaid.
    """
    self._check_amount(amount)
    assert account != empty(address), "vault: zero account"
    index: uint256 = self._accrue()
    scaled: uint256 = self._scaled_debt[account]
    assert scaled != 0, "vault: no debt"
    debt: uint256 = self._debt(scaled, index)
    paid: uint256 = min(amount, debt)
    self._pull(asset, paid)
    self._cash += paid
    remaining: uint256 = self._reduce_debt(account, scaled, debt, paid, index)
    log ILendingVault.Repaid(account=account, payer=msg.sender, amount=paid, remaining=remaining)
    return paid


@external
def accrue_interest():
    """
    @notice Bring the borrow index and the reserves up to date (anyone may call).
    """
    self._accrue()


# ---------------------------------------------------------------- liquidation engine hooks


@external
def prepare_liquidation(account: address, collateral_asset: address) -> ILendingVault.LiquidationSnapshot:
    """
    @notice Engine only: accrue interest and report what a liquidation of `account` needs.
    """
    self._check_engine()
    self._check_listed(collateral_asset)
    index: uint256 = self._accrue()
    return self._snapshot(account, collateral_asset, index)


@external
def settle_liquidation(
    account: address,
    collateral_asset: address,
    seized: uint256,
    receiver: address,
    repaid: uint256,
    reserve_fee: uint256,
    write_off: bool,
) -> uint256:
    """
    @notice Engine only: the engine has had `repaid + reserve_fee` base sent to this vault;
            book it, send `seized` collateral to `receiver`, and, when `write_off` is set, write
            off the account's remaining debt as bad debt when no collateral value is left.
            Returns the bad debt. The engine clears `write_off` while collateral it took is
            still being sold (a Dutch auction), whose proceeds will repay that debt.
    """
    self._check_engine()
    received: uint256 = repaid + reserve_fee
    assert staticcall IERC20(asset).balanceOf(self) >= self._cash + received, "vault: liquidation funds missing"
    posted: uint256 = self._collateral[account][collateral_asset]
    assert seized <= posted, "vault: seize exceeds collateral"
    index: uint256 = self._accrual & INDEX_MASK
    scaled: uint256 = self._scaled_debt[account]
    debt: uint256 = self._debt(scaled, index)
    assert repaid <= debt, "vault: repay exceeds debt"

    self._cash += received
    self._reserves += reserve_fee
    remaining: uint256 = self._reduce_debt(account, scaled, debt, repaid, index)
    self._collateral[account][collateral_asset] = posted - seized
    self._total_collateral[collateral_asset] -= seized
    if seized != 0:
        self._push(collateral_asset, receiver, seized)
    log ILendingVault.LiquidationSettled(
        account=account, collateral=collateral_asset, seized=seized, repaid=repaid, reserve_fee=reserve_fee
    )

    if not write_off or remaining == 0 or self._has_collateral_value(account):
        return 0
    return self._write_off(account, remaining)


# ---------------------------------------------------------------- views


@external
@view
def liquidation_snapshot(account: address, collateral_asset: address) -> ILendingVault.LiquidationSnapshot:
    self._check_listed(collateral_asset)
    return self._snapshot(account, collateral_asset, self._accrued()[0])


@external
@view
def account_health(account: address) -> ILendingVault.AccountHealth:
    index: uint256 = self._accrued()[0]
    prices: DynArray[uint256, MAX_ASSETS] = self._prices(False)
    return self._health_of(self._totals(account, prices, 0, index, False))


@external
@view
def accounts_health(accounts: DynArray[address, MAX_BATCH]) -> DynArray[ILendingVault.AccountHealth, MAX_BATCH]:
    """
    @notice Health of a batch of accounts; every price is read once for the whole batch.
    """
    index: uint256 = self._accrued()[0]
    prices: DynArray[uint256, MAX_ASSETS] = self._prices(True)
    base_price: uint256 = staticcall IPriceOracle(oracle).price(asset)
    result: DynArray[ILendingVault.AccountHealth, MAX_BATCH] = []
    for account: address in accounts:
        result.append(self._health_of(self._totals(account, prices, base_price, index, False)))
    return result


@external
@view
def debt_of(account: address) -> uint256:
    return self._debt(self._scaled_debt[account], self._accrued()[0])


@external
@view
def collateral_of(account: address, collateral_asset: address) -> uint256:
    return self._collateral[account][collateral_asset]


@external
@view
def total_collateral(collateral_asset: address) -> uint256:
    return self._total_collateral[collateral_asset]


# The configuration views skip the reentrancy lock: no function writes configuration and calls out
# before it is whole, so a reentrant read cannot see it half-written (and the vault is at its EIP-170 size).
@external
@view
@reentrant
def collateral_assets() -> DynArray[address, MAX_ASSETS]:
    return self._assets


@external
@view
@reentrant
def collateral_config(collateral_asset: address) -> ILendingVault.CollateralConfig:
    return self._load_config(collateral_asset)


@external
@view
@reentrant
def risk_limits() -> ILendingVault.RiskLimits:
    """
    @notice The opening limits and the liquidation thresholds in force, a running ramp included.
    """
    liq: uint256 = self._liq_limits_now()
    opening: uint256 = self._open_limits
    return ILendingVault.RiskLimits(
        base_risk_factor=liq & MASK_72,
        max_risk_ratio=opening & MASK_128,
        liq_risk_ratio=(liq >> 72) & MASK_72,
        max_leverage=opening >> 128,
        liq_leverage=liq >> 144,
    )


@external
@view
@reentrant
def rate_model() -> address:
    return convert(self._rates & MASK_160, address)


@external
@view
@reentrant
def reserve_factor() -> uint256:
    return self._rates >> 160


@external
@view
def total_debt() -> uint256:
    return self._debt(self._total_scaled_debt, self._accrued()[0])


@external
@view
def total_scaled_debt() -> uint256:
    return self._total_scaled_debt


@external
@view
def scaled_debt_of(account: address) -> uint256:
    return self._scaled_debt[account]


@external
@view
def cash() -> uint256:
    return self._cash


@external
@view
def reserves() -> uint256:
    index: uint256 = 0
    reserves_added: uint256 = 0
    index, reserves_added = self._accrued()
    return self._reserves + reserves_added


@external
@view
def utilisation() -> uint256:
    return self._utilisation(self._debt(self._total_scaled_debt, self._accrual & INDEX_MASK))


@external
@view
def borrow_rate() -> uint256:
    """
    @notice Current annual borrow rate, WAD.
    """
    return self._annual_rate(
        self._rates, self._utilisation(self._debt(self._total_scaled_debt, self._accrual & INDEX_MASK))
    )


@external
@view
def borrow_index() -> uint256:
    return self._accrued()[0]


@external
@view
def last_accrual() -> uint256:
    return self._accrual >> 192


@external
@view
def available_liquidity() -> uint256:
    return self._available_liquidity()


# ---------------------------------------------------------------- admin


@external
def configure_collateral(collateral_asset: address, max_ltv: uint256, liq_ltv: uint256, risk_factor: uint256):
    """
    @notice List `collateral_asset` or change its parameters: max_ltv < liq_ltv <= 97%,
            risk_factor <= 100%. A listed asset's liq_ltv moves to the new value linearly over
            LIQ_LTV_RAMP seconds from where it is now (`collateral_config` shows it), so no account becomes
            liquidatable by the step; max_ltv must also stay below the current liq_ltv.
    """
    ownable._check_owner()
    assert collateral_asset != empty(address), "vault: zero asset"
    assert collateral_asset != asset, "vault: base asset as collateral"
    assert liq_ltv <= MAX_LIQ_LTV, "vault: liq_ltv above bound"
    assert risk_factor <= WAD, "vault: risk_factor above bound"
    packed: uint256 = self._config[collateral_asset]
    # dev: decimals and listing position survive a parameter change
    identity: uint256 = (packed >> 192) & 65535
    # dev: the liq_ltv in force (the new one for a new listing): max_ltv stays below it too
    current: uint256 = liq_ltv
    ramp_end: uint256 = 0
    if identity != 0:
        current = self._load_config(collateral_asset).liq_ltv
        if liq_ltv != current:
            ramp_end = block.timestamp + LIQ_LTV_RAMP
            self._liq_ramps[collateral_asset] = current
    else:
        assert len(self._assets) < MAX_ASSETS, "vault: too many collaterals"
        assert collateral_asset.is_contract, "vault: collateral not a contract"
        decimals: uint8 = staticcall IERC20Detailed(collateral_asset).decimals()
        assert decimals <= 18, "vault: decimals above 18"
        # dev: the oracle must price the asset before anyone can post it
        assert staticcall IPriceOracle(oracle).price(collateral_asset) != 0, "vault: unpriced asset"
        self._assets.append(collateral_asset)
        identity = convert(decimals, uint256) | (len(self._assets) << 8)
    assert max_ltv < min(liq_ltv, current), "vault: max_ltv must be below liq_ltv"
    # dev: every value below 2**64 (WAD fractions; decimals and listing position in 16 bits)
    self._config[collateral_asset] = (
        max_ltv | (liq_ltv << 64) | (risk_factor << 128) | (identity << 192) | (ramp_end << RAMP_SHIFT)
    )
    log ILendingVault.CollateralConfigured(
        asset=collateral_asset, max_ltv=max_ltv, liq_ltv=liq_ltv, risk_factor=risk_factor
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
    @notice Set the opening limits (at once) and the liquidation thresholds. While anyone owes the
            vault, the thresholds move from where they are to the new values linearly over
            LIQ_LTV_RAMP seconds (`risk_limits` shows them in force), so no account becomes
            liquidatable by the step; the opening limits must stay at or below them all along.
    """
    ownable._check_owner()
    assert base_risk_factor <= WAD, "vault: base_risk_factor above bound"
    assert liq_risk_ratio <= MAX_RISK_RATIO, "vault: liq_risk_ratio above bound"
    assert liq_leverage <= MAX_LEVERAGE, "vault: liq_leverage above bound"
    target: uint256 = base_risk_factor | (liq_risk_ratio << 72) | (liq_leverage << 144)
    # dev: with debt outstanding the thresholds ramp from where they are; without, nobody can be liquidated
    current: uint256 = target
    if self._total_scaled_debt != 0:
        current = self._liq_limits_now()
    # dev: the opening limits stay at or below the thresholds in force all along the ramp
    assert max_risk_ratio != 0 and max_risk_ratio <= min(liq_risk_ratio, (current >> 72) & MASK_72), (
        "vault: bad risk ratio limits"
    )
    assert max_leverage > WAD and max_leverage <= min(liq_leverage, current >> 144), "vault: bad leverage limits"
    stored: uint256 = self._liq_limits
    if target == stored & (2**LIMITS_RAMP_SHIFT - 1):
        # dev: the thresholds' target is unchanged (only opening limits move): a running ramp goes on as it was
        target = stored
    elif target != current:
        self._liq_limits_from = current
        target |= (block.timestamp + LIQ_LTV_RAMP) << LIMITS_RAMP_SHIFT
    self._liq_limits = target
    self._open_limits = max_risk_ratio | (max_leverage << 128)
    log ILendingVault.RiskLimitsSet(
        base_risk_factor=base_risk_factor,
        max_risk_ratio=max_risk_ratio,
        liq_risk_ratio=liq_risk_ratio,
        max_leverage=max_leverage,
        liq_leverage=liq_leverage,
        ramp_end=target >> LIMITS_RAMP_SHIFT,
    )


@external
def set_rate_model(rate_model: address):
    """
    @notice Point the vault at another interest rate model; interest so far accrues at the old rate.
    """
    ownable._check_owner()
    self._check_rate_model(rate_model)
    self._accrue()
    self._rates = convert(rate_model, uint256) | (self._rates >> 160 << 160)
    log ILendingVault.RateModelSet(rate_model=rate_model)


@external
def set_reserve_factor(reserve_factor: uint256):
    ownable._check_owner()
    assert reserve_factor <= MAX_RESERVE_FACTOR, "vault: reserve_factor above bound"
    self._accrue()
    self._rates = (self._rates & MASK_160) | (reserve_factor << 160)
    log ILendingVault.ReserveFactorSet(reserve_factor=reserve_factor)


@external
def withdraw_reserves(amount: uint256, receiver: address):
    ownable._check_owner()
    self._check_amount(amount)
    self._check_receiver(receiver)
    self._accrue()
    assert amount <= self._reserves, "vault: exceeds reserves"
    assert amount <= self._cash, "vault: reserves not in cash"
    self._reserves -= amount
    self._cash -= amount
    self._push(asset, receiver, amount)
    log ILendingVault.ReservesWithdrawn(receiver=receiver, amount=amount)


@external
def set_engine(engine: address):
    """
    @notice Set once, after the engine is deployed: the engine is trusted with every account.
    """
    ownable._check_owner()
    assert engine != empty(address), "vault: zero engine"
    assert self.engine == empty(address), "vault: engine already set"
    self.engine = engine
    log ILendingVault.EngineSet(engine=engine)


@external
def set_guardian(guardian: address):
    ownable._check_owner()
    self.guardian = guardian
    log ILendingVault.GuardianSet(guardian=guardian)


@external
def set_paused(paused: bool):
    """
    @notice The guardian or the owner may pause; only the owner may unpause.
    """
    if paused:
        assert msg.sender == self.guardian or msg.sender == ownable.owner, "vault: not guardian or owner"
    else:
        ownable._check_owner()
    self.paused = paused
    log ILendingVault.PausedSet(paused=paused, by=msg.sender)


# ---------------------------------------------------------------- internal: lenders


@internal
@view
def _total_assets() -> uint256:
    index: uint256 = 0
    reserves_added: uint256 = 0
    index, reserves_added = self._accrued()
    gross: uint256 = self._cash + self._debt(self._total_scaled_debt, index)
    reserves: uint256 = self._reserves + reserves_added
    if gross <= reserves:
        return 0
    return gross - reserves


@internal
@view
def _to_shares(assets: uint256, round_up: bool) -> uint256:
    # dev: virtual shares and one virtual asset make the empty vault's price 10**-6 and unmovable by donations
    return math._mul_div(
        assets, erc20.totalSupply + 10 ** convert(DECIMALS_OFFSET, uint256), self._total_assets() + 1, round_up
    )


@internal
@view
def _to_assets(shares: uint256, round_up: bool) -> uint256:
    return math._mul_div(
        shares, self._total_assets() + 1, erc20.totalSupply + 10 ** convert(DECIMALS_OFFSET, uint256), round_up
    )


@internal
@view
def _available_liquidity() -> uint256:
    """
    @notice Cash lenders and borrowers may take: the reserves' part of the cash stays as insurance.
    """
    reserves: uint256 = self._reserves + self._accrued()[1]
    if self._cash <= reserves:
        return 0
    return self._cash - reserves


@internal
def _exit(assets: uint256, shares: uint256, receiver: address, owner: address):
    self._check_liquidity(assets)
    if msg.sender != owner:
        erc20._spend_allowance(owner, msg.sender, shares)
    erc20._burn(owner, shares)
    self._cash -= assets
    self._push(asset, receiver, assets)
    log IERC4626.Withdraw(sender=msg.sender, receiver=receiver, owner=owner, assets=assets, shares=shares)


# ---------------------------------------------------------------- internal: interest


@internal
@view
def _annual_rate(model: uint256, utilisation: uint256) -> uint256:
    # dev: clamped, so no model can overflow the borrow index
    return min(staticcall IRateModel(convert(model & MASK_160, address)).borrow_rate(utilisation), MAX_BORROW_RATE)


@internal
@view
def _utilisation(debt: uint256) -> uint256:
    """
    @notice debt / (cash + debt − reserves), WAD, at most 100%.
    """
    gross: uint256 = self._cash + debt
    if debt == 0 or gross <= self._reserves:
        return 0
    # dev: round down (rate is a model, not a balance)
    return min(debt * WAD // (gross - self._reserves), WAD)


@internal
@view
def _accrued() -> (uint256, uint256):
    """
    @notice The borrow index and the reserves to add if interest were accrued now.
    """
    accrual: uint256 = self._accrual
    index: uint256 = accrual & INDEX_MASK
    elapsed: uint256 = block.timestamp - (accrual >> 192)
    if elapsed == 0 or self._total_scaled_debt == 0:
        return index, 0
    old_debt: uint256 = self._debt(self._total_scaled_debt, index)
    rates: uint256 = self._rates
    annual: uint256 = self._annual_rate(rates, self._utilisation(old_debt))
    # dev: simple interest between accruals, compounded at every accrual (Compound v2); round up (favours lenders)
    growth: uint256 = math._mul_div(index, annual * elapsed, WAD * YEAR, True)
    new_index: uint256 = index + growth
    interest: uint256 = self._debt(self._total_scaled_debt, new_index) - old_debt
    # dev: round down, lenders keep the remainder
    return new_index, interest * (rates >> 160) // WAD


@internal
def _accrue() -> uint256:
    accrual: uint256 = self._accrual
    old_index: uint256 = accrual & INDEX_MASK
    if accrual >> 192 == block.timestamp:
        return old_index
    index: uint256 = 0
    reserves_added: uint256 = 0
    index, reserves_added = self._accrued()
    self._accrual = self._pack_accrual(index, block.timestamp)
    if index != old_index:
        self._reserves += reserves_added
        log ILendingVault.InterestAccrued(
            borrow_index=index,
            interest=self._debt(self._total_scaled_debt, index) - self._debt(self._total_scaled_debt, old_index),
            reserves_added=reserves_added,
        )
    return index


@internal
@pure
def _debt(scaled: uint256, index: uint256) -> uint256:
    # dev: round up, debt is never understated
    return math._mul_div(scaled, index, WAD, True)


@internal
def _reduce_debt(account: address, scaled: uint256, debt: uint256, paid: uint256, index: uint256) -> uint256:
    """
    @notice Lower `account`'s debt by `paid` <= `debt`; returns the debt left.
    """
    burned: uint256 = scaled
    if paid < debt:
        # dev: round down, a partial repayment never clears more debt than it pays
        burned = min(math._mul_div(paid, WAD, index, False), scaled)
    self._scaled_debt[account] = scaled - burned
    self._total_scaled_debt -= burned
    return self._debt(scaled - burned, index)


@internal
def _write_off(account: address, amount: uint256) -> uint256:
    """
    @notice Remove `account`'s remaining debt: reserves absorb it first, lenders' share price the rest.
    """
    scaled: uint256 = self._scaled_debt[account]
    self._scaled_debt[account] = 0
    self._total_scaled_debt -= scaled
    from_reserves: uint256 = min(amount, self._reserves)
    self._reserves -= from_reserves
    self.total_bad_debt += amount
    log ILendingVault.BadDebtWrittenOff(
        account=account, amount=amount, from_reserves=from_reserves, from_lenders=amount - from_reserves
    )
    return amount


# ---------------------------------------------------------------- internal: risk


@internal
@view
def _prices(all_assets: bool) -> DynArray[uint256, MAX_ASSETS]:
    """
    @notice Oracle price of every listed asset that has collateral posted (`all_assets`), or
            zeros to be filled lazily by `_totals` (single-account paths price only what the account holds).
    """
    prices: DynArray[uint256, MAX_ASSETS] = []
    for collateral_asset: address in self._assets:
        if all_assets and self._total_collateral[collateral_asset] != 0:
            prices.append(staticcall IPriceOracle(oracle).price(collateral_asset))
        else:
            prices.append(0)
    return prices


@internal
@view
def _totals(
    account: address, prices: DynArray[uint256, MAX_ASSETS], base_price: uint256, index: uint256, opening: bool
) -> risk.Totals:
    """
    @notice The sums behind every metric. A zero entry in `prices` (or a zero `base_price`) is read from the oracle.
            With `opening` (borrow and collateral removal only), each asset's `max_ltv` is scaled by the
            oracle's volatility factor: opening limits tighten in volatile markets, liquidation thresholds never.
    """
    t: risk.Totals = empty(risk.Totals)
    i: uint256 = 0
    for collateral_asset: address in self._assets:
        amount: uint256 = self._collateral[account][collateral_asset]
        if amount != 0:
            price: uint256 = prices[i]
            if price == 0:
                price = staticcall IPriceOracle(oracle).price(collateral_asset)
            config: ILendingVault.CollateralConfig = self._load_config(collateral_asset)
            value: uint256 = risk._value(amount, price, config.scale, False)
            t.collateral_value += value
            # dev: capacities round down and risk rounds up (neither ever favours the account)
            t.liquidation_capacity += value * config.liq_ltv // WAD
            max_ltv: uint256 = config.max_ltv
            if opening:
                # dev: rounds down (favours the protocol); the factor is exactly WAD while the asset's k is 0
                max_ltv = max_ltv * staticcall IPriceOracle(oracle).ltv_factor(collateral_asset) // WAD
            t.borrow_capacity += value * max_ltv // WAD
            t.weighted_risk += (value * config.risk_factor + WAD - 1) // WAD
        i += 1
    scaled: uint256 = self._scaled_debt[account]
    if scaled != 0:
        price: uint256 = base_price
        if price == 0:
            price = staticcall IPriceOracle(oracle).price(asset)
        t.debt_value = risk._value(self._debt(scaled, index), price, _BASE_SCALE, True)
    return t


@internal
@view
def _health_of(t: risk.Totals) -> ILendingVault.AccountHealth:
    liq: uint256 = self._liq_limits_now()
    return ILendingVault.AccountHealth(
        collateral_value=t.collateral_value,
        debt_value=t.debt_value,
        health=risk._health(t),
        risk_ratio=risk._risk_ratio(t, liq & MASK_72),
        leverage=risk._leverage(t),
        liquidatable=self._is_liquidatable(t, liq),
    )


@internal
@view
def _check_opening_limits(account: address, index: uint256):
    if self._scaled_debt[account] == 0:
        return
    t: risk.Totals = self._totals(account, self._prices(False), 0, index, True)
    opening: uint256 = self._open_limits
    assert t.debt_value <= t.borrow_capacity, "vault: exceeds max ltv"
    assert risk._risk_ratio(t, self._liq_limits_now() & MASK_72) <= opening & MASK_128, "vault: exceeds max risk ratio"
    assert risk._leverage(t) <= opening >> 128, "vault: exceeds max leverage"


@internal
@view
def _snapshot(account: address, collateral_asset: address, index: uint256) -> ILendingVault.LiquidationSnapshot:
    # dev: the two prices the engine needs are read once and reused by the health computation
    collateral_price: uint256 = staticcall IPriceOracle(oracle).price(collateral_asset)
    base_price: uint256 = staticcall IPriceOracle(oracle).price(asset)
    prices: DynArray[uint256, MAX_ASSETS] = self._prices(False)
    prices[((self._config[collateral_asset] >> 200) & 255) - 1] = collateral_price
    t: risk.Totals = self._totals(account, prices, base_price, index, False)
    return ILendingVault.LiquidationSnapshot(
        liquidatable=self._is_liquidatable(t, self._liq_limits_now()),
        debt=self._debt(self._scaled_debt[account], index),
        debt_value=t.debt_value,
        collateral_amount=self._collateral[account][collateral_asset],
        collateral_price=collateral_price,
        base_price=base_price,
    )


@internal
@view
def _has_collateral_value(account: address) -> bool:
    """
    @notice True while any collateral of `account` is still worth something at oracle prices.
    """
    for collateral_asset: address in self._assets:
        amount: uint256 = self._collateral[account][collateral_asset]
        if amount != 0:
            price: uint256 = staticcall IPriceOracle(oracle).price(collateral_asset)
            if risk._value(amount, price, self._load_config(collateral_asset).scale, False) != 0:
                return True
    return False


# ---------------------------------------------------------------- internal: packing


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
    @notice Where a linear ramp from `old` to `new`, started LIQ_LTV_RAMP seconds before `ramp_end`
            (still ahead), stands now; rounded toward `old`, the value the accounts were measured against.
    """
    left: uint256 = ramp_end - block.timestamp
    if new >= old:
        return new - ((new - old) * left + LIQ_LTV_RAMP - 1) // LIQ_LTV_RAMP
    return new + ((old - new) * left + LIQ_LTV_RAMP - 1) // LIQ_LTV_RAMP


@internal
@pure
def _pack_accrual(index: uint256, timestamp: uint256) -> uint256:
    assert index <= INDEX_MASK, "vault: borrow index overflow"
    return index | (timestamp << 192)


@internal
@view
def _load_config(collateral_asset: address) -> ILendingVault.CollateralConfig:
    packed: uint256 = self._config[collateral_asset]
    liq_ltv: uint256 = (packed >> 64) & MASK_64
    ramp_end: uint256 = (packed >> RAMP_SHIFT) & MASK_40
    if ramp_end > block.timestamp:
        liq_ltv = self._lerp(self._liq_ramps[collateral_asset], liq_ltv, ramp_end)
    return ILendingVault.CollateralConfig(
        max_ltv=packed & MASK_64,
        liq_ltv=liq_ltv,
        risk_factor=(packed >> 128) & MASK_64,
        scale=10 ** ((packed >> 192) & 255),
        listed=(packed >> 200) & 255,
    )


@internal
@pure
def _is_liquidatable(t: risk.Totals, liq: uint256) -> bool:
    return risk._liquidatable(t, liq & MASK_72, (liq >> 72) & MASK_72, liq >> 144)


# ---------------------------------------------------------------- internal: guards
# Shared guards: every revert site carries its own encoder (~120 bytes of code), so checks repeated
# across functions live here once; this keeps the vault under the EIP-170 size limit.


@internal
@pure
def _check_amount(amount: uint256):
    assert amount != 0, "vault: zero amount"


@internal
@pure
def _check_receiver(receiver: address):
    assert receiver != empty(address), "vault: zero receiver"


@internal
@view
def _check_not_paused():
    assert not self.paused, "vault: paused"


@internal
@view
def _check_listed(collateral_asset: address):
    assert self._config[collateral_asset] >> 200 != 0, "vault: unknown collateral"


@internal
@view
def _check_rate_model(rate_model: address):
    # dev: a model that cannot quote would stop every accrual, and with it repayments and liquidations
    ok: bool = False
    quote: Bytes[32] = b""
    ok, quote = raw_call(
        rate_model,
        abi_encode(WAD, method_id=method_id("borrow_rate(uint256)")),
        max_outsize=32,
        is_static_call=True,
        revert_on_failure=False,
    )
    assert ok and len(quote) == 32 and convert(quote, uint256) <= MAX_BORROW_RATE, "vault: bad rate model"


@internal
@view
def _check_liquidity(amount: uint256):
    assert amount <= self._available_liquidity(), "vault: insufficient liquidity"


@internal
@view
def _check_engine():
    assert msg.sender == self.engine, "vault: caller is not the engine"


# ---------------------------------------------------------------- internal: tokens


@internal
def _pull(token: address, amount: uint256):
    """
    @notice Take `amount` of `token` from the caller; tokens that deliver less (fee on transfer) are rejected.
    """
    before: uint256 = staticcall IERC20(token).balanceOf(self)
    assert extcall IERC20(token).transferFrom(msg.sender, self, amount, default_return_value=True), "vault: transfer failed"
    assert staticcall IERC20(token).balanceOf(self) - before == amount, "vault: fee-on-transfer token"


@internal
def _push(token: address, receiver: address, amount: uint256):
    assert extcall IERC20(token).transfer(receiver, amount, default_return_value=True), "vault: transfer failed"
