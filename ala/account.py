"""A borrower's view of his account, and his two moves that need no permission: add collateral, repay.

`account_report` reads the position, the prices and the engine's parameters in force (ramps included) and says,
for each metric, where the account stands beside its opening limit and its liquidation threshold, and for each
collateral the price at which the account becomes liquidatable while every other price stays where it is.

The liquidation price is solved here, in exact rationals, from the metrics of `contracts/modules/risk.vy`. With
v the value of the collateral in question and the rest of the account fixed (S_o, C_o = Σ v_i·liq_ltv_i and
W_o = Σ f_i·v_i over the other collaterals, B the debt's value), the account is safe while all of:

    LTV health  liq_ltv·v           >= B - C_o
    risk ratio  (R - f)·v           >= W_o + f_base·B - R·(S_o - B)
    leverage    (L - 1)·v           >= L·B - (L - 1)·S_o

hold (R, L the liquidation thresholds in force). Each is `a·v >= b`; the safe values form an interval, and the
liquidation price is its lower end divided by the amount held. The metric whose bound is the highest is the one
a falling price hits first. On chain every value rounds against the account by a base unit or so, so the account
turns liquidatable a hair above the price solved here (the tests check 0.01% either side).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ala.bid import MAX_UINT, WAD, ensure_allowance, whole
from ala.cli_common import CommandError, any_token, collateral_token, format_amount, send
from ala.deploy import System

INFINITE = 2**256 - 1
# RAMP_TIME of LiquidationEngine.vy: a threshold change moves linearly over one day
RAMP_TIME = 86_400
# seconds of interest `repay --all` approves beyond the debt it reads (the repayment lands a block or two later)
REPAY_MARGIN_SECONDS = 300
YEAR = 365 * 86_400


@dataclass(frozen=True)
class Held:
    """One collateral of an account, valued at today's oracle price."""

    symbol: str
    amount: int  # token units
    scale: int  # 10**decimals
    price: Fraction  # USD per whole token
    liq_ltv: Fraction
    risk_factor: Fraction

    @property
    def value(self) -> Fraction:
        return Fraction(self.amount, self.scale) * self.price


@dataclass(frozen=True)
class Limits:
    """The market's liquidation thresholds in force."""

    base_risk_factor: Fraction
    liq_risk_ratio: Fraction
    liq_leverage: Fraction


def liquidation_value(held: list[Held], index: int, debt_value: Fraction, limits: Limits) -> tuple[Any, str, Any]:
    """The value of `held[index]` below which the account is liquidatable, others held still: (value or None when
    no fall of this price alone makes it liquidatable, the metric that binds, a value above which it is also
    liquidatable or None). A value of +inf: liquidatable at any price of this collateral."""
    if debt_value == 0:
        return None, "", None
    me = held[index]
    others = [h for i, h in enumerate(held) if i != index]
    s_o = sum((h.value for h in others), Fraction(0))
    c_o = sum((h.value * h.liq_ltv for h in others), Fraction(0))
    w_o = sum((h.value * h.risk_factor for h in others), Fraction(0))
    r, lev, f_base = limits.liq_risk_ratio, limits.liq_leverage, limits.base_risk_factor
    conditions = {
        "ltv_health": (me.liq_ltv, debt_value - c_o),
        "risk_ratio": (r - me.risk_factor, w_o + f_base * debt_value - r * (s_o - debt_value)),
        "leverage": (lev - 1, lev * debt_value - (lev - 1) * s_o),
    }
    low, binding, high = Fraction(0), "", None
    for name, (a, b) in conditions.items():
        if a > 0:
            if b / a > low:
                low, binding = b / a, name
        elif a == 0:
            if b > 0:
                return float("inf"), name, None
        else:
            # more of this collateral raises the metric faster than it adds equity: liquidatable above b / a
            high = b / a if high is None else min(high, b / a)
    if binding == "":
        return None, "", high
    return low, binding, high


def liquidation_price(held: list[Held], index: int, debt_value: Fraction, limits: Limits) -> dict[str, Any]:
    me = held[index]
    value, binding, high = liquidation_value(held, index, debt_value, limits)
    out: dict[str, Any] = {"liquidation_price": None, "binding": binding or None, "drop": None, "above": None}
    if high is not None and me.amount:
        out["above"] = float(high / Fraction(me.amount, me.scale))
    if value is None or me.amount == 0:
        return out
    if value == float("inf"):
        out["liquidation_price"] = float("inf")
        out["drop"] = 0.0
        return out
    price = value / Fraction(me.amount, me.scale)
    out["liquidation_price"] = float(price)
    out["drop"] = float(1 - price / me.price) if me.price else None
    return out


