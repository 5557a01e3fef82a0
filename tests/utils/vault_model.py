"""Python models of the LendingVault's math: risk metrics, interest accrual and ERC-4626 conversions.

Two kinds of model live here:

- *exact* models in rational arithmetic (`fractions.Fraction`): the formulas of DESIGN.md with no rounding at all.
  The contract must stay within one unit of rounding of them, on the side that favours the protocol.
- `contract_*` helpers that replay the contract's integer formulas (the rounding of every division included), for
  unit tests that pin a view to the last wei.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

WAD = 10**18
YEAR = 365 * 86_400
MAX_UINT = 2**256 - 1
# the vault's shares carry 10**6 virtual units per asset unit (DECIMALS_OFFSET = 6)
VIRTUAL_SHARES = 10**6


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def mul_div(x: int, y: int, denominator: int, round_up: bool) -> int:
    return ceil_div(x * y, denominator) if round_up else x * y // denominator


def floor_frac(x: Fraction) -> int:
    return x.numerator // x.denominator


def ceil_frac(x: Fraction) -> int:
    return ceil_div(x.numerator, x.denominator)


# ---------------------------------------------------------------- risk metrics


@dataclass(frozen=True)
class Position:
    """One collateral of an account: `amount` token units of a token with `decimals`, priced `price` (WAD USD)."""

    amount: int
    price: int
    decimals: int
    max_ltv: int
    liq_ltv: int
    risk_factor: int


@dataclass(frozen=True)
class Limits:
    base_risk_factor: int
    max_risk_ratio: int
    liq_risk_ratio: int
    max_leverage: int
    liq_leverage: int


@dataclass(frozen=True)
class Health:
    """The fields of ILendingVault.AccountHealth; metrics are WAD-scaled (ints on chain, Fractions in the model)."""

    collateral_value: int | Fraction
    debt_value: int | Fraction
    health: int | Fraction
    risk_ratio: int | Fraction
    leverage: int | Fraction
    liquidatable: bool


def exact_health(positions: list[Position], debt: int, base_price: int, base_decimals: int, limits: Limits) -> Health:
    """DESIGN.md's metrics in exact rational arithmetic; an unbounded metric is MAX_UINT, as on chain."""
    values = [Fraction(p.amount * p.price, 10**p.decimals) for p in positions]
    s = sum(values, Fraction(0))
    b = Fraction(debt * base_price, 10**base_decimals)
    liquidation_capacity = sum((v * Fraction(p.liq_ltv, WAD) for v, p in zip(values, positions, strict=True)), start=0)
    weighted_risk = sum((v * Fraction(p.risk_factor, WAD) for v, p in zip(values, positions, strict=True)), start=0)
    health = Fraction(MAX_UINT) if b == 0 else liquidation_capacity * WAD / b
    if s <= b:
        risk_ratio = leverage = Fraction(MAX_UINT)
    else:
        risk_ratio = (weighted_risk + b * Fraction(limits.base_risk_factor, WAD)) * WAD / (s - b)
        leverage = s * WAD / (s - b)
    liquidatable = b != 0 and (
        s <= b or health < WAD or risk_ratio > limits.liq_risk_ratio or leverage > limits.liq_leverage
    )
    return Health(s, b, health, risk_ratio, leverage, liquidatable)


