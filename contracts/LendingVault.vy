# pragma version ~=0.4.3
# pragma nonreentrancy on
# pragma optimize codesize
"""
@title ALA lending vault
@notice The ledger. Lenders deposit the base asset for ERC-4626 shares; borrowers
        post up to eight collateral assets and borrow the base asset at a kinked,
        utilisation-based rate accrued per second through a borrow index. A
        reserve factor of the interest feeds the reserves, the insurance fund
        that absorbs bad debt before lenders do. The vault keeps custody of every
        collateral and the collateral and debt of each account; it holds no risk
        math: borrow and remove_collateral hand the account's new position to the
        LiquidationEngine (the risk engine), which reverts when an opening limit
        is exceeded. The engine lists collateral assets and is the only contract
        that may seize collateral or write down debt.
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
from interfaces import ILiquidationEngine
from interfaces import IRateModel

implements: ILendingVault

from snekmate.auth import ownable
from snekmate.auth import ownable_2step
from snekmate.tokens import erc20
from snekmate.utils import math
from modules import transfers

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
# Hard bound of the owner's setter.
MAX_RESERVE_FACTOR: constant(uint256) = 5 * 10**17
# Highest annual borrow rate a rate model may quote, WAD (KinkedRateModel's bounds sum to 1400%).
MAX_BORROW_RATE: constant(uint256) = 14 * WAD
MASK_160: constant(uint256) = 2**160 - 1
# An account's ledger word: its scaled debt in bits 0-247 and, in bits 248-255, one bit per listed collateral
# it holds (bit 248 + listing position), so that a position is read without touching the assets it does not
# hold (Aave's user configuration bitmap).
HELD_SHIFT: constant(uint256) = 248
SCALED_MASK: constant(uint256) = 2**248 - 1
INDEX_MASK: constant(uint256) = 2**192 - 1

# The lent asset (ERC-4626 `asset`).
asset: public(immutable(address))
# 10**decimals of the base asset.
_BASE_SCALE: immutable(uint256)
# Price source of the risk engine (the vault itself prices nothing), kept for integrators.
oracle: public(immutable(address))

# One word, read together by borrow and remove_collateral: the risk engine (bits 0-159; it lists collateral,
# checks opening limits, and is the only contract that may seize collateral and write down debt) and the
# pause flag (bit 160: deposit, mint, borrow and remove_collateral stop while it is set).
_control: uint256
# May pause deposits, borrows and collateral removals (never repayments or collateral additions).
guardian: public(address)

# Base asset held for lenders, borrowers and reserves, base units (donations are not counted).
_cash: uint256
# Insurance fund inside the vault's assets, base units.
_reserves: uint256
# Borrow index (cumulative interest factor of debt, WAD, 1e18 at launch) in bits 0-191 and the
# timestamp of the last accrual in bits 192-255: one slot, read and written by every accrual.
_accrual: uint256
# Σ of every account's scaled debt (debt / borrow index), WAD-scaled base units.
_total_scaled_debt: uint256
# Account -> scaled debt (debt / borrow index, WAD-scaled base units) | held-collateral bits (see HELD_SHIFT).
_accounts: HashMap[address, uint256]
# The interest rate model (IRateModel) in bits 0-159 and the reserve factor (share of accrued
# interest that goes to the reserves, WAD) in bits 160-255: one slot, read by every accrual.
_rates: uint256
# Base units of debt written off as bad debt, cumulative.
total_bad_debt: public(uint256)

# Listing position -> collateral asset, in listing order.
_asset_at: HashMap[uint256, address]
# Number of listed collateral assets (at most MAX_ASSETS).
_asset_count: uint256
# Asset -> its listing position + 1 (0: not listed).
_listed: HashMap[address, uint256]
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
    if self._control >> 160 != 0:
        return 0
    return max_value(uint256)


@external
@view
def maxMint(owner: address) -> uint256:
    if self._control >> 160 != 0:
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
    transfers._pull(asset, msg.sender, assets)
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
    transfers._pull(asset, msg.sender, assets)
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
    held_bit: uint256 = self._held_bit(collateral_asset)
    transfers._pull(collateral_asset, msg.sender, amount)
    posted: uint256 = self._collateral[account][collateral_asset]
    if posted == 0:
        self._accounts[account] |= held_bit
    self._collateral[account][collateral_asset] = posted + amount
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
    held_bit: uint256 = self._held_bit(collateral_asset)
    posted: uint256 = self._collateral[msg.sender][collateral_asset]
    taken: uint256 = amount
    if amount == max_value(uint256):
        taken = posted
    assert taken != 0 and taken <= posted, "vault: insufficient collateral"
    index: uint256 = self._accrue()
    if taken == posted:
        self._accounts[msg.sender] &= ~held_bit
    self._collateral[msg.sender][collateral_asset] = posted - taken
    self._total_collateral[collateral_asset] -= taken
    self._check_opening(msg.sender, index)
    transfers._push(collateral_asset, receiver, taken)
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
    word: uint256 = self._accounts[msg.sender]
    assert (word & SCALED_MASK) + scaled <= SCALED_MASK, "vault: debt too large"
    self._accounts[msg.sender] = word + scaled
    self._total_scaled_debt += scaled
    self._cash -= amount
    self._check_opening(msg.sender, index)
    transfers._push(asset, receiver, amount)
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
    scaled: uint256 = self._accounts[account] & SCALED_MASK
    assert scaled != 0, "vault: no debt"
    debt: uint256 = self._debt(scaled, index)
    paid: uint256 = min(amount, debt)
    transfers._pull(asset, msg.sender, paid)
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
def prepare_liquidation(account: address) -> ILendingVault.Position:
    """
    @notice Engine only: accrue interest and report `account`'s debt and collateral.
    """
    self._check_engine()
    return self._position(account, self._accrue())


@external
def list_collateral(collateral_asset: address):
    """
    @notice Engine only: accept `collateral_asset` as collateral, at the end of the listing order.
            The engine checks the asset (a priced contract of at most 18 decimals) and keeps its
            risk parameters; a listing is for good.
    """
    self._check_engine()
    assert self._listed[collateral_asset] == 0, "vault: already listed"
    count: uint256 = self._asset_count
    assert count < MAX_ASSETS, "vault: too many collaterals"
    self._asset_at[count] = collateral_asset
    self._asset_count = count + 1
    self._listed[collateral_asset] = count + 1
    log ILendingVault.CollateralListed(asset=collateral_asset, position=count)


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
            off the account's remaining debt as bad debt (reserves first) and move what collateral it
            still holds to the vault's reserve account. Returns the bad debt. The engine sets
            `write_off` only when what is left is dust (invariant 9) and every asset of it is priced.
    """
    self._check_engine()
    received: uint256 = repaid + reserve_fee
    assert staticcall IERC20(asset).balanceOf(self) >= self._cash + received, "vault: liquidation funds missing"
    posted: uint256 = self._collateral[account][collateral_asset]
    assert seized <= posted, "vault: seize exceeds collateral"
    index: uint256 = self._accrual & INDEX_MASK
    scaled: uint256 = self._accounts[account] & SCALED_MASK
    debt: uint256 = self._debt(scaled, index)
    assert repaid <= debt, "vault: repay exceeds debt"

    self._cash += received
    self._reserves += reserve_fee
    remaining: uint256 = self._reduce_debt(account, scaled, debt, repaid, index)
    if seized != 0:
        if seized == posted:
            self._accounts[account] &= ~self._held_bit(collateral_asset)
        self._collateral[account][collateral_asset] = posted - seized
        self._total_collateral[collateral_asset] -= seized
        transfers._push(collateral_asset, receiver, seized)
    # dev: no event of its own: the engine's Liquidation / AuctionSettled / AuctionOpened events record it

    if not write_off or remaining == 0:
        return 0
    self._sweep(account)
    return self._write_off(account, remaining)


