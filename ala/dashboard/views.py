"""What each dashboard page shows, as plain JSON-ready dicts, read through the same `ala` functions as the commands.

Pools: `slot_info` of every slot (the bars), the cumulative collateral the pools would buy down to each discount,
the oracle price, breaker state and volatility, and `ala.bid.pools` for what a liquidation of a given size would
take. At risk: `ala.watch.snapshot`. Account: `ala.account.account_report`. Liquidations: the engine's and the
vault's events. Bids: `ala.bid.list_bids`. Every view names the block it was read at, so a page can say which
block it shows.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from ala import bid as bids
from ala.account import account_report
from ala.bid import WAD, whole
from ala.deploy import System
from ala.watch import hourly_volatility, snapshot

# the liquidation whose slices the Pools page previews, in whole base tokens
DEFAULT_PREVIEW = 25_000


def _head(system: System) -> dict[str, int]:
    head = system.vault.chain_manager.blocks.head
    return {"block": head.number, "timestamp": head.timestamp}


def pools_view(system: System, preview_size: int = DEFAULT_PREVIEW) -> dict[str, Any]:
    """Per collateral: every slot's active and pending base (`slot_info`), the cumulative curve, the oracle."""
    head = _head(system)  # first: a page that shows block n shows data read at n or later, never earlier
    base_decimals = system.params.base.decimals
    base_price = Decimal(system.oracle.price(system.base)) / WAD
    volatility = hourly_volatility(system)
    out = []
    for symbol, token in system.collaterals.items():
        decimals = system.params.collateral(symbol).decimals
        params = system.queue.pool_params(token)
        price = Decimal(system.oracle.price(token)) / WAD
        breaker = system.oracle.breaker_status(token)
        slots = []
        bought = Decimal(0)
        for slot in range(params.max_slot + 1):
            info = system.queue.slot_info(token, slot)
            slot_price = price * (WAD - info.premium) / WAD
            # what this slot's active base buys at its price: base value / slot price (whole collateral tokens)
            if slot_price:
                bought += Decimal(info.active) / 10**base_decimals * base_price / slot_price
            slots.append(
                {
                    "slot": slot,
                    "premium": info.premium / WAD,
                    "price": float(slot_price),
                    "active": whole(info.active, base_decimals),
                    "pending": whole(info.pending, base_decimals),
                    "cumulative_collateral": float(round(bought, decimals)),
                }
            )
        preview = bids.pools(system, symbol, preview_size * 10**base_decimals)
        takes = {row["slot"]: {"takes": row["takes"], "gives": row["gives"]} for row in preview["slots"]}
        for row in slots:
            row.update(takes.get(row["slot"], {"takes": "0", "gives": "0"}))
        out.append(
            {
                "symbol": symbol,
                "decimals": decimals,
                "oracle_price": float(price),
                "liquidations_paused": preview["liquidations_paused"],
                "breaker": {
                    "tolerance": system.oracle.tolerance(token) / WAD,
                    "tripped": bool(breaker.tripped),
                    "confirmable_at": breaker.confirmable_at if breaker.tripped else None,
                },
                "volatility": volatility[symbol],
                "usable_liquidity": preview["usable_liquidity"],
                "preview": {k: preview[k] for k in ("size", "raised", "collateral_sold", "short")},
                "slots": slots,
            }
        )
    return {**head, "base": system.params.base.symbol, "collaterals": out}


def at_risk_view(system: System) -> dict[str, Any]:
    """`ape run watch --once --json` (its block and timestamp are the head it read first)."""
    return snapshot(system)


def account_view(system: System, address: str) -> dict[str, Any]:
    return {**_head(system), **account_report(system, address)}


def bids_view(system: System, owner: str) -> dict[str, Any]:
    return {**_head(system), "owner": owner, "bids": bids.list_bids(system, owner)}


class History:
    """The liquidation history from events, read once and then from where the last read stopped."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.scanned = system.block - 1
        self.rows: list[dict[str, Any]] = []
        self.cleared: list[dict[str, Any]] = []  # one point per event that cleared debt, in block order
        self._lock = threading.Lock()
        self._times: dict[int, int] = {}

    def _time(self, block: int) -> int:
        if block not in self._times:
            self._times[block] = self.system.vault.chain_manager.blocks[block].timestamp
        return self._times[block]

    def update(self) -> None:
        with self._lock:
            system = self.system
            head = system.vault.chain_manager.blocks.height
            if head <= self.scanned:
                return
            start, end = self.scanned + 1, head + 1
            base = system.params.base
            auctioned = {str(log.transaction_hash) for log in system.engine.AuctionOpened.range(start, end)}
            fills: dict[str, list[int]] = {}
            for log in system.queue.SlotFilled.range(start, end):
                fills.setdefault(str(log.transaction_hash), []).append(int(log.slot))
            events: list[tuple[int, int, dict[str, Any], dict[str, Any] | None]] = []
            for log in system.engine.Liquidation.range(start, end):
                symbol = system.symbol_of(log.collateral)
                tx = str(log.transaction_hash)
                slots = sorted(set(fills.get(tx, []))) or (
                    list(range(log.first_slot, log.last_slot + 1)) if log.funds else []
                )
                row = {
                    "block": log.block_number,
                    "time": self._time(log.block_number),
                    "account": log.account,
                    "collateral": symbol,
                    "repaid": whole(log.repaid, base.decimals),
                    "seized": whole(log.seized, system.params.collateral(symbol).decimals),
                    "slots": slots,
                    "keeper": log.keeper,
                    "via": "queue + auction" if tx in auctioned else "queue",
                    "bad_debt": whole(log.bad_debt, base.decimals),
                    "tx": tx,
                }
                point = {"time": row["time"], "queue": float(Decimal(log.repaid) / 10**base.decimals)}
                events.append((log.block_number, log.log_index, row, point))
            if system.auction is not None:
                for log in system.engine.AuctionSettled.range(start, end):
                    point = {
                        "time": self._time(log.block_number),
                        "auction": float(Decimal(log.repaid) / 10**base.decimals),
                    }
                    events.append((log.block_number, log.log_index, {}, point))
            for log in system.vault.BadDebtWrittenOff.range(start, end):
                point = {
                    "time": self._time(log.block_number),
                    "write_off": float(Decimal(log.amount) / 10**base.decimals),
                }
                events.append((log.block_number, log.log_index, {}, point))
            events.sort(key=lambda e: (e[0], e[1]))
            for _, _, row, point in events:
                if row:
                    self.rows.append(row)
                if point:
                    self.cleared.append(point)
            self.scanned = head

    def view(self) -> dict[str, Any]:
        head = _head(self.system)
        self.update()
        totals = {"queue": 0.0, "auction": 0.0, "write_off": 0.0}
        # cumulative per mechanism, one point per block time (the last of that time), from zero a minute before
        # the first: a chart of one block's liquidations still has a rise to draw
        series: list[dict[str, Any]] = []
        if self.cleared:
            series.append({"time": self.cleared[0]["time"] - 60, **totals})
        for point in self.cleared:
            for key in totals:
                totals[key] += point.get(key, 0.0)
            if series and series[-1]["time"] == point["time"]:
                series.pop()
            series.append({"time": point["time"], **totals})
        return {
            **head,
            "base": self.system.params.base.symbol,
            "liquidations": list(reversed(self.rows)),
            "cleared": series,
            "totals": totals,
        }
