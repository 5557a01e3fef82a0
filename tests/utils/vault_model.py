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
        weighted_risk += ceil_div(value * p.risk_factor, WAD)
    b = ceil_div(debt * base_price, 10**base_decimals) if debt else 0
    health = MAX_UINT if b == 0 else liquidation_capacity * WAD // b
    if s <= b:
        risk_ratio = leverage = MAX_UINT
    else:
        risk_ratio = ceil_div((weighted_risk + ceil_div(b * limits.base_risk_factor, WAD)) * WAD, s - b)
        leverage = ceil_div(s * WAD, s - b)
    liquidatable = b != 0 and (
        s <= b or health < WAD or risk_ratio > limits.liq_risk_ratio or leverage > limits.liq_leverage
    )
    return Health(s, b, health, risk_ratio, leverage, liquidatable)


@dataclass(frozen=True)
class Bounds:
    """Closed interval [lo, hi] that an on-chain metric must fall in (WAD-scaled; MAX_UINT for unbounded)."""

    lo: int
    hi: int

    def __contains__(self, value: int) -> bool:
        return self.lo <= value <= self.hi

    def side_of(self, threshold: int, *, breach_above: bool) -> bool | None:
        """True when every value in the interval breaches `threshold`, False when none does, None when ambiguous."""
        if breach_above:
            return True if self.lo > threshold else False if self.hi <= threshold else None
        return True if self.hi < threshold else False if self.lo >= threshold else None


def rounding_bounds(
    positions: list[Position], debt: int, base_price: int, base_decimals: int, limits: Limits
) -> dict[str, Bounds]:
    """Where each on-chain metric may lie: the exact formula evaluated over every input within its documented
    rounding (each collateral value rounds down by < 1 unit and each capacity product by < 1 more; each risk product
    and the base risk product round up by < 1; the debt value rounds up by < 1), followed by the final division's own
    rounding.

    The interval's exact end is the protocol-favouring side: collateral and health are never overstated; debt value
    and leverage are never understated.
    """
    held = [p for p in positions if p.amount]
    n = len(held)
    values = [Fraction(p.amount * p.price, 10**p.decimals) for p in held]
    s = sum(values, Fraction(0))
    b = Fraction(debt * base_price, 10**base_decimals)
    cap = sum((v * Fraction(p.liq_ltv, WAD) for v, p in zip(values, held, strict=True)), Fraction(0))
    weighted = sum((v * Fraction(p.risk_factor, WAD) for v, p in zip(values, held, strict=True)), Fraction(0))
    base_factor = Fraction(limits.base_risk_factor, WAD)
    s_lo, s_hi = s - n, s
    b_lo, b_hi = (b, b + 1) if debt else (Fraction(0), Fraction(0))

    bounds = {
        "collateral_value": Bounds(ceil_frac(s_lo), floor_frac(s_hi)),
        "debt_value": Bounds(ceil_frac(b_lo), ceil_frac(b) if debt else 0),
    }
    if debt == 0:
        bounds["health"] = Bounds(MAX_UINT, MAX_UINT)
    else:
        bounds["health"] = Bounds(max(0, floor_frac((cap - 2 * n) * WAD / b_hi)), floor_frac(cap * WAD / b_lo))
    if s_hi <= b_lo:
        bounds["risk_ratio"] = bounds["leverage"] = Bounds(MAX_UINT, MAX_UINT)
    else:
        risk_lo = max(Fraction(0), weighted - n + b_lo * base_factor)
        risk_hi = weighted + n + b_hi * base_factor + 1
        equity_lo, equity_hi = s_lo - b_hi, s_hi - b_lo
        if equity_lo <= 0:
            bounds["risk_ratio"] = Bounds(ceil_frac(risk_lo * WAD / equity_hi), MAX_UINT)
            bounds["leverage"] = Bounds(ceil_frac(s_hi * WAD / equity_hi), MAX_UINT)
        else:
            bounds["risk_ratio"] = Bounds(ceil_frac(risk_lo * WAD / equity_hi), ceil_frac(risk_hi * WAD / equity_lo))
            bounds["leverage"] = Bounds(ceil_frac(s_hi * WAD / equity_hi), ceil_frac(s_lo * WAD / equity_lo))
    return bounds


def liquidatable_within(bounds: dict[str, Bounds], debt: int, limits: Limits) -> bool | None:
    """The liquidation verdict every input within rounding agrees on, or None when rounding can tip it."""
    if debt == 0:
        return False
    verdicts = [
        bounds["health"].side_of(WAD, breach_above=False),
        bounds["risk_ratio"].side_of(limits.liq_risk_ratio, breach_above=True),
        bounds["leverage"].side_of(limits.liq_leverage, breach_above=True),
    ]
    if True in verdicts:
        return True
    if None in verdicts:
        return None
    return False


# ---------------------------------------------------------------- interest


@dataclass(frozen=True)
class RateModel:
    base_rate: int
    slope_low: int
    slope_high: int
    kink: int


