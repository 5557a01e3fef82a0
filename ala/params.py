"""System parameters: what `deploy` builds, read from a TOML file (see params/local.toml).

Units follow DESIGN.md: ratios, fees and premiums are fractions (0.85 = 85%) in the file and WAD
on chain; prices are USD per whole token; amounts of base are whole tokens in the file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

WAD = 10**18
# relative to the working directory (an installed package has no repository around it)
DEFAULT_PARAMS = Path("params") / "local.toml"


def wad(value: float | str | Decimal) -> int:
    """A fraction or a USD figure to WAD, exactly (through Decimal, never float arithmetic)."""
    return int(Decimal(str(value)) * WAD)


@dataclass(frozen=True)
class TokenParams:
    symbol: str
    decimals: int
    price: Decimal
    # existing token/feed addresses (testnets); empty means "deploy a mock"
    address: str = ""
    feeds: tuple[str, ...] = ()
    # number of mock feeds when `feeds` is empty
    mock_feeds: int = 1
    feed_decimals: int = 8
    # the oracle's quorum: fewest fresh answers a price needs; 0 keeps its default, a majority of the feeds
    min_sources: int = 0

    @property
    def feed_count(self) -> int:
        return len(self.feeds) if self.feeds else self.mock_feeds

    @property
    def quorum(self) -> int:
        """The quorum the oracle holds once deployed: `min_sources`, or a majority of the feeds."""
        return self.min_sources or majority(self.feed_count)


def majority(feed_count: int) -> int:
    """PriceOracle's default quorum for `feed_count` feeds (set by `set_feeds`): 1 of 1, 2 of 2, 2 of 3."""
    return feed_count // 2 + 1


@dataclass(frozen=True)
class CollateralParams(TokenParams):
    max_ltv: Decimal = Decimal("0.75")
    liq_ltv: Decimal = Decimal("0.80")
    risk_factor: Decimal = Decimal("0.10")
    premium_step: Decimal = Decimal("0.01")
    max_slot: int = 10
    waiting_period: int = 600
    # whole base tokens
    bid_threshold: Decimal = Decimal("100000")
    # whole base tokens: the smallest bid, and the least a partial retraction leaves (0: none)
    min_bid: Decimal = Decimal(0)


@dataclass(frozen=True)
class AuctionParams:
    """The Dutch-auction fallback (DutchAuction.vy); its defaults are the contract's (Maker ETH-A-like)."""

    cut: Decimal = Decimal("0.99")  # price multiplier per step
    step: int = 90  # seconds
    floor: Decimal = Decimal("0.30")  # fraction of the top below which the price never falls
    tail: int = 8400  # seconds before an auction may be redone
    cusp: Decimal = Decimal("0.40")  # price / top below which it may be redone
    buf: Decimal = Decimal("1.10")  # multiplier of the oracle price at a redo
    tip: Decimal = Decimal("0")  # flat redo incentive, whole base tokens
    chip: Decimal = Decimal("0")  # redo incentive per unit of tab
    dust: Decimal = Decimal("10")  # smallest tab a partial take may leave, whole base tokens


