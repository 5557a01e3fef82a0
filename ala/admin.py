"""Owner and guardian actions over a deployed System, as plain data (what `ape run admin` prints and sends).

Every action is built as a list of `Call`s before anything is sent: the contract, the function, the exact arguments,
what changes (before -> after, in the units of the parameter file) and, for a liquidation threshold, the ramp it
starts. Building a call checks what the contract would refuse, in Python and with the contract's own reason named:
each setter's bounds (`BOUNDS`, mirrored from the asserts; `tests/unit/test_admin_bounds.py` holds the two equal),
the cross-parameter rules, and who may send it. `diff` reads every parameter `ala.deploy` pushes on chain back from
the chain's views and compares it with a parameter file; `reconcile` builds the calls that make the chain match.

Units, as in the parameter file: fractions and ratios as decimals (0.85, 1.5; WAD on chain), USD figures as
decimals (WAD on chain), seconds and counts as integers, base amounts in whole tokens.

What the chain holds for a liquidation threshold is its target: `collateral_config` and `risk_limits` show the value
in force along a ramp, so targets are read from the last `CollateralConfigured` / `RiskLimitsSet` event (the
contracts have no view of the target). Diffs compare targets, and show the value in force while a ramp runs.
A bid pool's premium_step and max_slot are targets in the same way: a change waits `max(1 day, waiting_period)`
before it applies to the standing bids (`LiquidationQueue.pending_pool_terms`), and a diff shows the terms in force
and when the queued ones apply. Sending the queued terms again keeps their time; sending the terms in force cancels.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ala.cli_common import CommandError, any_token, collateral_token, parse_scaled
from ala.deploy import System
from ala.params import SystemParams, majority, wad

WAD = 10**18
DAY = 86_400
# LiquidationEngine.RAMP_TIME: a liquidation threshold moves to a new value linearly over this long, seconds
RAMP_TIME = DAY
# LiquidationQueue.TERMS_DELAY: the least notice before a new premium_step or max_slot applies to standing bids
TERMS_DELAY = DAY
# LiquidationQueue.MAX_MIN_BID_TOKENS: the highest minimum bid, whole base tokens
MAX_MIN_BID_TOKENS = 10_000
# a bid pool's terms: what a standing bid buys and where; a change of them is queued (see above)
POOL_TERMS = ("premium_step", "max_slot")

# contract name -> System attribute
CONTRACTS = {
    "PriceOracle": "oracle",
    "LendingVault": "vault",
    "LiquidationQueue": "queue",
    "LiquidationEngine": "engine",
    "AuctionSettlement": "auctions",
    "DutchAuction": "auction",
}


# ---------------------------------------------------------------- units


def show(value: int, unit: str, base_decimals: int = 0) -> str:
    """A raw on-chain value in the parameter file's units: `wad` 0.85, `base` whole tokens, `int` as is."""
    if unit == "wad":
        return _plain(Decimal(int(value)) / WAD)
    if unit == "base":
        return _plain(Decimal(int(value)) / 10**base_decimals)
    return str(int(value))