def contract_health(
    positions: list[Position], debt: int, base_price: int, base_decimals: int, limits: Limits
) -> Health:
    """The vault's integer formulas (`_totals`, `risk._health`, ...), rounding included: equal to the view."""
    s = liquidation_capacity = weighted_risk = 0
    for p in positions:
        if p.amount == 0:
            continue
        value = p.amount * p.price // 10**p.decimals
        s += value
        liquidation_capacity += value * p.liq_ltv // WAD
        weighted_risk += value * p.risk_factor // WAD
    b = ceil_div(debt * base_price, 10**base_decimals) if debt else 0
    health = MAX_UINT if b == 0 else liquidation_capacity * WAD // b
    if s <= b:
        risk_ratio = leverage = MAX_UINT
    else:
        risk_ratio = ceil_div((weighted_risk + b * limits.base_risk_factor // WAD) * WAD, s - b)
        leverage = ceil_div(s * WAD, s - b)
    liquidatable = b != 0 and (
        s <= b or health < WAD or risk_ratio > limits.liq_risk_ratio or leverage > limits.liq_leverage
    )
    return Health(s, b, health, risk_ratio, leverage, liquidatable)


# ---------------------------------------------------------------- interest


@dataclass(frozen=True)
class RateModel:
    base_rate: int
    slope_low: int
    slope_high: int
    kink: int


def exact_utilisation(cash: int | Fraction, debt: int | Fraction, reserves: int | Fraction) -> Fraction:
    """debt / (cash + debt − reserves), at most 1 (a Fraction of 1, not WAD)."""
    gross = cash + debt
    if debt == 0 or gross <= reserves:
        return Fraction(0)
    return min(Fraction(debt) / (gross - reserves), Fraction(1))


def exact_annual_rate(utilisation: Fraction, model: RateModel) -> Fraction:
    """Kinked model, annual rate as a Fraction of 1."""
    kink = Fraction(model.kink, WAD)
    if utilisation <= kink:
        return Fraction(model.base_rate + model.slope_low * utilisation / kink, WAD)
    return Fraction(model.base_rate + model.slope_low + model.slope_high * (utilisation - kink) / (1 - kink), WAD)


def contract_utilisation(cash: int, debt: int, reserves: int) -> int:
    gross = cash + debt
    if debt == 0 or gross <= reserves:
        return 0
    return min(debt * WAD // (gross - reserves), WAD)


def contract_annual_rate(utilisation: int, model: RateModel) -> int:
    if utilisation <= model.kink:
        return model.base_rate + model.slope_low * utilisation // model.kink
    return model.base_rate + model.slope_low + model.slope_high * (utilisation - model.kink) // (WAD - model.kink)


@dataclass
class InterestModel:
    """Exact model of the vault's interest: simple interest between accruals, compounded at every accrual.

    Debts are tracked as exact Fractions of base units; the borrow index as a Fraction of WAD. Every vault call that
    accrues (deposit, mint, withdraw, redeem, borrow, repay, accrue_interest, remove_collateral, the rate and reserve
    setters) must be mirrored by `accrue(timestamp)` at the block's timestamp.
    """

    model: RateModel
    reserve_factor: int
    last_accrual: int
    index: Fraction = Fraction(WAD)
    cash: Fraction = Fraction(0)
    reserves: Fraction = Fraction(0)
    debts: dict[str, Fraction] = field(default_factory=dict)
    accruals: int = 0

    @property
    def total_debt(self) -> Fraction:
        return sum(self.debts.values(), Fraction(0))

    def accrue(self, now: int) -> None:
        elapsed = now - self.last_accrual
        assert elapsed >= 0, "time runs forward"
        self.last_accrual = now
        old_debt = self.total_debt
        if elapsed == 0 or old_debt == 0:
            return
        rate = exact_annual_rate(exact_utilisation(self.cash, old_debt, self.reserves), self.model)
        growth = 1 + rate * elapsed / YEAR
        self.index *= growth
        self.debts = {account: debt * growth for account, debt in self.debts.items()}
        self.reserves += (self.total_debt - old_debt) * Fraction(self.reserve_factor, WAD)
        self.accruals += 1

    def deposit(self, now: int, assets: int) -> None:
        self.accrue(now)
        self.cash += assets

    def borrow(self, now: int, account: str, amount: int) -> None:
        self.accrue(now)
        self.debts[account] = self.debts.get(account, Fraction(0)) + amount
        self.cash -= amount

    def repay(self, now: int, account: str, paid: int, *, full: bool) -> None:
        """Repay `paid` (what the vault took); `full` when the vault cleared the debt."""
        self.accrue(now)
        self.cash += paid
        self.debts[account] = Fraction(0) if full else self.debts[account] - paid


# ---------------------------------------------------------------- ERC-4626


def exact_shares(assets: int, total_assets: int, total_supply: int) -> Fraction:
    """Shares worth `assets` at the vault's price (virtual shares and one virtual asset included), unrounded."""
    return Fraction(assets * (total_supply + VIRTUAL_SHARES), total_assets + 1)


def exact_assets(shares: int, total_assets: int, total_supply: int) -> Fraction:
    return Fraction(shares * (total_assets + 1), total_supply + VIRTUAL_SHARES)
