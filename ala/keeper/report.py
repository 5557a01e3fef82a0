"""What one step of the keeper did (`StepReport`), for logs, `--once` output, metrics and benchmarks."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class StepReport:
    """What one step (or, merged, one `run_once`) did."""

    keeper_id: str = ""
    block: int = 0
    logs: int = 0
    new_borrowers: int = 0
    new_bids: int = 0
    price_updates: int = 0
    full_scan: bool = False
    scanned: int = 0
    scan_seconds: float = 0.0
    liquidatable: int = 0
    liquidations_sent: int = 0
    liquidations_mined: int = 0
    liquidations_skipped: int = 0
    liquidations_failed: int = 0
    activations_sent: int = 0
    bids_activated: int = 0
    pokes_sent: int = 0
    takes_sent: int = 0
    redos_sent: int = 0
    settles_sent: int = 0
    approvals_sent: int = 0
    bumped: int = 0
    gas_used: int = 0
    # liquidations left alone, by reason ("race", "unprofitable", "no bids", "simulation reverted", ...)
    skips: dict[str, int] = field(default_factory=dict)
    # timestamps (time.time(), for reports and benchmarks) of the first send and the last receipt of this step
    first_sent_at: float | None = None
    last_mined_at: float | None = None
    # monotonic clock: when this step first saw a price round, and when it sent its first liquidation
    price_seen_at: float | None = None
    first_liquidation_at: float | None = None
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    # the step ran to its end without an RPC error (for `run_once`: its last round did)
    complete: bool = False

    def skip(self, reason: str, n: int = 1) -> None:
        """Count `n` liquidations left alone for `reason` (also in `liquidations_skipped`)."""
        self.liquidations_skipped += n
        self.skips[reason] = self.skips.get(reason, 0) + n

    @property
    def did_work(self) -> bool:
        return bool(
            self.liquidations_sent
            or self.activations_sent
            or self.pokes_sent
            or self.takes_sent
            or self.redos_sent
            or self.settles_sent
            or self.approvals_sent
        )

    def merge(self, other: StepReport) -> None:
        for name in (
            "logs",
            "new_borrowers",
            "new_bids",
            "price_updates",
            "scanned",
            "scan_seconds",
            "liquidations_sent",
            "liquidations_mined",
            "liquidations_skipped",
            "liquidations_failed",
            "activations_sent",
            "bids_activated",
            "pokes_sent",
            "takes_sent",
            "redos_sent",
            "settles_sent",
            "approvals_sent",
            "bumped",
            "gas_used",
            "seconds",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.block = max(self.block, other.block)
        self.liquidatable = max(self.liquidatable, other.liquidatable)
        self.full_scan = self.full_scan or other.full_scan
        self.complete = other.complete
        if other.first_sent_at and not self.first_sent_at:
            self.first_sent_at = other.first_sent_at
        if other.last_mined_at:
            self.last_mined_at = max(self.last_mined_at or 0, other.last_mined_at)
        self.errors.extend(other.errors)
        for reason, n in other.skips.items():
            self.skips[reason] = self.skips.get(reason, 0) + n

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def brief(report: StepReport) -> dict[str, Any]:
    """The non-empty fields of a report, for a log line."""
    keep = {}
    for k, v in report.to_dict().items():
        if k in ("keeper_id", "first_sent_at", "last_mined_at", "price_seen_at", "first_liquidation_at") or v in (
            0,
            0.0,
            False,
            None,
            [],
            {},
        ):
            continue
        keep[k] = round(v, 3) if isinstance(v, float) else v
    return keep