# ---------------------------------------------------------------- views


@external
@view
def position_of(account: address) -> ILendingVault.Position:
    """
    @notice `account`'s debt (interest included) and the collateral it holds, in listing order.
    """
    return self._position(account, self._accrued()[0])


@external
@view
def debt_of(account: address) -> uint256:
    return self._debt(self._accounts[account] & SCALED_MASK, self._accrued()[0])


@external
@view
def collateral_of(account: address, collateral_asset: address) -> uint256:
    return self._collateral[account][collateral_asset]


@external
@view
def total_collateral(collateral_asset: address) -> uint256:
    return self._total_collateral[collateral_asset]


@external
@view
def engine() -> address:
    """
    @notice The risk engine: it lists collateral, checks opening limits, and alone may seize collateral and
            write down debt.
    """
    return self._engine()


@external
@view
def paused() -> bool:
    """
    @notice True while deposit, mint, borrow and remove_collateral are paused.
    """
    return self._control >> 160 != 0


@external
@view
def collateral_assets() -> DynArray[address, MAX_ASSETS]:
    assets: DynArray[address, MAX_ASSETS] = []
    for i: uint256 in range(self._asset_count, bound=MAX_ASSETS):
        assets.append(self._asset_at[i])
    return assets


@external
@view
def rate_model() -> address:
    return convert(self._rates & MASK_160, address)


@external
@view
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
    return self._accounts[account] & SCALED_MASK


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
    transfers._push(asset, receiver, amount)
    log ILendingVault.ReservesWithdrawn(receiver=receiver, amount=amount)