def _ratio(x: int) -> float | None:
    return None if x >= INFINITE else x / WAD


def threshold_ramps(system: System) -> dict[str, Any]:
    """Running ramps, from the engine's events (it keeps their targets in packed storage only): per collateral
    symbol {liq_ltv: target, risk_factor: target, ends_at} (the two ramp together), and for the market
    {base_risk_factor, liq_risk_ratio, liq_leverage: targets, ends_at}."""
    engine = system.engine
    head = engine.chain_manager.blocks.head
    now, height = head.timestamp, head.number
    ramps: dict[str, Any] = {}
    for symbol, token in system.collaterals.items():
        logs = list(engine.CollateralConfigured.range(system.block, height + 1, search_topics={"asset": token}))
        if not logs:
            continue
        last = logs[-1]
        ends_at = engine.chain_manager.blocks[last.block_number].timestamp + RAMP_TIME
        config = engine.collateral_config(token)
        if ends_at > now and (config.liq_ltv != last.liq_ltv or config.risk_factor != last.risk_factor):
            ramps[symbol] = {"liq_ltv": last.liq_ltv / WAD, "risk_factor": last.risk_factor / WAD, "ends_at": ends_at}
    logs = list(engine.RiskLimitsSet.range(system.block, height + 1))
    if logs and logs[-1].ramp_end > now:
        last = logs[-1]
        ramps["market"] = {
            "base_risk_factor": last.base_risk_factor / WAD,
            "liq_risk_ratio": last.liq_risk_ratio / WAD,
            "liq_leverage": last.liq_leverage / WAD,
            "ends_at": last.ramp_end,
        }
    return ramps


@dataclass
class Market:
    """What every account's report reads once: prices, parameters in force, ramps."""

    prices: dict[str, int]  # symbol -> WAD USD (0: unreadable)
    configs: dict[str, Any]  # symbol -> CollateralConfig
    ltv_factors: dict[str, int]
    risk_limits: Any
    ramps: dict[str, Any]
    base_price: int

    @classmethod
    def read(cls, system: System) -> Market:
        symbols = list(system.collaterals)
        tokens = [system.tokens[s] for s in symbols]
        read = system.oracle.try_prices([*tokens, system.base])
        return cls(
            prices=dict(zip(symbols, read[:-1], strict=True)),
            configs={s: system.engine.collateral_config(t) for s, t in zip(symbols, tokens, strict=True)},
            ltv_factors={s: system.oracle.ltv_factor(t) for s, t in zip(symbols, tokens, strict=True)},
            risk_limits=system.engine.risk_limits(),
            ramps=threshold_ramps(system),
            base_price=read[-1] or system.oracle.price(system.base),
        )

    @property
    def limits(self) -> Limits:
        r = self.risk_limits
        return Limits(
            base_risk_factor=Fraction(r.base_risk_factor, WAD),
            liq_risk_ratio=Fraction(r.liq_risk_ratio, WAD),
            liq_leverage=Fraction(r.liq_leverage, WAD),
        )


def holdings(system: System, market: Market, position: Any) -> list[Held]:
    out = []
    for asset, amount in zip(position.assets, position.amounts, strict=True):
        symbol = system.symbol_of(asset)
        config = market.configs[symbol]
        out.append(
            Held(
                symbol=symbol,
                amount=amount,
                scale=config.scale,
                price=Fraction(market.prices[symbol], WAD),
                liq_ltv=Fraction(config.liq_ltv, WAD),
                risk_factor=Fraction(config.risk_factor, WAD),
            )
        )
    return out


def debt_value(system: System, market: Market, debt: int) -> Fraction:
    return Fraction(debt, 10**system.params.base.decimals) * Fraction(market.base_price, WAD)