def exact_utilisation(cash: int | Fraction, debt: int | Fraction, reserves: int | Fraction) -> Fraction:
    """debt / (cash + debt - reserves), at most 1 (a Fraction of 1, not WAD)."""
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

    Debts are exact Fractions of base units and the borrow index an exact Fraction of WAD. Mirror every vault call that
    accrues (deposit, borrow, repay, accrue_interest, the rate and reserve setters, ...) with `accrue(timestamp)`,
    then with the call's own effect (`deposit`, `borrow`, `repay`).

    Alongside, the model carries how far the vault may be from it, one unit of rounding at a time: each accrual may
    put the on-chain index up to one wei above the exact product (the growth rounds up) and up to index * elapsed /
    year wei below (the rate rounds down); that error then compounds and reaches each debt through its scaled
    amount. Each borrow or partial repayment adds less than index / WAD units (the scaled debt rounds in the
    protocol's favour), and every reading of a debt rounds up once more.
    """

    model: RateModel
    reserve_factor: int
    last_accrual: int
    index: Fraction = Fraction(WAD)
    cash: Fraction = Fraction(0)
    reserves: Fraction = Fraction(0)
    debts: dict[str, Fraction] = field(default_factory=dict)
    accruals: int = 0
    # bounds on |vault - model|: the index in wei, each debt and the reserves in base units
    index_slack: Fraction = Fraction(0)
    debt_slack: dict[str, Fraction] = field(default_factory=dict)
    reserves_slack: Fraction = Fraction(0)

    @property
    def total_debt(self) -> Fraction:
        return sum(self.debts.values(), Fraction(0))

    @property
    def total_debt_slack(self) -> Fraction:
        """The vault rounds the total once (up) from the summed scaled debts."""
        return sum(self.debt_slack.values(), Fraction(0)) + 1

    def slack_of(self, account: str) -> Fraction:
        """Bound on |debt_of(account) - model debt|; the read itself rounds up once."""
        return self.debt_slack.get(account, Fraction(0)) + 1

    def accrue(self, now: int, utilisation: int | None = None) -> None:
        """Accrue up to `now`. `utilisation` (WAD) is the vault's own figure when given: the rate is a function of it,
        and a debt one unit off the vault's would move it by up to 1e18 / (cash + debt) wei."""
        elapsed = now - self.last_accrual
        assert elapsed >= 0, "time runs forward"
        self.last_accrual = now
        old_debt = self.total_debt
        if elapsed == 0 or old_debt == 0:
            return
        exact = utilisation is None
        u = exact_utilisation(self.cash, old_debt, self.reserves) if exact else Fraction(utilisation, WAD)
        growth = 1 + exact_annual_rate(u, self.model) * elapsed / YEAR
        # this accrual's own index error (wei), and the vault's index at its lowest
        fresh = 1 + (self.index + self.index_slack) * elapsed / (WAD * YEAR)
        low_index = self.index - self.index_slack
        moved = Fraction(0)
        for account, debt in self.debts.items():
            slack = self.debt_slack.get(account, Fraction(0))
            new_slack = slack * growth + (debt + slack) * fresh / low_index
            moved += new_slack - slack
            self.debt_slack[account] = new_slack
        self.index *= growth
        self.index_slack = self.index_slack * growth + fresh
        self.debts = {account: debt * growth for account, debt in self.debts.items()}
        self.reserves += (self.total_debt - old_debt) * Fraction(self.reserve_factor, WAD)
        # the interest the vault books moves with the debts' error; the two readings and the share round once each
        self.reserves_slack += moved + 3
        self.accruals += 1

    def deposit(self, assets: int) -> None:
        self.cash += assets

    def borrow(self, account: str, amount: int) -> None:
        self.debts[account] = self.debts.get(account, Fraction(0)) + amount
        self.debt_slack[account] = self.debt_slack.get(account, Fraction(0)) + self._scaled_rounding()
        self.cash -= amount

    def repay(self, account: str, paid: int, *, full: bool) -> None:
        """Repay `paid` (what the vault took); `full` when the vault cleared the debt."""
        self.cash += paid
        if full:
            self.debts[account] = Fraction(0)
            self.debt_slack[account] = Fraction(0)
        else:
            self.debts[account] -= paid
            self.debt_slack[account] += self._scaled_rounding()

    def _scaled_rounding(self) -> Fraction:
        """A scaled debt rounded by one unit is worth up to index / WAD base units (the vault's index, so + slack)."""
        return (self.index + self.index_slack) / WAD


# ---------------------------------------------------------------- ERC-4626


def exact_shares(assets: int, total_assets: int, total_supply: int) -> Fraction:
    """Shares worth `assets` at the vault's price (virtual shares and one virtual asset included), unrounded."""
    return Fraction(assets * (total_supply + VIRTUAL_SHARES), total_assets + 1)


def exact_assets(shares: int, total_assets: int, total_supply: int) -> Fraction:
    return Fraction(shares * (total_assets + 1), total_supply + VIRTUAL_SHARES)
