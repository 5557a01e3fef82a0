"""A snapshot of a deployment: accounts nearest to liquidation, pool depth per slot, reserves, bad debt."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ala.deploy import System

WAD = 10**18
INFINITE = 2**256 - 1


def borrowers_of(system: System, start_block: int) -> list[str]:
    """Every account that ever posted collateral or borrowed, in order of first appearance."""
    seen: dict[str, None] = {}
    for event in (system.vault.CollateralAdded, system.vault.Borrowed):
        # both bounds given: with `stop=None` ape reads the first argument as the stop, and starts at the block
        # it has cached as the contract's creation (stale once a snapshot revert redeploys the same address)
        head = event.chain_manager.blocks.height
        for log in event.range(start_block, head + 1):
            seen.setdefault(log.account, None)
    return list(seen)


def _ratio(x: int) -> float | None:
    return None if x >= INFINITE else round(x / WAD, 6)


def status(system: System, nearest: int = 10) -> dict[str, Any]:
    params = system.params
    base_unit = Decimal(10**params.base.decimals)
    accounts = borrowers_of(system, system.block)
    rows = []
    for start in range(0, len(accounts), 500):
        batch = accounts[start : start + 500]
        for account, h in zip(batch, system.lens.accounts_health(batch), strict=True):
            if h.debt_value:
                rows.append(
                    {
                        "account": account,
                        "health": _ratio(h.health),
                        "risk_ratio": _ratio(h.risk_ratio),
                        "leverage": _ratio(h.leverage),
                        "collateral_value": round(h.collateral_value / WAD, 2),
                        "debt_value": round(h.debt_value / WAD, 2),
                        "liquidatable": bool(h.liquidatable),
                    }
                )
    rows.sort(key=lambda r: r["health"] if r["health"] is not None else float("inf"))
    pools: dict[str, list[dict[str, Any]]] = {}
    for c in params.collaterals:
        token = system.tokens[c.symbol]
        slots = []
        for slot in range(c.max_slot + 1):
            info = system.queue.slot_info(token, slot)
            if info.active or info.pending:
                slots.append(
                    {
                        "slot": slot,
                        "premium": round(info.premium / WAD, 6),
                        "active": float(Decimal(info.active) / base_unit),
                        "pending": float(Decimal(info.pending) / base_unit),
                    }
                )
        pools[c.symbol] = slots
    vault = system.vault
    return {
        "borrowers": len(rows),
        "liquidatable": sum(r["liquidatable"] for r in rows),
        "nearest": rows[:nearest],
        "pools": pools,
        "total_assets": float(Decimal(vault.totalAssets()) / base_unit),
        "total_debt": float(Decimal(vault.total_debt()) / base_unit),
        "reserves": float(Decimal(vault.reserves()) / base_unit),
        "bad_debt": float(Decimal(vault.total_bad_debt()) / base_unit),
        "utilisation": round(vault.utilisation() / WAD, 6),
        "borrow_rate": round(vault.borrow_rate() / WAD, 6),
    }