@external
def withdraw_reserve_collateral(collateral_asset: address, amount: uint256, receiver: address):
    """
    @notice Owner only: send `amount` of the reserve account's `collateral_asset` (the dust of accounts closed
            with a write-off, protocol property like the base reserves) to `receiver`.
    """
    ownable._check_owner()
    self._check_amount(amount)
    self._check_receiver(receiver)
    held: uint256 = self._collateral[self][collateral_asset]
    assert amount <= held, "vault: exceeds reserve collateral"
    self._collateral[self][collateral_asset] = held - amount
    self._total_collateral[collateral_asset] -= amount
    transfers._push(collateral_asset, receiver, amount)
    log ILendingVault.ReserveCollateralWithdrawn(asset=collateral_asset, receiver=receiver, amount=amount)


@external
def set_engine(engine: address):
    """
    @notice Set once, after the engine is deployed: the engine is trusted with every account.
    """
    ownable._check_owner()
    assert engine != empty(address), "vault: zero engine"
    control: uint256 = self._control
    assert control & MASK_160 == 0, "vault: engine already set"
    self._control = control | convert(engine, uint256)
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
    self._control = (self._control & MASK_160) | (convert(paused, uint256) << 160)
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
    transfers._push(asset, receiver, assets)
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
    # dev: burned <= scaled, so the held-collateral bits above it are untouched
    self._accounts[account] -= burned
    self._total_scaled_debt -= burned
    return self._debt(scaled - burned, index)


@internal
def _sweep(account: address):
    """
    @notice Move every collateral `account` still holds to the vault's reserve account (`_collateral[self]`):
            the tokens stay in custody and in `_total_collateral`, and only the owner may take them out
            (`withdraw_reserve_collateral`), as with the base reserves. Compound III's `absorb` and Maker's
            `grab` take an underwater account's whole collateral into the protocol the same way; being dust,
            it stays here as reserves rather than going to a sale that could not fill.
    """
    word: uint256 = self._accounts[account]
    held: uint256 = word >> HELD_SHIFT
    self._accounts[account] = word & SCALED_MASK
    for i: uint256 in range(MAX_ASSETS):
        if held == 0:
            break
        if held & 1 != 0:
            collateral_asset: address = self._asset_at[i]
            amount: uint256 = self._collateral[account][collateral_asset]
            self._collateral[account][collateral_asset] = 0
            self._collateral[self][collateral_asset] += amount
            log ILendingVault.CollateralToReserves(account=account, asset=collateral_asset, amount=amount)
        held >>= 1


@internal
def _write_off(account: address, amount: uint256) -> uint256:
    """
    @notice Remove `account`'s remaining debt: reserves absorb it first, lenders' share price the rest.
    """
    word: uint256 = self._accounts[account]
    scaled: uint256 = word & SCALED_MASK
    self._accounts[account] = word - scaled
    self._total_scaled_debt -= scaled
    from_reserves: uint256 = min(amount, self._reserves)
    self._reserves -= from_reserves
    self.total_bad_debt += amount
    log ILendingVault.BadDebtWrittenOff(
        account=account, amount=amount, from_reserves=from_reserves, from_lenders=amount - from_reserves
    )
    return amount


# ---------------------------------------------------------------- internal: positions


@internal
@view
def _position(account: address, index: uint256) -> ILendingVault.Position:
    """
    @notice What the risk engine needs to judge `account`: its debt at `index` and its non-zero collateral.
    """
    position: ILendingVault.Position = empty(ILendingVault.Position)
    word: uint256 = self._accounts[account]
    position.debt = self._debt(word & SCALED_MASK, index)
    held: uint256 = word >> HELD_SHIFT
    for i: uint256 in range(MAX_ASSETS):
        if held == 0:
            break
        if held & 1 != 0:
            collateral_asset: address = self._asset_at[i]
            position.assets.append(collateral_asset)
            position.amounts.append(self._collateral[account][collateral_asset])
        held >>= 1
    return position


@internal
@view
def _check_opening(account: address, index: uint256):
    """
    @notice Revert unless `account`, as now booked, is within every opening limit. The engine
            judges it from the position passed in calldata: it never calls back into this vault.
    """
    if self._accounts[account] & SCALED_MASK == 0:
        return
    position: ILendingVault.Position = self._position(account, index)
    # dev: the engine reverts with the limit exceeded; it returns true otherwise
    assert staticcall ILiquidationEngine(self._engine()).check_opening(position.debt, position.assets, position.amounts)


@internal
@pure
def _pack_accrual(index: uint256, timestamp: uint256) -> uint256:
    assert index <= INDEX_MASK, "vault: borrow index overflow"
    return index | (timestamp << 192)


# ---------------------------------------------------------------- internal: guards


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
    assert self._control >> 160 == 0, "vault: paused"


@internal
@view
def _engine() -> address:
    return convert(self._control & MASK_160, address)


@internal
@view
def _held_bit(collateral_asset: address) -> uint256:
    """
    @notice The bit of a listed `collateral_asset` in an account's ledger word; reverts for an unlisted asset.
    """
    listed: uint256 = self._listed[collateral_asset]
    assert listed != 0, "vault: unknown collateral"
    return 1 << (HELD_SHIFT + listed - 1)


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
    assert msg.sender == self._engine(), "vault: caller is not the engine"
