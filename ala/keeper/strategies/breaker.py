"""Circuit breakers: `poke(asset)` so that paused liquidations resume once a move is confirmed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ala import abi
from ala.keeper.config import hex_int
from ala.keeper.report import StepReport
from ala.keeper.sender import Outcome, TxRequest
from ala.keeper.strategies import estimate_gas, record_sends
from ala.logs import fields
from ala.rpc import RpcError

if TYPE_CHECKING:
    from ala.keeper.runner import Keeper


class BreakerStrategy:
    """Poke the oracle (`poke(asset)`) for every collateral whose circuit breaker is on.

    While an asset's breaker is on, liquidations against it pause when its price jumps beyond the tolerance
    from the last accepted price, and resume only once a poke, at least `confirmation_delay` after the poke
    that tripped the breaker, still sees the move. So the keeper pokes after every feed update (the accepted
    price follows moves within tolerance, and a jump starts its confirmation clock at once), whenever an
    asset reads paused without having tripped yet, and once a trip's delay has passed (the poke that accepts
    the new price). A mined poke schedules a full scan: liquidations may have resumed.
    """

    def __init__(self, keeper: Keeper) -> None:
        self.k = keeper
        self.oracle: str | None = None
        self.assets: list[str] | None = None  # collaterals whose breaker is on; None: read them again
        self.price_seen = False

    def run(self, report: StepReport) -> None:
        k = self.k
        assert k.rpc is not None and k.txs is not None
        if self.oracle is None:
            self.oracle = k.chain.oracle or k.chain.resolve_oracle()
        if self.assets is None:
            assets = k.collateral_assets()
            answers = k.rpc.batch([k.chain.tolerance(a) for a in assets])
            self.assets = [
                a
                for a, t in zip(assets, answers, strict=True)
                if not isinstance(t, RpcError) and abi.TOLERANCE.decode(t)
            ]
        if not self.assets:
            self.price_seen = False
            return
        busy = {tx.req.collateral for tx in k.txs.inflight.values() if tx.kind == "poke" and tx.req is not None}
        assets = [a for a in self.assets if a not in busy]
        now = hex_int(k.head.get("timestamp"))
        reads = []
        for a in assets:
            reads += [k.chain.breaker_status(a)]
            reads += [k.chain.liquidations_paused(a)]
        answers = k.rpc.batch(reads)
        due = []
        for i, asset in enumerate(assets):
            status, paused = answers[2 * i], answers[2 * i + 1]
            if isinstance(status, RpcError) or isinstance(paused, RpcError):
                continue  # e.g. no valid price source right now: a poke would revert too
            s = abi.BREAKER_STATUS_OF.decode(status)
            jumped = abi.LIQUIDATIONS_PAUSED.decode(paused) and not s.tripped
            confirmable = s.tripped and s.confirmable_at <= now
            unanchored = s.last_accepted == 0  # just turned on: the first poke sets the price jumps count from
            if self.price_seen or jumped or confirmable or unanchored:
                due.append(asset)
        self.price_seen = False
        if not due:
            return
        datas = [k.chain.poke(a)[1] for a in due]
        reqs = []
        for asset, data, gas in zip(due, datas, estimate_gas(k, self.oracle, datas), strict=True):
            if isinstance(gas, RpcError):
                k.log.info("poke skipped", extra=fields(collateral=asset, reason=gas.reason))
                continue
            reqs.append(TxRequest("poke", self.oracle, data, gas, collateral=asset))
        if not reqs:
            return
        results = k.txs.send(reqs)
        sent = record_sends(k, "poke", reqs, results)
        for tx in sent:
            k.log.info("poke sent", extra=fields(collateral=tx.req.collateral if tx.req else None, tx=tx.hashes[0]))
        report.pokes_sent += len(sent)

    def on_outcome(self, o: Outcome, report: StepReport) -> None:
        if o.status == "mined":
            self.k.liquidations.full_scan_needed()  # a confirmation may have resumed liquidations
