"""Counters of the state machine campaigns, printed at the end of the session (`make audit` runs with -s)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

# "attacker": (move, outcome) -> transactions the attacker sent, summed over both machines' runs
RUN_SUMMARY: dict = {"steps": 0, "examples": 0, "seconds": 0.0, "stats": {}, "attacker": Counter()}


def attacker_table(moves: Counter) -> list[str]:
    """The attacker's moves by kind: transactions sent, how many succeeded, and each revert reason's count."""
    if not moves:
        return []
    kinds = sorted({kind for kind, _ in moves})
    width = max(len(k) for k in kinds)
    lines = [f"  {'attacker move':<{width}}  {'txs':>6}  {'ok':>6}  reverts"]
    for kind in kinds:
        outcomes = {outcome: n for (k, outcome), n in moves.items() if k == kind}
        ok = outcomes.pop("succeeded", 0)
        total = ok + sum(outcomes.values())
        reverts = ", ".join(f"{reason.removeprefix('revert: ')} x{n}" for reason, n in sorted(outcomes.items()))
        lines.append(f"  {kind:<{width}}  {total:>6}  {ok:>6}  {reverts or '-'}")
    return lines


def write_attacker_table(write: Callable[[str], object], summary: dict) -> None:
    for line in attacker_table(summary.get("attacker", Counter())):
        write(line)
