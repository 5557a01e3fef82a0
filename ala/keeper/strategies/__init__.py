"""One strategy per action; what they share: gas estimates and the actions log of sends."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ala.keeper.config import hex_int, is_race
from ala.keeper.sender import InFlight, TxRequest
from ala.rpc import RpcError

if TYPE_CHECKING:
    from ala.keeper.runner import Keeper


def estimate_gas(k: Keeper, to: str, datas: list[str]) -> list[int | RpcError]:
    """The gas limit of each call to `to` in one batch (estimate x margin + 20,000, capped), or the error of a call
    that would revert."""
    assert k.rpc is not None and k.txs is not None
    answers = k.rpc.batch([k.chain.estimate_gas(to, d) for d in datas])
    cap = k.txs.gas_cap
    return [a if isinstance(a, RpcError) else min(int(hex_int(a) * k.config.gas_margin) + 20_000, cap) for a in answers]


def record_sends(k: Keeper, kind: str, reqs: list[TxRequest], results: list[InFlight | str]) -> list[InFlight]:
    """Write one action row per send attempt; tie each accepted transaction to its row."""
    assert k.store is not None
    rows: list[tuple[str, str, dict[str, Any]]] = []
    for req, result in zip(reqs, results, strict=True):
        base = {"account": req.account, "collateral": req.collateral, "bid_ids": req.bid_ids}
        if isinstance(result, InFlight):
            rows.append((kind, "sent", {**base, "tx_hash": result.hashes[0], "nonce": result.nonce}))
        else:
            rows.append((kind, "skipped" if is_race(result) else "failed", {**base, "detail": result}))
    ids = k.store.record_many(rows)
    sent = []
    for action_id, result in zip(ids, results, strict=True):
        if isinstance(result, InFlight):
            result.action_id = action_id
            sent.append(result)
    return sent
