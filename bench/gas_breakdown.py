"""Where the gas of one transaction goes, read from Anvil's traces.

The split separates what the design of record fixes whatever our contracts do (the transaction's intrinsic cost,
the first touch of every contract called, the ERC-20 tokens, the price feeds, the rate model) from what our own
contracts spend: storage reads and writes, events, and everything else (code, memory, ABI, call overhead).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ala.bulk import Rpc

INTRINSIC = 21_000
CALLDATA_ZERO, CALLDATA_NONZERO = 4, 16
COLD_ACCOUNT = 2_600  # EIP-2929: first call to an address in a transaction
COLD_SLOAD = 2_100
CALLS = ("CALL", "STATICCALL", "DELEGATECALL", "CALLCODE")
PRECOMPILES = 0x100  # addresses below are precompiles, always warm


def _calls_from_ours(node: dict, ours: set[str]) -> Iterator[dict]:
    """Every call our contracts make, at any depth; calls made inside other contracts are part of those."""
    for child in node.get("calls", []):
        yield child
        if child["to"].lower() in ours:
            yield from _calls_from_ours(child, ours)


def breakdown(rpc: Rpc, tx_hash: str, ours: set[str], others: dict[str, str]) -> dict[str, int]:
    """Gas of transaction `tx_hash` by cause. `ours`: our contracts' addresses; `others`: address -> category
    ("ERC-20 tokens", "price feeds", ...) of every other contract it calls. The rows add up to the gas used."""
    ours = {a.lower() for a in ours}
    others = {a.lower(): c for a, c in others.items()}
    tx, receipt = rpc.batch([("eth_getTransactionByHash", [tx_hash]), ("eth_getTransactionReceipt", [tx_hash])])
    total = int(receipt["gasUsed"], 16)
    data = bytes.fromhex(tx["input"][2:])
    rows: dict[str, int] = {
        "intrinsic + calldata": INTRINSIC + sum(CALLDATA_NONZERO if b else CALLDATA_ZERO for b in data),
    }

    tree = rpc.call("debug_traceTransaction", [tx_hash, {"tracer": "callTracer"}])
    calls = list(_calls_from_ours(tree, ours))
    callees = {c["to"].lower() for c in calls}
    touched = {a for a in callees if int(a, 16) >= PRECOMPILES and a != tx["to"].lower()}
    rows[f"first call to each contract ({len(touched)} x {COLD_ACCOUNT:,})"] = len(touched) * COLD_ACCOUNT
    for call in calls:
        to = call["to"].lower()
        if to not in ours:
            category = others.get(to, "other contracts")
            rows[category] = rows.get(category, 0) + int(call["gasUsed"], 16)

    ops = _our_ops(rpc, tx_hash, tx["to"].lower(), ours)
    rows[f"our contracts: cold storage reads ({ops['cold']})"] = ops["cold"] * COLD_SLOAD
    rows[f"our contracts: warm storage reads ({ops['warm']})"] = ops["warm_gas"]
    rows[f"our contracts: storage writes ({ops['writes']})"] = ops["write_gas"]
    rows[f"our contracts: events ({ops['logs']})"] = ops["log_gas"]
    if ops["refund"]:
        # EIP-3529 caps the refund at a fifth of the gas before it, i.e. a quarter of the gas after
        rows["storage refund"] = -min(ops["refund"], total // 4)
    rows["our contracts: code, memory, ABI, call overhead"] = total - sum(rows.values())
    rows["total"] = total
    return rows


def _our_ops(rpc: Rpc, tx_hash: str, target: str, ours: set[str]) -> dict[str, int]:
    """Storage and log opcodes executed in the frames of our contracts (delegate calls keep their caller)."""
    trace: Any = rpc.call(
        "debug_traceTransaction", [tx_hash, {"disableStorage": True, "enableMemory": False, "disableStack": False}]
    )
    counts = {"cold": 0, "warm": 0, "warm_gas": 0, "writes": 0, "write_gas": 0, "logs": 0, "log_gas": 0}
    steps = trace["structLogs"]
    # the receipt's gas is net of the storage refund, which the steps do not show
    counts["refund"] = steps[-1].get("refund", 0) if steps else 0
    frame_of = {1: target}
    for step in steps:
        depth, op, cost = step["depth"], step["op"], step["gasCost"]
        if op in CALLS:
            callee = "0x" + step["stack"][-2][2:].rjust(40, "0")[-40:]
            frame_of[depth + 1] = frame_of[depth] if op in ("DELEGATECALL", "CALLCODE") else callee.lower()
            continue
        if frame_of.get(depth) not in ours:
            continue
        if op == "SLOAD":
            if cost >= COLD_SLOAD:
                counts["cold"] += 1
            else:
                counts["warm"] += 1
                counts["warm_gas"] += cost
        elif op == "SSTORE":
            counts["writes"] += 1
            counts["write_gas"] += cost
        elif op.startswith("LOG"):
            counts["logs"] += 1
            counts["log_gas"] += cost
    return counts


def split(rows: dict[str, int]) -> tuple[int, int, int]:
    """(gas the design fixes, gas our contracts spend, of which storage reads and writes) of a breakdown."""
    ours = {k: v for k, v in rows.items() if k.startswith("our contracts") or k == "storage refund"}
    fixed = sum(v for k, v in rows.items() if k not in ours and k != "total")
    storage = sum(v for k, v in ours.items() if "storage" in k)
    return fixed, sum(ours.values()), storage