@dataclass(frozen=True)
class SystemParams:
    base: TokenParams
    collaterals: tuple[CollateralParams, ...]
    oracle_max_age: int = 3600
    oracle_max_spread: Decimal = Decimal("0.02")
    base_risk_factor: Decimal = Decimal("0.02")
    max_risk_ratio: Decimal = Decimal("1.0")
    liq_risk_ratio: Decimal = Decimal("1.5")
    max_leverage: Decimal = Decimal("10")
    liq_leverage: Decimal = Decimal("15")
    base_rate: Decimal = Decimal("0")
    slope_low: Decimal = Decimal("0.04")
    slope_high: Decimal = Decimal("0.75")
    kink: Decimal = Decimal("0.80")
    reserve_factor: Decimal = Decimal("0.10")
    close_ratio: Decimal = Decimal("0.5")
    dust_value: Decimal = Decimal("10")
    keeper_fee: Decimal = Decimal("0.005")
    protocol_fee: Decimal = Decimal("0.005")
    # the Dutch-auction fallback; None: liquidations use the bid pools alone
    auction: AuctionParams | None = None
    extra: dict = field(default_factory=dict)

    def collateral(self, symbol: str) -> CollateralParams:
        for c in self.collaterals:
            if c.symbol == symbol:
                return c
        raise KeyError(f"no collateral {symbol!r} in the parameters")

    def check(self) -> None:
        """Cross-contract sanity the contracts cannot check alone (each setter checks its own bounds)."""
        fees = self.keeper_fee + self.protocol_fee
        for t in (self.base, *self.collaterals):
            if not 1 <= t.feed_count <= 3:
                raise ValueError(f"{t.symbol}: the oracle takes 1 to 3 feeds, not {t.feed_count}")
            if not 0 <= t.min_sources <= t.feed_count:
                raise ValueError(
                    f"{t.symbol}: min_sources {t.min_sources} must be within [1, {t.feed_count}] (its feeds), "
                    "or 0 for the oracle's default (a majority)"
                )
        for c in self.collaterals:
            if not 0 <= c.max_ltv < c.liq_ltv < 1:
                raise ValueError(f"{c.symbol}: need 0 <= max_ltv < liq_ltv < 1")
            # Collateral sold at the top slot must still cover the debt it repays at the liquidation line,
            # or every liquidation deepens the hole (Aave's liquidation threshold x bonus < 1 rule).
            worst = c.liq_ltv / ((1 - c.max_slot * c.premium_step) * (1 - fees))
            if worst >= 1:
                raise ValueError(f"{c.symbol}: liq_ltv / ((1 - top premium)(1 - fees)) = {worst:.4f} >= 1")


def _dec(table: dict, key: str, default: Decimal) -> Decimal:
    return Decimal(str(table[key])) if key in table else default


def _token(table: dict) -> dict:
    out = {
        "symbol": table["symbol"],
        "decimals": int(table["decimals"]),
        "price": Decimal(str(table["price"])),
        "address": table.get("address", ""),
        "feeds": tuple(table.get("feeds", ())),
        "mock_feeds": int(table.get("mock_feeds", 1)),
        "feed_decimals": int(table.get("feed_decimals", 8)),
        "min_sources": int(table.get("min_sources", 0)),
    }
    return out


def load(path: str | Path = DEFAULT_PARAMS) -> SystemParams:
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    base = TokenParams(**_token(raw["base"]))
    collaterals = []
    for table in raw["collateral"]:
        c = CollateralParams(
            **_token(table),
            max_ltv=_dec(table, "max_ltv", CollateralParams.max_ltv),
            liq_ltv=_dec(table, "liq_ltv", CollateralParams.liq_ltv),
            risk_factor=_dec(table, "risk_factor", CollateralParams.risk_factor),
            premium_step=_dec(table, "premium_step", CollateralParams.premium_step),
            max_slot=int(table.get("max_slot", CollateralParams.max_slot)),
            waiting_period=int(table.get("waiting_period", CollateralParams.waiting_period)),
            bid_threshold=_dec(table, "bid_threshold", CollateralParams.bid_threshold),
            min_bid=_dec(table, "min_bid", CollateralParams.min_bid),
        )
        collaterals.append(c)
    market = raw.get("market", {})
    kwargs = {}
    for name, spec in SystemParams.__dataclass_fields__.items():
        if name in ("base", "collaterals", "auction", "extra") or name not in market:
            continue
        kwargs[name] = int(market[name]) if spec.type == "int" else Decimal(str(market[name]))
    if "auction" in raw:
        table = raw["auction"]
        kwargs["auction"] = AuctionParams(
            **{
                name: int(table[name]) if spec.type == "int" else Decimal(str(table[name]))
                for name, spec in AuctionParams.__dataclass_fields__.items()
                if name in table
            }
        )
    params = SystemParams(base=base, collaterals=tuple(collaterals), extra=raw.get("extra", {}), **kwargs)
    params.check()
    return params
