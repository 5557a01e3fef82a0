"""Every borrower ranked by how far he is from liquidation, and how many standard deviations of one hour's price
move that distance is.

Distance is the smallest price drop of any one collateral that makes the account liquidatable with the other
prices held (`ala.account.liquidation_price`); a liquidatable account has distance 0 and ranks first.

The oracle's volatility estimate (`PriceOracle.volatility`) is the standard deviation of the return between two
observations, and the oracle observes on every poke that sees a new feed round. One hour holds about
3600 / interval observations, interval being the mean time between the asset's last feed rounds (read from its
first feed, `--observation-seconds` overrides it), so one hour's standard deviation is volatility·sqrt(3600 /
interval). `sigmas` is the drop divided by that; None while the oracle has no estimate (fewer than two
observations, or flat prices).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ala.account import Market, account_report
from ala.bid import WAD
from ala.deploy import System
from ala.status import borrowers_of

HOUR = 3600
# feed rounds read back to estimate how often the oracle observes an asset
ROUNDS_READ = 12
# a Chainlink proxy's round id is phase << 64 | the aggregator's round id
AGGREGATOR_ROUND = 2**64 - 1


def observation_interval(system: System, symbol: str) -> tuple[float, bool]:
    """Mean seconds between the last rounds of the asset's first feed, and whether it was measured (False: fewer
    than two rounds, one hour assumed)."""
    feed = (system.proxies or system.feeds)[symbol][0]
    latest = feed.latestRoundData()
    round_id, updated_at = latest[0], latest[3]
    first = round_id
    first_at = updated_at
    for back in range(1, ROUNDS_READ):
        earlier = round_id - back
        if earlier & AGGREGATOR_ROUND == 0:
            break  # the start of the feed, or of the proxy's current phase: no round 0 to read
        try:
            data = feed.getRoundData(earlier)
        except Exception:  # a real feed may not serve rounds that old; what was read so far will do
            break
        if data[3] == 0:
            break
        first, first_at = earlier, data[3]
    if first == round_id or updated_at <= first_at:
        return float(HOUR), False
    return (updated_at - first_at) / (round_id - first), True


def hourly_volatility(system: System, observation_seconds: float | None = None) -> dict[str, dict[str, Any]]:
    """Per collateral: the oracle's per-observation volatility, the interval used, and one hour's volatility."""
    out = {}
    for symbol, token in system.collaterals.items():
        per_observation = system.oracle.volatility(token) / WAD
        if observation_seconds:
            interval, measured = float(observation_seconds), True
        else:
            interval, measured = observation_interval(system, symbol)
        out[symbol] = {
            "per_observation": per_observation,
            "observation_seconds": interval,
            "measured": measured,
            "hourly": per_observation * math.sqrt(HOUR / interval),
        }
    return out


def snapshot(
    system: System,
    observation_seconds: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """One ranking of every borrower that owes something."""
    head = system.vault.chain_manager.blocks.head
    market = Market.read(system)
    volatility = hourly_volatility(system, observation_seconds)
    accounts = borrowers_of(system, system.block)
    rows = []
    for i, account in enumerate(accounts):
        if progress:
            progress(i + 1, len(accounts))
        position = system.vault.position_of(account)
        if position.debt == 0:
            continue
        report = account_report(system, account, market, position)  # one position read per account, not two
        nearest = report["nearest"]
        if report["liquidatable"]:
            distance, symbol, binding = 0.0, (nearest or {}).get("symbol"), (nearest or {}).get("binding")
        elif nearest is not None:
            distance, symbol, binding = max(0.0, nearest["drop"]), nearest["symbol"], nearest["binding"]
        else:
            distance, symbol, binding = None, None, None
        hourly = volatility[symbol]["hourly"] if symbol else 0.0
        rows.append(
            {
                "account": account,
                "liquidatable": report["liquidatable"],
                "distance": distance,
                "collateral": symbol,
                "binding": binding,
                "sigmas": distance / hourly if distance is not None and hourly else None,
                "health": report["metrics"]["health"]["value"],
                "debt_value": report["debt_value"],
                "collateral_value": report["collateral_value"],
            }
        )
    rows.sort(key=lambda r: (not r["liquidatable"], r["distance"] if r["distance"] is not None else math.inf))
    return {
        "block": head.number,
        "timestamp": head.timestamp,
        "prices": {s: p / WAD for s, p in market.prices.items()},
        "volatility": volatility,
        "borrowers": len(rows),
        "liquidatable": sum(r["liquidatable"] for r in rows),
        "accounts": rows,
    }