def account_report(system: System, account: str, market: Market | None = None, position: Any = None) -> dict[str, Any]:
    """`position`: the account's `vault.position_of`, when the caller has read it already."""
    market = market or Market.read(system)
    position = position if position is not None else system.vault.position_of(account)
    health = system.lens.account_health(account)
    held = holdings(system, market, position)
    b = debt_value(system, market, position.debt)
    s = sum((h.value for h in held), Fraction(0))
    limits = market.limits
    r = market.risk_limits
    collaterals = []
    opening_capacity = Fraction(0)
    liq_capacity = Fraction(0)
    for i, h in enumerate(held):
        config = market.configs[h.symbol]
        max_ltv = Fraction(config.max_ltv * market.ltv_factors[h.symbol] // WAD, WAD)
        opening_capacity += h.value * max_ltv
        liq_capacity += h.value * h.liq_ltv
        row = {
            "symbol": h.symbol,
            "amount": whole(h.amount, system.params.collateral(h.symbol).decimals),
            "price": float(h.price),
            "value": float(h.value),
            "max_ltv": float(max_ltv),
            "liq_ltv": float(h.liq_ltv),
            "liq_ltv_ramp": market.ramps.get(h.symbol),
            "risk_factor": float(h.risk_factor),
            **liquidation_price(held, i, b, limits),
        }
        collaterals.append(row)
    ltv = float(b / s) if s else None
    nearest = min((c for c in collaterals if c["drop"] is not None), key=lambda c: c["drop"], default=None)
    return {
        "account": account,
        "debt": whole(position.debt, system.params.base.decimals),
        "debt_symbol": system.params.base.symbol,
        "debt_value": float(b),
        "collateral_value": float(s),
        "liquidatable": bool(health.liquidatable),
        "collaterals": collaterals,
        "metrics": {
            "ltv": {
                "value": ltv,
                "opening_limit": float(opening_capacity / s) if s else None,
                "threshold": float(liq_capacity / s) if s else None,
                "ramp": {k: v for k, v in market.ramps.items() if k != "market"} or None,
            },
            "health": {"value": _ratio(health.health), "threshold": 1.0},
            "risk_ratio": {
                "value": _ratio(health.risk_ratio),
                "opening_limit": r.max_risk_ratio / WAD,
                "threshold": r.liq_risk_ratio / WAD,
                "ramp": _market_ramp(market, "liq_risk_ratio"),
            },
            "leverage": {
                "value": _ratio(health.leverage),
                "opening_limit": r.max_leverage / WAD,
                "threshold": r.liq_leverage / WAD,
                "ramp": _market_ramp(market, "liq_leverage"),
            },
        },
        "base_risk_factor": {"value": r.base_risk_factor / WAD, "ramp": _market_ramp(market, "base_risk_factor")},
        "nearest": {"symbol": nearest["symbol"], "drop": nearest["drop"], "binding": nearest["binding"]}
        if nearest
        else None,
        "borrowing_paused": bool(system.vault.paused()),
    }


def _market_ramp(market: Market, key: str) -> dict[str, Any] | None:
    ramp = market.ramps.get("market")
    return {"to": ramp[key], "ends_at": ramp["ends_at"]} if ramp else None


# ---------------------------------------------------------------- moves


def add_collateral(
    system: System, sender: Any, symbol: str, amount: int, account: str | None = None, approve: bool = True
) -> dict[str, Any]:
    token = collateral_token(system, symbol)
    symbol = system.symbol_of(token.address)
    account = account or sender.address
    approved = ensure_allowance(system, token, sender, system.vault, amount, approve, "the deposit")
    tx = send(system.vault.add_collateral, token, amount, account, sender=sender)
    decimals = system.params.collateral(symbol).decimals
    return {
        "account": account,
        "collateral": symbol,
        "added": whole(amount, decimals),
        "approved": whole(approved, decimals),
        "balance": whole(system.vault.collateral_of(account, token), decimals),
        "tx": tx.txn_hash,
    }


def repay(
    system: System, sender: Any, amount: int | None, account: str | None = None, approve: bool = True
) -> dict[str, Any]:
    """Repay `amount` base units of `account`'s debt (None: all of it)."""
    account = account or sender.address
    base = any_token(system, system.params.base.symbol)
    decimals = system.params.base.decimals
    symbol = system.params.base.symbol
    debt = system.vault.debt_of(account)
    if debt == 0:
        raise CommandError(f"{account} owes nothing")
    if amount is not None and amount > debt:
        raise CommandError(
            f"{format_amount(amount, decimals)} {symbol} is more than the debt of {format_amount(debt, decimals)}: "
            "use --all to repay it whole"
        )
    if amount is None:
        # the debt grows until the block that repays it: approve a few minutes of interest on top
        interest = -(-debt * system.vault.borrow_rate() * REPAY_MARGIN_SECONDS // (YEAR * WAD))
        needed = debt + interest + 1
        if base.balanceOf(sender) < needed and base.balanceOf(sender) >= debt:
            needed = base.balanceOf(sender)
    else:
        needed = amount
    approved = ensure_allowance(system, base, sender, system.vault, needed, approve, "the repayment")
    tx = send(system.vault.repay, MAX_UINT if amount is None else amount, account, sender=sender)
    log = system.vault.Repaid.from_receipt(tx)[0]
    return {
        "account": account,
        "repaid": whole(log.amount, decimals),
        "remaining": whole(log.remaining, decimals),
        "approved": whole(approved, decimals),
        "tx": tx.txn_hash,
    }