def _plain(d: Decimal) -> str:
    text = format(d.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")


def parse(text: str, unit: str, what: str, base_decimals: int = 0) -> int:
    """A value as the parameter file writes it -> raw units; refuses what is negative or would be rounded."""
    scale = {"wad": WAD, "base": 10**base_decimals, "int": 1}[unit]
    return parse_scaled(text, scale, what, positive=False, too_fine="has more decimals than it can hold")


# ---------------------------------------------------------------- bounds (mirrors of the setters' asserts)


@dataclass(frozen=True)
class Bound:
    """One setter argument's hard bounds, as the contract asserts them, with the reason it reverts with."""

    contract: str
    function: str
    parameter: str
    unit: str  # wad | int | base
    low: int
    high: int
    reason: str
    low_open: bool = False  # the contract needs value > low
    high_open: bool = False  # the contract needs value < high
    zero_ok: bool = False  # 0 is allowed besides [low, high] (a breaker's tolerance: 0 turns it off)
    high_reason: str = ""  # the reason above the bound, when it differs from the one below

    def reason_for(self, value: int) -> str:
        above = value >= self.high if self.high_open else value > self.high
        return self.high_reason if above and self.high_reason else self.reason

    def holds(self, value: int) -> bool:
        if self.zero_ok and value == 0:
            return True
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def describe(self, base_decimals: int = 0) -> str:
        lo = show(self.low, self.unit, base_decimals)
        hi = show(self.high, self.unit, base_decimals)
        text = f"{'(' if self.low_open else '['}{lo}, {hi}{')' if self.high_open else ']'}"
        return f"0 or {text}" if self.zero_ok else text

    def check(self, value: int, base_decimals: int = 0, subject: str = "") -> None:
        if not self.holds(value):
            raise CommandError(
                f"{subject}{self.parameter} {show(value, self.unit, base_decimals)} is out of bounds: "
                f"{self.contract}.{self.function} takes {self.describe(base_decimals)} "
                f"(the contract would revert '{self.reason_for(value)}')"
            )


def bounds(base_decimals: int) -> dict[tuple[str, str], Bound]:
    """(function, parameter) -> its bound. The auction's tip and dust bounds are in whole base tokens."""
    unit = 10**base_decimals

    def bound(function: str, parameter: str, low: int, high: int, reason: str, **flags: Any) -> Bound:
        setter = SETTERS[function]
        kind = dict(setter.parameters)[parameter]
        return Bound(setter.contract, function, parameter, kind, low, high, reason, **flags)

    table = [
        bound("set_feeds", "max_age", 60, 3 * DAY, "oracle: max_age out of bounds"),
        bound("set_feeds", "max_spread", 0, 2 * 10**17, "oracle: max_spread out of bounds"),
        # dev: the contract's bound is [1, the asset's feed count]; 3 is MAX_FEEDS, `_quorum_rules` checks the count
        bound("set_min_sources", "min_sources", 1, 3, "oracle: min_sources out of bounds"),
        bound("set_breaker", "tolerance", 5 * 10**15, 5 * 10**17, "oracle: tolerance out of bounds", zero_ok=True),
        bound("set_breaker", "confirmation_delay", 60, DAY, "oracle: confirmation_delay out of bounds"),
        bound("set_volatility_params", "ewma_lambda", 5 * 10**17, 999 * 10**15, "oracle: lambda out of bounds"),
        bound("set_volatility_params", "k", 0, 10 * WAD, "oracle: k out of bounds"),
        bound("set_volatility_params", "min_factor", 5 * 10**17, WAD, "oracle: min_factor out of bounds"),
        bound("set_reserve_factor", "reserve_factor", 0, WAD // 2, "vault: reserve_factor above bound"),
        bound("configure_collateral", "liq_ltv", 0, 97 * 10**16, "engine: liq_ltv above bound"),
        bound("configure_collateral", "risk_factor", 0, WAD, "engine: risk_factor above bound"),
        bound("set_risk_limits", "base_risk_factor", 0, WAD, "engine: base_risk_factor above bound"),
        bound("set_risk_limits", "liq_risk_ratio", 0, 100 * WAD, "engine: liq_risk_ratio above bound"),
        bound("set_risk_limits", "liq_leverage", 0, 100 * WAD, "engine: liq_leverage above bound"),
        bound("set_close_ratio", "close_ratio", 10**17, WAD, "engine: close_ratio out of bounds"),
        bound("set_dust_value", "dust_value", 0, 10_000 * WAD, "engine: dust_value above bound"),
        bound("set_fees", "keeper_fee", 0, 5 * 10**16, "engine: keeper_fee above bound"),
        bound("set_fees", "protocol_fee", 0, 10**17, "engine: protocol_fee above bound"),
        bound(
            "set_pool_params",
            "premium_step",
            0,
            WAD // 2,
            "queue: zero premium step",
            low_open=True,
            high_open=True,
            high_reason="queue: premium cap too high",
        ),
        bound("set_pool_params", "max_slot", 1, 100, "queue: max slot out of range"),
        bound("set_pool_params", "waiting_period", 0, 7 * DAY, "queue: waiting period too long"),
        bound("set_min_bid", "min_bid", 0, MAX_MIN_BID_TOKENS * unit, "queue: min bid too high"),
        bound("set_curve", "cut", WAD // 2, WAD, "auction: cut out of bounds", high_open=True),
        bound("set_curve", "step", 1, 3600, "auction: step out of bounds"),
        bound("set_reset_rules", "tail", 300, 7 * DAY, "auction: tail out of bounds"),
        bound("set_reset_rules", "cusp", WAD // 10, 95 * 10**16, "auction: cusp out of bounds"),
        bound("set_reset_rules", "buf", WAD, 2 * WAD, "auction: buf out of bounds"),
        bound("set_incentive", "tip", 0, 1_000 * unit, "auction: tip above bound"),
        bound("set_incentive", "chip", 0, 10**16, "auction: chip above bound"),
        bound("set_dust", "dust", 0, 10_000 * unit, "auction: dust above bound"),
    ]
    return {(b.function, b.parameter): b for b in table}


def _rule(ok: bool, text: str, contract: str, function: str, reason: str) -> None:
    """A cross-parameter rule of a setter (named, with the contract's reason) that must hold."""
    if not ok:
        raise CommandError(f"{text}: {contract}.{function} would revert '{reason}'")


# ---------------------------------------------------------------- setters: arguments, units, reads


@dataclass(frozen=True)
class Setter:
    contract: str
    function: str
    parameters: tuple[tuple[str, str], ...]  # (name, unit) in argument order, after the asset if per_asset
    per_asset: bool = False


SETTERS = {
    s.function: s
    for s in [
        Setter("PriceOracle", "set_feeds", (("max_age", "int"), ("max_spread", "wad")), per_asset=True),
        Setter("PriceOracle", "set_min_sources", (("min_sources", "int"),), per_asset=True),
        Setter("PriceOracle", "set_breaker", (("tolerance", "wad"), ("confirmation_delay", "int")), per_asset=True),
        Setter(
            "PriceOracle",
            "set_volatility_params",
            (("ewma_lambda", "wad"), ("k", "wad"), ("min_factor", "wad")),
            per_asset=True,
        ),
        Setter("LendingVault", "set_reserve_factor", (("reserve_factor", "wad"),)),
        Setter(
            "LiquidationEngine",
            "configure_collateral",
            (("max_ltv", "wad"), ("liq_ltv", "wad"), ("risk_factor", "wad")),
            per_asset=True,
        ),
        Setter(
            "LiquidationEngine",
            "set_risk_limits",
            (
                ("base_risk_factor", "wad"),
                ("max_risk_ratio", "wad"),
                ("liq_risk_ratio", "wad"),
                ("max_leverage", "wad"),
                ("liq_leverage", "wad"),
            ),
        ),
        Setter("LiquidationEngine", "set_close_ratio", (("close_ratio", "wad"),)),
        Setter("LiquidationEngine", "set_dust_value", (("dust_value", "wad"),)),
        Setter("LiquidationEngine", "set_fees", (("keeper_fee", "wad"), ("protocol_fee", "wad"))),
        Setter(
            "LiquidationQueue",
            "set_pool_params",
            (("premium_step", "wad"), ("max_slot", "int"), ("waiting_period", "int"), ("bid_threshold", "base")),
            per_asset=True,
        ),
        Setter("LiquidationQueue", "set_min_bid", (("min_bid", "base"),), per_asset=True),
        Setter("DutchAuction", "set_curve", (("cut", "wad"), ("step", "int"), ("floor", "wad"))),
        Setter("DutchAuction", "set_reset_rules", (("tail", "int"), ("cusp", "wad"), ("buf", "wad"))),
        Setter("DutchAuction", "set_incentive", (("tip", "base"), ("chip", "wad"))),
        Setter("DutchAuction", "set_dust", (("dust", "base"),)),
    ]
}


def _now() -> int:
    from ape import chain

    return chain.blocks.head.timestamp


@functools.lru_cache(maxsize=8)
def _ramp_window(deployed: int, head: int, head_hash: bytes) -> int:
    """The first block (not before the deployment) less than RAMP_TIME old at `head`: a ramp that started before it
    has ended, so only the logs from here on can tell a running ramp's target (a binary search, not a long scan).
    Cached per head block hash (a reverted snapshot or a reorganisation gives the same number another block)."""
    from ape import chain

    since = chain.blocks[head].timestamp - RAMP_TIME
    low, high = deployed, head
    while low < high:
        middle = (low + high) // 2
        if chain.blocks[middle].timestamp < since:
            low = middle + 1
        else:
            high = middle
    return low


def _last_log(system: System, event: Any, **topics: Any) -> Any:
    """The latest `event` of the last RAMP_TIME (None when there is none: no ramp can be running)."""
    from ape import chain

    head = chain.blocks.head
    last = None
    start = _ramp_window(system.block, head.number, bytes(head.hash))
    for log in event.range(start, head.number + 1, search_topics=topics or None):
        last = log
    return last


COLLATERAL_THRESHOLDS = ("liq_ltv", "risk_factor")


def collateral_target(system: System, asset: Any) -> tuple[dict[str, int], dict[str, int], int]:
    """An asset's configured (max_ltv, liq_ltv, risk_factor) -> (targets, liq_ltv and risk_factor in force, ramp end
    or 0). Both thresholds ramp together, over one window from the asset's last change."""
    config = system.engine.collateral_config(asset)
    values = {"max_ltv": config.max_ltv, "liq_ltv": config.liq_ltv, "risk_factor": config.risk_factor}
    in_force = {name: values[name] for name in COLLATERAL_THRESHOLDS}
    log = _last_log(system, system.engine.CollateralConfigured, asset=asset.address)
    ramp_end = 0
    if log is not None and any(int(getattr(log, name)) != in_force[name] for name in COLLATERAL_THRESHOLDS):
        # dev: a ramp runs exactly while a value in force differs from its target; it started at the last change
        ramp_end = log.timestamp + RAMP_TIME
        for name in COLLATERAL_THRESHOLDS:
            values[name] = int(getattr(log, name))
    return values, in_force, ramp_end


def pool_target(system: System, asset: Any) -> tuple[dict[str, int], dict[str, int], int]:
    """A bid pool's parameters -> (targets: a queued premium_step/max_slot in place, values in force, the queued
    terms' effective time or 0)."""
    p = system.queue.pool_params(asset)
    in_force = {
        "premium_step": int(p.premium_step),
        "max_slot": int(p.max_slot),
        "waiting_period": int(p.waiting_period),
        "bid_threshold": int(p.bid_threshold),
    }
    queued = system.queue.pending_pool_terms(asset)
    if not queued.effective_at:
        return dict(in_force), in_force, 0
    targets = {**in_force, "premium_step": int(queued.premium_step), "max_slot": int(queued.max_slot)}
    return targets, in_force, int(queued.effective_at)


LIMIT_THRESHOLDS = ("base_risk_factor", "liq_risk_ratio", "liq_leverage")


def risk_limits_target(system: System) -> tuple[dict[str, int], dict[str, int], int]:
    """The market's limits -> (targets, values in force, ramp end or 0)."""
    now = system.engine.risk_limits()
    in_force = {name: int(getattr(now, name)) for name, _ in SETTERS["set_risk_limits"].parameters}
    values = dict(in_force)
    ramp_end = 0
    log = _last_log(system, system.engine.RiskLimitsSet)
    if log is not None:
        for name in LIMIT_THRESHOLDS:
            values[name] = int(getattr(log, name))
        if int(log.ramp_end) > _now() and values != in_force:
            ramp_end = int(log.ramp_end)
    return values, in_force, ramp_end


def current(system: System, function: str, asset: Any = None) -> dict[str, int]:
    """The chain's values of a setter's arguments (targets, for thresholds that ramp)."""
    o, v, q, e, a = system.oracle, system.vault, system.queue, system.engine, system.auction
    if function == "set_feeds":
        return {"max_age": o.max_age(asset), "max_spread": o.max_spread(asset)}
    if function == "set_min_sources":
        return {"min_sources": o.min_sources(asset)}
    if function == "set_breaker":
        return {"tolerance": o.tolerance(asset), "confirmation_delay": o.confirmation_delay(asset)}
    if function == "set_volatility_params":
        p = o.volatility_params(asset)
        return {"ewma_lambda": p.ewma_lambda, "k": p.k, "min_factor": p.min_factor}
    if function == "set_reserve_factor":
        return {"reserve_factor": v.reserve_factor()}
    if function == "configure_collateral":
        return collateral_target(system, asset)[0]
    if function == "set_risk_limits":
        return risk_limits_target(system)[0]
    if function == "set_close_ratio":
        return {"close_ratio": e.close_ratio()}
    if function == "set_dust_value":
        return {"dust_value": e.dust_value()}
    if function == "set_fees":
        return {"keeper_fee": e.keeper_fee(), "protocol_fee": e.protocol_fee()}
    if function == "set_pool_params":
        return pool_target(system, asset)[0]
    if function == "set_min_bid":
        return {"min_bid": q.min_bid(asset)}
    if a is None:
        raise CommandError("this deployment has no auction house")
    if function == "set_curve":
        return {"cut": a.cut(), "step": a.step(), "floor": a.floor()}
    if function == "set_reset_rules":
        return {"tail": a.tail(), "cusp": a.cusp(), "buf": a.buf()}
    if function == "set_incentive":
        return {"tip": a.tip(), "chip": a.chip()}
    if function == "set_dust":
        return {"dust": a.dust()}
    raise KeyError(function)


# ---------------------------------------------------------------- calls


@dataclass(frozen=True)
class Change:
    parameter: str
    before: str
    after: str


@dataclass(frozen=True)
class Ramp:
    """A liquidation threshold moving linearly from `start` to `end` over RAMP_TIME from the call's block."""

    parameter: str
    start: str
    end: str
    ends_at: int  # unix seconds: 1 day after the block that includes the call (estimated from the head before it)

    def line(self) -> str:
        at = datetime.datetime.fromtimestamp(self.ends_at, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
        return f"ramp {self.parameter}: {self.start} -> {self.end} over 1 day, ends about {at}"


@dataclass
class Call:
    """One transaction to send: contract.function(*args) from a sender in `role`."""

    contract: str
    function: str
    args: tuple
    changes: list[Change] = field(default_factory=list)
    ramps: list[Ramp] = field(default_factory=list)
    role: str = "owner"  # owner | owner or guardian | pending owner
    subject: str = ""  # the asset symbol, when the call is about one
    note: str = ""

    def method(self, system: System) -> Any:
        return getattr(getattr(system, CONTRACTS[self.contract]), self.function)

    def address(self, system: System) -> str:
        return getattr(system, CONTRACTS[self.contract]).address

    def title(self) -> str:
        shown = ", ".join(_arg(a) for a in self.args)
        return f"{self.contract}.{self.function}({shown})"

    def lines(self) -> list[str]:
        out = [self.title()]
        for c in self.changes:
            out.append(f"  {(self.subject + ' ') if self.subject else ''}{c.parameter}: {c.before} -> {c.after}")
        out += [f"  {r.line()}" for r in self.ramps]
        if self.note:
            out.append(f"  {self.note}")
        return out

    def to_json(self, system: System) -> dict:
        return {
            "contract": self.contract,
            "address": self.address(system),
            "function": self.function,
            "args": [_arg(a) for a in self.args],
            "subject": self.subject,
            "role": self.role,
            "changes": [vars(c) for c in self.changes],
            "ramps": [vars(r) for r in self.ramps],
            "note": self.note,
        }


def _arg(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_arg(v) for v in value) + "]"
    return str(getattr(value, "address", value))


def _setter_call(
    system: System, function: str, asset: Any, symbol: str, new: dict[str, int], old: dict[str, int]
) -> Call:
    setter = SETTERS[function]
    decimals = system.params.base.decimals
    changes = [
        Change(name, show(old[name], unit, decimals), show(new[name], unit, decimals))
        for name, unit in setter.parameters
        if old[name] != new[name]
    ]
    values = tuple(new[name] for name, _ in setter.parameters)
    args = (asset.address, *values) if setter.per_asset else values
    return Call(setter.contract, function, args, changes, subject=symbol)


def check_bounds(system: System, function: str, values: dict[str, int], symbol: str = "") -> None:
    """Each argument against its own bound (the contract's assert on that argument alone)."""
    table = bounds(system.params.base.decimals)
    for name, value in values.items():
        bound = table.get((function, name))
        if function == "set_breaker" and name == "confirmation_delay" and values.get("tolerance") == 0:
            continue  # dev: a breaker turned off takes delay 0, which `_breaker_rules` checks
        if bound is not None:
            bound.check(value, system.params.base.decimals, f"{symbol} " if symbol else "")


def setter(system: System, function: str, overrides: dict[str, int], symbol: str = "") -> Call:
    """A setter call that changes `overrides` and keeps every other argument at the chain's value, checked."""
    asset = any_token(system, symbol) if SETTERS[function].per_asset else None
    old = current(system, function, asset)
    new = {**old, **{k: v for k, v in overrides.items() if v is not None}}
    return _checked(system, function, asset, symbol, new, old)


def _checked(system: System, function: str, asset: Any, symbol: str, new: dict, old: dict) -> Call:
    check_bounds(system, function, new, symbol)
    call = _setter_call(system, function, asset, symbol, new, old)
    rules = RULES.get(function)
    if rules is not None:
        rules(system, asset, new, old, call)
    return call


# ---------------------------------------------------------------- cross-parameter rules and ramps


def _feeds_rules(system: System, asset: Any, new: dict, old: dict, call: Call) -> None:
    feeds = list(system.oracle.feeds(asset))
    _rule(len(feeds) > 0, f"{call.subject} has no feeds on the oracle", "PriceOracle", "set_feeds", "oracle: no feeds")
    _rule(
        new["max_spread"] != 0 or len(feeds) == 1,
        f"{call.subject} max_spread 0 with {len(feeds)} feeds: more than one feed needs a spread above 0",
        "PriceOracle",
        "set_feeds",
        "oracle: max_spread out of bounds",
    )
    call.args = (asset.address, feeds, new["max_age"], new["max_spread"])
    call.note = f"the feeds stay {', '.join(feeds)}"
    quorum, default = system.oracle.min_sources(asset), majority(len(feeds))
    if quorum != default:
        call.note += f"; set_feeds resets min_sources {quorum} to {default} (a majority): `feeds` restores it after"


def feeds(system: System, overrides: dict[str, int | None], symbol: str) -> list[Call]:
    """`set_feeds` with the asset's feeds, and, when the asset's quorum is not the majority `set_feeds` resets it
    to, the `set_min_sources` call that restores it (so changing max_age never loosens or tightens the quorum)."""
    asset = any_token(system, symbol)
    quorum = system.oracle.min_sources(asset)
    calls = [setter(system, "set_feeds", overrides, symbol)]
    default = majority(len(system.oracle.feeds(asset)))
    if quorum != default:
        calls.append(_quorum_restore(system, asset, symbol, quorum, default))
    return calls


def _quorum_restore(system: System, asset: Any, symbol: str, quorum: int, default: int) -> Call:
    change = Change("min_sources", str(default), str(quorum))
    call = Call("PriceOracle", "set_min_sources", (asset.address, quorum), [change], subject=symbol)
    call.note = "restores the quorum the set_feeds before it reset"
    return call


def _quorum_rules(system: System, asset: Any, new: dict, old: dict, call: Call) -> None:
    count = len(system.oracle.feeds(asset))
    _rule(
        new["min_sources"] <= count,
        f"{call.subject} min_sources {new['min_sources']} is above its {count} feed(s)",
        "PriceOracle",
        "set_min_sources",
        "oracle: min_sources out of bounds",
    )
    if new["min_sources"] > old["min_sources"]:
        call.note = "the quorum must be met now (fresh, agreeing answers): otherwise the contract refuses it"


def _breaker_rules(system: System, asset: Any, new: dict, old: dict, call: Call) -> None:
    if new["tolerance"] == 0:
        _rule(
            new["confirmation_delay"] == 0,
            "confirmation_delay must be 0 when the breaker is turned off (tolerance 0)",
            "PriceOracle",
            "set_breaker",
            "oracle: confirmation_delay out of bounds",
        )
    else:
        bounds(system.params.base.decimals)[("set_breaker", "confirmation_delay")].check(
            new["confirmation_delay"], subject=f"{call.subject} "
        )
    if (new["tolerance"] == 0) != (old["tolerance"] == 0):
        call.note = "turning the breaker on or off forgets its state: the next poke's price is the anchor"


def _collateral_rules(system: System, asset: Any, new: dict, old: dict, call: Call) -> None:
    config = system.engine.collateral_config(asset)
    _rule(
        config.listed == 1,
        f"{call.subject} is not listed on the engine",
        "LiquidationEngine",
        "configure_collateral",
        "engine: unknown collateral",
    )
    in_force = config.liq_ltv
    limit = min(new["liq_ltv"], in_force)
    _rule(
        new["max_ltv"] < limit,
        f"{call.subject} max_ltv {show(new['max_ltv'], 'wad')} must be below liq_ltv "
        f"{show(new['liq_ltv'], 'wad')} and below the liq_ltv in force {show(in_force, 'wad')}"
        + (" (raise liq_ltv first; raise max_ltv after its ramp ends)" if new["max_ltv"] < new["liq_ltv"] else ""),
        "LiquidationEngine",
        "configure_collateral",
        "engine: max_ltv must be below liq_ltv",
    )
    # dev: the engine ramps both thresholds together once either changes: each that moves gets a line
    if new["liq_ltv"] != in_force or new["risk_factor"] != config.risk_factor:
        for name, now in (("liq_ltv", in_force), ("risk_factor", config.risk_factor)):
            if new[name] != now:
                call.ramps.append(
                    Ramp(f"{call.subject} {name}", show(now, "wad"), show(new[name], "wad"), _now() + 1 + RAMP_TIME)
                )


def _risk_limits_rules(system: System, asset: Any, new: dict, old: dict, call: Call) -> None:
    _, in_force, ramp_end = risk_limits_target(system)
    owed = system.vault.total_scaled_debt() != 0
    start = in_force if owed else new
    _rule(
        new["max_risk_ratio"] != 0 and new["max_risk_ratio"] <= min(new["liq_risk_ratio"], start["liq_risk_ratio"]),
        f"max_risk_ratio {show(new['max_risk_ratio'], 'wad')} must be above 0 and at most liq_risk_ratio "
        f"{show(new['liq_risk_ratio'], 'wad')}"
        + (f" and the value in force {show(start['liq_risk_ratio'], 'wad')}" if owed else ""),
        "LiquidationEngine",
        "set_risk_limits",
        "engine: bad risk ratio limits",
    )
    _rule(
        WAD < new["max_leverage"] <= min(new["liq_leverage"], start["liq_leverage"]),
        f"max_leverage {show(new['max_leverage'], 'wad')} must be above 1 and at most liq_leverage "
        f"{show(new['liq_leverage'], 'wad')}"
        + (f" and the value in force {show(start['liq_leverage'], 'wad')}" if owed else ""),
        "LiquidationEngine",
        "set_risk_limits",
        "engine: bad leverage limits",
    )
    target_unchanged = all(new[n] == old[n] for n in LIMIT_THRESHOLDS)
    if target_unchanged:
        if ramp_end:
            call.note = "the thresholds' target is unchanged: the running ramp goes on as it was"
        return
    if not owed:
        call.note = "nobody owes the vault: the thresholds take effect at once"
        return
    ends = _now() + 1 + RAMP_TIME
    for name in LIMIT_THRESHOLDS:
        if new[name] != in_force[name]:
            call.ramps.append(Ramp(name, show(in_force[name], "wad"), show(new[name], "wad"), ends))


def _pool_rules(system: System, asset: Any, new: dict, old: dict, call: Call) -> None:
    _rule(
        new["max_slot"] * new["premium_step"] < WAD // 2,
        f"{call.subject} top premium max_slot x premium_step = {show(new['max_slot'] * new['premium_step'], 'wad')} "
        "must be below 0.5",
        "LiquidationQueue",
        "set_pool_params",
        "queue: premium cap too high",
    )
    _, in_force, effective_at = pool_target(system, asset)
    notes = []
    if new["max_slot"] < in_force["max_slot"]:
        notes.append("bids above the new max_slot stay retractable but no longer fill")
    if any(new[name] != in_force[name] for name in POOL_TERMS):
        if effective_at and all(new[name] == old[name] for name in POOL_TERMS):
            # dev: pushed back only as far as a bid moved now needs to activate (the waiting period sent)
            at = max(effective_at, _now() + 1 + new["waiting_period"])
            notes.append(f"the queued premium_step/max_slot keep their time: they apply at {_at(at)}")
        else:
            # dev: the contract queues them for max(TERMS_DELAY, the waiting period sent) after the call's block
            at = _now() + 1 + max(TERMS_DELAY, new["waiting_period"])
            notes.append(
                f"premium_step/max_slot apply to the standing bids from about {_at(at)}; bidders may retract meanwhile"
            )
    elif effective_at:
        notes.append("premium_step/max_slot back to the terms in force: the queued change is cancelled")
    call.note = "; ".join(notes)


def _at(timestamp: int) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _curve_rules(system: System, asset: Any, new: dict, old: dict, call: Call) -> None:
    cusp = system.auction.cusp()
    _rule(
        new["floor"] < cusp,
        f"floor {show(new['floor'], 'wad')} must be below the cusp {show(cusp, 'wad')}",
        "DutchAuction",
        "set_curve",
        "auction: floor not below cusp",
    )


def _reset_rules(system: System, asset: Any, new: dict, old: dict, call: Call) -> None:
    floor = system.auction.floor()
    _rule(
        new["cusp"] > floor,
        f"cusp {show(new['cusp'], 'wad')} must be above the floor {show(floor, 'wad')}",
        "DutchAuction",
        "set_reset_rules",
        "auction: floor not below cusp",
    )


RULES: dict[str, Callable[..., None]] = {
    "set_feeds": _feeds_rules,
    "set_min_sources": _quorum_rules,
    "set_breaker": _breaker_rules,
    "configure_collateral": _collateral_rules,
    "set_risk_limits": _risk_limits_rules,
    "set_pool_params": _pool_rules,
    "set_curve": _curve_rules,
    "set_reset_rules": _reset_rules,
}


# ---------------------------------------------------------------- the other actions


def pause(system: System, paused: bool) -> Call:
    now = bool(system.vault.paused())
    if now == paused:
        raise CommandError(f"the vault is already {'paused' if paused else 'unpaused'}: nothing to send")
    change = Change("paused", str(now).lower(), str(paused).lower())
    what = "deposit, mint, borrow and remove_collateral" + (" stop" if paused else " open again")
    return Call(
        "LendingVault",
        "set_paused",
        (paused,),
        [change],
        role="owner or guardian" if paused else "owner",
        note=f"{what}; repay, add_collateral, withdraw and redeem are never paused",
    )


def set_guardian(system: System, contract: str, guardian: str) -> Call:
    target = getattr(system, CONTRACTS[contract])
    change = Change("guardian", str(target.guardian()), guardian)
    return Call(contract, "set_guardian", (guardian,), [change])


def confirm_price(system: System, symbol: str) -> Call:
    asset = any_token(system, symbol)
    if system.oracle.tolerance(asset) == 0:
        raise CommandError(f"{symbol}'s circuit breaker is off: there is no price to confirm")
    status = system.oracle.breaker_status(asset)
    if not status.tripped:
        raise CommandError(f"{symbol}'s circuit breaker is not tripped: there is no price to confirm")
    price = system.oracle.price(asset)
    change = Change("last accepted price", show(status.last_accepted, "wad"), show(price, "wad"))
    return Call(
        "PriceOracle",
        "confirm_price",
        (asset.address,),
        [change],
        role="owner or guardian",
        subject=symbol,
        note="liquidations in this asset resume",
    )


def withdraw_reserves(system: System, amount: int, receiver: str) -> Call:
    decimals = system.params.base.decimals
    reserves, cash = system.vault.reserves(), system.vault.cash()
    if amount > reserves:
        raise CommandError(
            f"{show(amount, 'base', decimals)} exceeds the reserves {show(reserves, 'base', decimals)} "
            "(the contract would revert 'vault: exceeds reserves')"
        )
    if amount > cash:
        raise CommandError(
            f"{show(amount, 'base', decimals)} exceeds the vault's cash {show(cash, 'base', decimals)}: the reserves "
            "are lent out (the contract would revert 'vault: reserves not in cash')"
        )
    change = Change("reserves", show(reserves, "base", decimals), show(reserves - amount, "base", decimals))
    return Call("LendingVault", "withdraw_reserves", (amount, receiver), [change], note=f"to {receiver}")


def withdraw_reserve_collateral(system: System, symbol: str, amount: int, receiver: str) -> Call:
    asset = collateral_token(system, symbol)
    decimals = system.params.collateral(system.symbol_of(asset.address)).decimals
    held = system.vault.collateral_of(system.vault.address, asset)
    if amount > held:
        raise CommandError(
            f"{show(amount, 'base', decimals)} {symbol} exceeds the reserve account's {show(held, 'base', decimals)} "
            "(the contract would revert 'vault: exceeds reserve collateral')"
        )
    change = Change("reserve collateral", show(held, "base", decimals), show(held - amount, "base", decimals))
    return Call(
        "LendingVault", "withdraw_reserve_collateral", (asset.address, amount, receiver), [change], subject=symbol
    )


def _house(system: System) -> Any:
    if system.auction is None:
        raise CommandError("this deployment has no auction house")
    return system.auction


def withdraw_incentives(system: System, amount: int, receiver: str) -> Call:
    decimals = system.params.base.decimals
    balance = _house(system).incentive_balance()
    if amount > balance:
        raise CommandError(
            f"{show(amount, 'base', decimals)} exceeds the incentive balance {show(balance, 'base', decimals)} "
            "(the contract would revert 'auction: exceeds incentive balance')"
        )
    change = Change("incentive_balance", show(balance, "base", decimals), show(balance - amount, "base", decimals))
    return Call("DutchAuction", "withdraw_incentives", (amount, receiver), [change], note=f"to {receiver}")


def sweep(system: System, symbol: str, receiver: str) -> Call:
    """Send the auction house's tokens beyond what it owes (running lots, the incentive balance) to `receiver`."""
    house, token = _house(system), any_token(system, symbol)
    owed = house.incentive_balance() if token.address == system.base.address else house.held(token)
    balance = token.balanceOf(house)
    if balance <= owed:
        raise CommandError(
            f"the auction house holds no {symbol} beyond what it owes (the contract would revert "
            "'auction: nothing to sweep')"
        )
    decimals = token.decimals()
    change = Change("stray balance", show(balance - owed, "base", decimals), "0")
    return Call("DutchAuction", "sweep", (token.address, receiver), [change], subject=symbol, note=f"to {receiver}")


def set_rate_model(system: System, model: str) -> Call:
    change = Change("rate_model", str(system.vault.rate_model()), model)
    return Call("LendingVault", "set_rate_model", (model,), [change], note="interest so far accrues at the old rate")


# ---------------------------------------------------------------- ownership


def owned(system: System) -> list[str]:
    """Every contract of the deployment that has an owner (the rate model and the lens have none)."""
    return [name for name, attr in CONTRACTS.items() if getattr(system, attr, None) is not None]


def owners(system: System) -> list[dict]:
    out = []
    for name in owned(system):
        c = getattr(system, CONTRACTS[name])
        row = {"contract": name, "address": c.address, "owner": c.owner(), "pending_owner": c.pending_owner()}
        if name in ("PriceOracle", "LendingVault"):
            row["guardian"] = c.guardian()
        out.append(row)
    return out


def transfer_ownership(system: System, new_owner: str, contracts: list[str] | None = None) -> list[Call]:
    """Step one of two: offer every contract (or those named) to `new_owner`, who must accept on each."""
    if int(new_owner, 16) == 0:
        raise CommandError("the new owner is the zero address (that would only cancel a pending transfer)")
    calls = []
    for name in contracts or owned(system):
        c = getattr(system, CONTRACTS[name])
        if str(c.owner()).lower() == new_owner.lower():
            raise CommandError(f"{new_owner} already owns {name}")
        change = Change("pending_owner", str(c.pending_owner()), new_owner)
        calls.append(
            Call(name, "transfer_ownership", (new_owner,), [change], note=f"{new_owner} must call accept_ownership")
        )
    return calls


def accept_ownership(system: System, new_owner: str) -> list[Call]:
    """Step two: every contract whose pending owner is `new_owner` (the only account that may accept)."""
    calls = []
    for name in owned(system):
        c = getattr(system, CONTRACTS[name])
        if str(c.pending_owner()).lower() == new_owner.lower():
            change = Change("owner", str(c.owner()), new_owner)
            calls.append(Call(name, "accept_ownership", (), [change], role="pending owner"))
    if not calls:
        raise CommandError(f"no contract of this deployment has {new_owner} as its pending owner")
    return calls


def calldata(system: System, call: Call) -> dict:
    """What a multisig proposes: to, value, data."""
    data = call.method(system).encode_input(*call.args)
    return {"to": call.address(system), "value": 0, "data": "0x" + bytes(data).hex(), "call": call.title()}


# ---------------------------------------------------------------- who may send


def check_sender(system: System, call: Call, sender: str) -> None:
    """Refuse, before anything is sent, a call the sender's role may not make (the contracts would revert)."""
    c = getattr(system, CONTRACTS[call.contract])
    owner = str(c.owner())
    me = str(sender).lower()
    if call.role == "pending owner":
        ok, who = str(c.pending_owner()).lower() == me, f"the pending owner of {call.contract} ({c.pending_owner()})"
    elif call.role == "owner or guardian":
        ok = me in (owner.lower(), str(c.guardian()).lower())
        who = f"the owner ({owner}) or guardian ({c.guardian()}) of {call.contract}"
    else:
        ok, who = me == owner.lower(), f"the owner of {call.contract} ({owner})"
    if not ok:
        raise CommandError(f"{sender} is not {who}: {call.contract}.{call.function} would revert")


# ---------------------------------------------------------------- diff and apply


@dataclass(frozen=True)
class Row:
    contract: str
    parameter: str
    subject: str  # asset symbol or ""
    unit: str
    file: int | None
    chain: int | None
    setter: str  # the function that sets it; "" when no setter can (the rate model's immutables)
    in_force: int | None = None  # a threshold's value in force while it ramps
    ramp_end: int = 0

    @property
    def differs(self) -> bool:
        return self.file != self.chain

    def to_json(self, decimals: int) -> dict:
        def s(v: int | None) -> str | None:
            return None if v is None else show(v, self.unit, decimals)

        out = {
            "contract": self.contract,
            "parameter": self.parameter,
            "asset": self.subject,
            "file": s(self.file),
            "chain": s(self.chain),
            "differs": self.differs,
        }
        if self.ramp_end:
            out["in_force"] = s(self.in_force)
            out["ramp_end"] = self.ramp_end
        return out


def file_values(params: SystemParams, system: System) -> dict[tuple[str, str], dict[str, int]]:
    """(setter, symbol) -> the arguments the parameter file asks for, in raw units (what `ala.deploy` sends)."""
    unit = 10**params.base.decimals
    out: dict[tuple[str, str], dict[str, int]] = {}
    for spec in (params.base, *params.collaterals):
        if spec.symbol not in system.tokens:
            continue
        n = len(system.oracle.feeds(system.tokens[spec.symbol]))
        spread = wad(params.oracle_max_spread) if n > 1 else 0
        out[("set_feeds", spec.symbol)] = {"max_age": params.oracle_max_age, "max_spread": spread}
        out[("set_min_sources", spec.symbol)] = {"min_sources": spec.min_sources or majority(n)}
    out[("set_reserve_factor", "")] = {"reserve_factor": wad(params.reserve_factor)}
    for c in params.collaterals:
        out[("configure_collateral", c.symbol)] = {
            "max_ltv": wad(c.max_ltv),
            "liq_ltv": wad(c.liq_ltv),
            "risk_factor": wad(c.risk_factor),
        }
        out[("set_pool_params", c.symbol)] = {
            "premium_step": wad(c.premium_step),
            "max_slot": c.max_slot,
            "waiting_period": c.waiting_period,
            "bid_threshold": int(c.bid_threshold * unit),
        }
        out[("set_min_bid", c.symbol)] = {"min_bid": int(c.min_bid * unit)}
    out[("set_risk_limits", "")] = {
        "base_risk_factor": wad(params.base_risk_factor),
        "max_risk_ratio": wad(params.max_risk_ratio),
        "liq_risk_ratio": wad(params.liq_risk_ratio),
        "max_leverage": wad(params.max_leverage),
        "liq_leverage": wad(params.liq_leverage),
    }
    out[("set_close_ratio", "")] = {"close_ratio": wad(params.close_ratio)}
    out[("set_dust_value", "")] = {"dust_value": wad(params.dust_value)}
    out[("set_fees", "")] = {"keeper_fee": wad(params.keeper_fee), "protocol_fee": wad(params.protocol_fee)}
    a = params.auction
    if a is not None and system.auction is not None:
        out[("set_curve", "")] = {"cut": wad(a.cut), "step": a.step, "floor": wad(a.floor)}
        out[("set_reset_rules", "")] = {"tail": a.tail, "cusp": wad(a.cusp), "buf": wad(a.buf)}
        out[("set_incentive", "")] = {"tip": int(a.tip * unit), "chip": wad(a.chip)}
        out[("set_dust", "")] = {"dust": int(a.dust * unit)}
    return out


RATE_MODEL = (("base_rate", "base_rate"), ("slope_low", "slope_low"), ("slope_high", "slope_high"), ("kink", "kink"))


def diff(system: System, params: SystemParams, project: Any) -> list[Row]:
    """Every parameter the file sets, file vs chain (the chain's target for a threshold that ramps)."""
    rows: list[Row] = []
    for (function, symbol), wanted in file_values(params, system).items():
        setter = SETTERS[function]
        asset = system.tokens[symbol] if symbol else None
        in_force: dict[str, int] = {}
        ramp_end = 0
        if function == "configure_collateral":
            chain_values, in_force, ramp_end = collateral_target(system, asset)
        elif function == "set_risk_limits":
            chain_values, in_force, ramp_end = risk_limits_target(system)
        elif function == "set_pool_params":
            # dev: a queued change of terms shows like a ramp: the target, the value in force, when it applies
            chain_values, in_force, ramp_end = pool_target(system, asset)
        else:
            chain_values = current(system, function, asset)
        for name, unit in setter.parameters:
            ramping = ramp_end and name in in_force and in_force[name] != chain_values[name]
            rows.append(
                Row(
                    setter.contract,
                    name,
                    symbol,
                    unit,
                    wanted[name],
                    chain_values[name],
                    function,
                    in_force[name] if ramping else None,
                    ramp_end if ramping else 0,
                )
            )
    model = project.KinkedRateModel.at(system.vault.rate_model())
    for name, attr in RATE_MODEL:
        rows.append(Row("KinkedRateModel", name, "", "wad", wad(getattr(params, name)), getattr(model, attr)(), ""))
    if params.auction is not None and system.auction is None:
        rows.append(Row("DutchAuction", "auction house", "", "int", 1, 0, ""))
    return rows


def reconcile(system: System, rows: list[Row]) -> tuple[list[Call], list[str]]:
    """The setter calls that make the chain match the file, each checked; and what no setter can change."""
    calls: list[Call] = []
    unreconcilable: list[str] = []
    groups: dict[tuple[str, str], dict[str, int]] = {}
    for row in rows:
        if not row.differs:
            continue
        if not row.setter:
            unreconcilable.append(
                f"{row.contract} {row.parameter}: no setter; "
                + (
                    "deploy a KinkedRateModel with the file's values and run `admin set-rate-model ADDRESS`"
                    if row.contract == "KinkedRateModel"
                    else "deploy the auction house with `ape run deploy` parameters and wire it"
                )
            )
            continue
        groups.setdefault((row.setter, row.subject), {})[row.parameter] = row.file
    for function, symbol in list(groups):
        if function == "set_feeds":
            # dev: set_feeds resets the quorum to a majority; a file's other quorum is set again after it, and a
            # quorum the file wants at the majority needs no call of its own
            token = system.tokens[symbol]
            wanted = next(r.file for r in rows if (r.setter, r.subject) == ("set_min_sources", symbol))
            if wanted != majority(len(system.oracle.feeds(token))):
                groups[("set_min_sources", symbol)] = {"min_sources": wanted}
            else:
                groups.pop(("set_min_sources", symbol), None)
    order = list(SETTERS)
    curve, reset = groups.get(("set_curve", "")), groups.get(("set_reset_rules", ""))
    if curve is not None and reset is not None:
        # dev: the floor must stay below the cusp after each call: move whichever goes up first (as deploy does)
        floor, cusp = curve.get("floor", system.auction.floor()), reset.get("cusp", system.auction.cusp())
        _rule(
            floor < cusp,
            f"floor {show(floor, 'wad')} must be below the cusp {show(cusp, 'wad')}",
            "DutchAuction",
            "set_curve",
            "auction: floor not below cusp",
        )
        if floor >= system.auction.cusp():
            order.remove("set_curve")
            order.insert(order.index("set_reset_rules") + 1, "set_curve")
    for function in order:
        for (f, symbol), overrides in groups.items():
            if f == function:
                calls.append(_planned(system, function, symbol, overrides, calls))
    return calls, unreconcilable


def _planned(system: System, function: str, symbol: str, overrides: dict, earlier: list[Call]) -> Call:
    """A reconciling call; the auction's floor/cusp rule is checked against the calls planned before it."""
    if function == "set_min_sources" and any(c.function == "set_feeds" and c.subject == symbol for c in earlier):
        # dev: the set_feeds planned before it leaves the majority in force, not the chain's quorum of now
        asset = system.tokens[symbol]
        default = majority(len(system.oracle.feeds(asset)))
        check_bounds(system, function, overrides, symbol)
        _quorum_rules(system, asset, overrides, {"min_sources": default}, Call("", "", (), subject=symbol))
        return _quorum_restore(system, asset, symbol, overrides["min_sources"], default)
    if function in ("set_curve", "set_reset_rules") and any(
        c.function in ("set_curve", "set_reset_rules") for c in earlier
    ):
        # dev: `reconcile` checked floor < cusp for the pair; the chain's cusp or floor is not the one in force then
        old = current(system, function)
        new = {**old, **overrides}
        check_bounds(system, function, new)
        return _setter_call(system, function, None, symbol, new, old)
    return setter(system, function, overrides, symbol)


# ---------------------------------------------------------------- sending


def execute(system: System, calls: list[Call], sender: Any) -> list[dict]:
    """Send each call in order (each preflighted as an eth_call first); returns what each sent."""
    from ala.cli_common import send

    out = []
    for call in calls:
        receipt = send(call.method(system), *call.args, sender=sender)
        out.append({"call": call.title(), "tx": receipt.txn_hash, "block": receipt.block_number})
    return out
