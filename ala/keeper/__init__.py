"""The ALA keeper: liquidates unhealthy accounts through the bid queue, activates due bids, pokes circuit
breakers and drives Dutch auctions; built to run against a real network (after makerdao/auction-keeper and
ApeWorX silverback).

The package, one seam per concern:

    runner.py       `Keeper`: lifecycle (startup, step, run, run_once, shutdown) and `serve` (signals)
    chain.py        `ChainReader`: every contract call the keeper makes, pinned to the step's block hash
    discovery.py    logs -> borrowers, bids, parameter changes, price rounds; feed proxies resolved to
                    their aggregators and followed through repoints and `FeedsSet`; reorganisations
    sender.py       `TxManager`: nonces, fees (eth_feeHistory), batched sends, receipts, bumps, gap fillers
    store.py        `Store`: the SQLite checkpoint, borrowers, bids, actions log and claims
    strategies/     one module per action: liquidation, activation, breaker, auction
    metrics.py      Prometheus metrics and /healthz
    cli.py          the one click command behind `ala-keeper`, `python -m ala.keeper` and `ape run keeper`

Keys: `KeeperConfig.private_key` is a hex string held in memory only (never logged, never written); the
command line reads it from the environment variable named by `--key-env` (default `ALA_KEEPER_PRIVATE_KEY`).

Exit codes: 0 on a clean stop (or a `--once` cycle that completed), 1 when `--once` could not complete (a
node error, or a signal), 2 on a configuration error.
"""

from ala.keeper.config import RACE_REASONS, FeeConfig, KeeperConfig, KeeperError
from ala.keeper.report import StepReport
from ala.keeper.runner import Keeper, serve
from ala.keeper.sender import InFlight, Outcome, TxManager, TxRequest

__all__ = [
    "RACE_REASONS",
    "FeeConfig",
    "InFlight",
    "Keeper",
    "KeeperConfig",
    "KeeperError",
    "Outcome",
    "StepReport",
    "TxManager",
    "TxRequest",
    "serve",
]
