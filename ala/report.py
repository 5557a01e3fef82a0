"""What a run did, from the chain's own events: the demo's JSON report and its picture."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ala.bulk import Rpc
from ala.deploy import System

WAD = 10**18


@dataclass
class Timeline:
    """One row per replayed price step."""

    hours: list[float] = field(default_factory=list)
    prices: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    liquidations: list[int] = field(default_factory=list)
    repaid: list[float] = field(default_factory=list)
    pool_depth: list[float] = field(default_factory=list)
    liquidatable: list[int] = field(default_factory=list)
    reaction_seconds: list[float] = field(default_factory=list)


def _fmt(x: Decimal | float, places: int = 6) -> float:
    return round(float(x), places)


def build_report(
    system: System,
    rpc: Rpc,
    start_block: int,
    borrowers: list[str],
    timeline: Timeline,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    params = system.params
    base_unit = Decimal(10**params.base.decimals)
    end_block = int(rpc.call("eth_blockNumber"), 16)
    liquidations = list(system.engine.Liquidation.range(start_block, end_block + 1))
    fills = list(system.queue.SlotFilled.range(start_block, end_block + 1))
    hashes = sorted({str(log.transaction_hash) for log in liquidations})
    receipts = rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes]) if hashes else []
    gas = sorted(int(r["gasUsed"], 16) for r in receipts)

    steps = {c.symbol: Decimal(c.premium_step) for c in params.collaterals}
    per_slot: dict[str, dict[int, dict[str, float]]] = defaultdict(dict)
    weighted_premium = Decimal(0)
    base_spent = Decimal(0)
    for f in fills:
        symbol = system.symbol_of(f.collateral)
        decimals = params.collateral(symbol).decimals
        row = per_slot[symbol].setdefault(int(f.slot), {"collateral_sold": 0.0, "base_spent": 0.0})
        row["collateral_sold"] += float(Decimal(f.collateral_bought) / 10**decimals)
        row["base_spent"] += float(Decimal(f.base_spent) / base_unit)
        weighted_premium += Decimal(f.base_spent) * steps[symbol] * int(f.slot)
        base_spent += Decimal(f.base_spent)

    left = 0
    for start in range(0, len(borrowers), 500):
        left += sum(bool(x) for x in system.lens.liquidatable(borrowers[start : start + 500]))

    repaid = sum(Decimal(log.repaid) for log in liquidations) / base_unit
    keeper_fees = sum(Decimal(log.keeper_fee) for log in liquidations) / base_unit
    protocol_fees = sum(Decimal(log.protocol_fee) for log in liquidations) / base_unit
    bad_debt = Decimal(system.vault.total_bad_debt()) / base_unit
    report = {
        "network": extra.get("network") if extra else None,
        "borrowers": len(borrowers),
        "liquidations": len(liquidations),
        "accounts_liquidated": len({log.account for log in liquidations}),
        "debt_repaid": _fmt(repaid),
        "funds_raised": _fmt(base_spent / base_unit),
        "keeper_fees": _fmt(keeper_fees),
        "protocol_fees": _fmt(protocol_fees),
        "average_premium": _fmt(weighted_premium / base_spent if base_spent else 0, 8),
        "bad_debt": _fmt(bad_debt),
        "accounts_left_liquidatable": left,
        "collateral_sold_per_slot": {s: {str(k): v for k, v in sorted(rows.items())} for s, rows in per_slot.items()},
        "gas_per_liquidation": {
            "mean": round(sum(gas) / len(gas)) if gas else 0,
            "min": gas[0] if gas else 0,
            "max": gas[-1] if gas else 0,
        },
        "reserves": _fmt(Decimal(system.vault.reserves()) / base_unit),
        "timeline": {
            "hours": timeline.hours,
            "prices": dict(timeline.prices),
            "liquidations": timeline.liquidations,
            "repaid": timeline.repaid,
            "pool_depth": timeline.pool_depth,
            "liquidatable": timeline.liquidatable,
        },
    }
    report.update(_fallbacks(system, start_block, end_block, repaid, bad_debt))
    if extra:
        report.update(extra)
    return report


def _fallbacks(system: System, start: int, end: int, queue_repaid: Decimal, bad_debt: Decimal) -> dict[str, Any]:
    """What the Dutch auctions and the circuit breakers did, and how much debt each mechanism cleared."""
    base_unit = Decimal(10**system.params.base.decimals)
    auction_repaid = Decimal(0)
    out: dict[str, Any] = {}
    if system.auction is not None:
        opened = list(system.engine.AuctionOpened.range(start, end + 1))
        settled = list(system.auctions.AuctionSettled.range(start, end + 1))
        # the settlement has the engine close an account its auction left with dust: `write_off`, collateral 0x0
        closes = [log for log in system.engine.Liquidation.range(start, end + 1) if int(str(log.collateral), 16) == 0]
        taken = list(system.auction.AuctionTaken.range(start, end + 1))
        redone = list(system.auction.AuctionRedone.range(start, end + 1))
        auction_repaid = sum(Decimal(log.repaid) for log in settled) / base_unit
        out["auctions"] = {
            "opened": len(opened),
            "finished": sum(bool(log.finished) for log in settled),
            "still_running": system.auction.running_auctions(),
            "takes": len(taken),
            "redos": len(redone),
            "debt_repaid": _fmt(auction_repaid),
            "refunded_to_borrowers": _fmt(sum(Decimal(log.refunded) for log in settled) / base_unit),
            "written_off_at_settlement": _fmt(sum(Decimal(log.bad_debt) for log in closes) / base_unit),
        }
    trips = list(system.oracle.BreakerTripped.range(start, end + 1))
    confirmed = list(system.oracle.PriceConfirmed.range(start, end + 1))
    out["breakers"] = {
        "trips": len(trips),
        "trips_per_asset": {s: sum(system.symbol_of(t.asset) == s for t in trips) for s in system.collaterals},
        "confirmations": len(confirmed),
        "overrides": sum(bool(c.override) for c in confirmed),
    }
    out["debt_cleared_by"] = {
        "bid_queue": _fmt(queue_repaid),
        "dutch_auctions": _fmt(auction_repaid),
        "bad_debt_write_off": _fmt(bad_debt),
    }
    return out


def write_report(report: dict[str, Any], directory: Path, name: str = "demo") -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / f"{name}.json"
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    png_path = directory / f"{name}.png"
    plot(report, png_path)
    return json_path, png_path


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = report["timeline"]
    hours = t["hours"]
    fig, (ax1, ax2, ax3) = plt.subplots(3, 1, figsize=(10, 10), sharex=True)
    for symbol, series in t["prices"].items():
        first = series[0] if series and series[0] else 1
        ax1.plot(hours, [100 * p / first for p in series], label=symbol)
    ax1.set_ylabel("price, % of start")
    ax1.set_title(f"ALA demo on {report.get('network') or 'anvil'}: {report.get('scenario', '')}")
    ax1.legend(loc="lower left")
    ax1.grid(alpha=0.3)

    ax2.bar(hours, t["liquidations"], width=0.8, color="tab:red", label="liquidations per step")
    ax2.set_ylabel("liquidations")
    ax2b = ax2.twinx()
    ax2b.plot(hours, t["repaid"], color="black", label="cumulative debt repaid")
    ax2b.set_ylabel("debt repaid (base)")
    ax2.grid(alpha=0.3)
    ax2.legend(loc="upper left")
    ax2b.legend(loc="upper right")

    ax3.plot(hours, t["pool_depth"], color="tab:green", label="usable bid liquidity")
    ax3.set_ylabel("pool depth (base)")
    ax3.set_xlabel("hours")
    ax3.grid(alpha=0.3)
    ax3.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
