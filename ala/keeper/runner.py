"""The keeper's lifecycle: startup, step, run, run_once, shutdown; and `serve`, which adds signals and metrics.

    startup()   connect, check the deployment, open the store, resolve the price feeds, resync the nonce,
                adopt the transactions this address left in flight, schedule a full scan
    step()      one cycle: receipts and fee bumps -> new head (pinned by hash) -> discovery (logs, feeds,
                reorgs) -> breaker pokes -> liquidations -> auctions -> bid activations
    run(stop)   step() every `poll_interval` seconds until `stop` is set
    run_once()  one full cycle for cron; `stop` ends it between rounds and cuts its wait for receipts short
    shutdown()  collect the receipts that arrive within `shutdown_grace` seconds (no request outlives that,
                whatever the node does), then close the store

Every interval is measured on `time.monotonic()`; wall-clock timestamps appear only in reports.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from eth_utils import to_checksum_address

from ala.keeper.chain import ChainReader
from ala.keeper.config import KeeperConfig, KeeperError, hex_int, log
from ala.keeper.discovery import Discovery
from ala.keeper.metrics import Metrics
from ala.keeper.report import StepReport, brief
from ala.keeper.sender import Outcome, TxManager
from ala.keeper.store import Store, StoreMismatch
from ala.keeper.strategies.activation import BidActivationStrategy
from ala.keeper.strategies.auction import AuctionStrategy
from ala.keeper.strategies.breaker import BreakerStrategy
from ala.keeper.strategies.liquidation import LiquidationStrategy
from ala.logs import fields
from ala.rpc import RpcClient, RpcError, Signer, TransportError


class Keeper:
    """One keeper instance: `startup()`, then `step()`, `run(stop)` or `run_once()`, then `shutdown()`."""

    def __init__(self, config: KeeperConfig) -> None:
        self.config = config
        self.signer = Signer(config.private_key)
        self.address = self.signer.address
        self.keeper_id = config.keeper_id or f"k-{self.address[2:10].lower()}"
        self.engine = to_checksum_address(config.engine)
        self.vault = to_checksum_address(config.vault)
        self.queue = to_checksum_address(config.queue)
        self.clock: Callable[[], float] = time.monotonic
        self.rpc: RpcClient | None = None
        self.chain: ChainReader = None  # type: ignore[assignment]  # set by startup()
        self.store: Store | None = None
        self.txs: TxManager | None = None
        self.chain_id = 0
        self.borrowers: list[str] = []
        self.borrower_set: set[str] = set()
        self.positions: dict[str, set[str]] = {}  # account -> collateral assets it ever posted
        self.head: dict[str, Any] = {}  # the latest block at the start of the step
        self.log = _Adapter(log, {"keeper_id": self.keeper_id})
        self.discovery = Discovery(self)
        self.liquidations = LiquidationStrategy(self)
        self.activations = BidActivationStrategy(self)
        self.breakers = BreakerStrategy(self)
        self.auctions = AuctionStrategy(self)
        self.metrics = Metrics(self.keeper_id, stale_after=max(60.0, 30 * config.poll_interval))
        self.metrics_port: int | None = None
        # called with every StepReport (live tables, benchmarks); must not raise
        self.on_report: Callable[[StepReport], None] | None = None
        self._started = False
        self._lock = threading.Lock()
        self._balance_block = -(10**9)
        self._low_balance_warned = False

    # ------------------------------------------------------------ lifecycle

    def startup(self) -> None:
        """Connect and check the deployment, open the store, resync the nonce, schedule a full scan."""
        cfg = self.config
        self.rpc = RpcClient(
            cfg.rpc_url,
            timeout=cfg.rpc_timeout,
            max_attempts=cfg.rpc_attempts,
            workers=max(2, cfg.rpc_workers),
            on_retry=self._on_retry,
        )
        if not cfg.lens:
            raise KeeperError("the configuration names no lens (the deployment JSON's 'lens')")
        self.chain = ChainReader(
            self.rpc, engine=self.engine, vault=self.vault, queue=self.queue, sender=self.address, lens=cfg.lens
        )
        self.chain_id = hex_int(self.rpc.request("eth_chainId"))
        for name, address in (
            ("engine", self.engine),
            ("vault", self.vault),
            ("queue", self.queue),
            ("lens", self.chain.lens),
        ):
            if self.rpc.request("eth_getCode", [address, "latest"]) in (None, "0x", "0x0"):
                raise KeeperError(f"no contract at the {name} address {address} on chain {self.chain_id}")
        wired_vault, wired_queue = self.chain.wiring()
        if (wired_vault.lower(), wired_queue.lower()) != (self.vault.lower(), self.queue.lower()):
            raise KeeperError("the engine is wired to another vault or queue than the configuration names")
        if self.chain.lens_engine().lower() != self.engine.lower():
            raise KeeperError("the lens reads another engine than the configuration names")
        try:
            self.store = Store(cfg.db_path, self.keeper_id, sender=self.address)
            self.store.bind(self.chain_id, self.engine)
        except StoreMismatch as exc:
            raise KeeperError(str(exc)) from exc
        self.borrowers = self.store.borrowers()
        self.borrower_set = set(self.borrowers)
        for account, asset in self.store.positions():
            self.positions.setdefault(account, set()).add(asset)
        stored = self.store.checkpoint()
        self.discovery.checkpoint = stored if stored is not None else cfg.start_block - 1
        self.txs = TxManager(self.rpc, self.signer, self.chain_id, cfg.fees, self.store, self.log)
        self.txs.clock = self.clock
        self.txs.observe_block(self.rpc.block("latest"))
        self.txs.adopt(self.store.open_actions())
        self.txs.sync_nonce()
        self.discovery.resolve_feeds()
        self.liquidations.full_scan_needed()
        if cfg.metrics_port is not None and self.metrics_port is None:
            self.metrics_port = self.metrics.serve(cfg.metrics_port, cfg.metrics_host)
        self._started = True
        self.log.info(
            "started",
            extra=fields(
                address=self.address,
                chain_id=self.chain_id,
                checkpoint=self.discovery.checkpoint,
                borrowers=len(self.borrowers),
                resumed=stored is not None,
                in_flight=len(self.txs.inflight),
                nonce=self.txs.nonce,
                db=cfg.db_path,
                feeds=len(self.discovery.aggregators),
                proxies=len(self.discovery.proxies),
                metrics_port=self.metrics_port,
            ),
        )

    def shutdown(self, grace: float | None = None) -> None:
        """Collect the receipts that arrive within `grace` seconds, then close the store.

        No request outlives the grace period: a hung node costs `grace`, not timeouts times retries.
        """
        grace = self.config.shutdown_grace if grace is None else grace
        deadline = self.clock() + grace
        if self.rpc is not None:
            self.rpc.abort = None
            self.rpc.deadline = deadline
        try:
            while self.txs is not None and self.txs.inflight and self.clock() < deadline:
                self.record_outcomes(self.txs.poll(), StepReport())
                if self.txs.inflight:
                    time.sleep(min(0.1, max(0.0, deadline - self.clock())))
        except (RpcError, TransportError) as exc:
            self.log.warning("could not collect receipts at shutdown", extra=fields(error=str(exc)[:300]))
        finally:
            if self.store is not None:
                self.store.close()
                self.store = None
            if self.rpc is not None:
                self.rpc.close()
            self.metrics.close()
            self.metrics_port = None
            self._started = False
            self.log.info("stopped")

    def run(self, stop: threading.Event) -> None:
        """Step every `poll_interval` seconds until `stop` is set; errors back off, never end the loop."""
        assert self.rpc is not None, "call startup() first"
        self.rpc.abort = stop
        failures = 0
        while not stop.is_set():
            report = self.step(stop)
            failures = failures + 1 if report.errors else 0
            if report.did_work and not failures:
                continue  # a liquidation may leave its account liquidatable (close ratio): look again at once
            delay = self.config.poll_interval * (2 ** min(failures, 5) if failures else 1)
            stop.wait(min(delay, 30.0))

    def run_once(self, max_rounds: int = 10, stop: threading.Event | None = None) -> StepReport:
        """One full cycle for cron use: backfill, scan, liquidate, activate, wait for the receipts.

        Accounts a liquidation left liquidatable (close ratio) are taken again, for up to `max_rounds`
        rounds; `complete` says whether the last round ran without RPC errors and nothing is left in
        flight. A set `stop` (SIGTERM) ends the cycle at the next round or receipt poll, incomplete.
        """
        assert self.txs is not None and self.rpc is not None, "call startup() first"
        self.rpc.abort = stop
        total = StepReport(keeper_id=self.keeper_id)
        report = total
        for _ in range(max_rounds):
            if stop is not None and stop.is_set():
                break
            report = self.step(stop)
            total.merge(report)
            self.drain(self.config.receipt_timeout, total, stop)
            # done when a round sent nothing and saw nothing of ours land (which would need a recheck)
            if report.complete and not report.did_work and not report.liquidations_mined:
                break
        stopped = stop is not None and stop.is_set()
        total.complete = report.complete and not self.txs.inflight and not stopped
        return total

    def drain(self, timeout: float, report: StepReport | None = None, stop: threading.Event | None = None) -> None:
        """Wait up to `timeout` seconds (or until `stop`) for every transaction in flight to resolve."""
        assert self.txs is not None
        deadline = self.clock() + timeout
        report = report or StepReport()
        while self.txs.inflight and self.clock() < deadline:
            if stop is not None and stop.is_set():
                return
            try:
                self.record_outcomes(self.txs.poll(), report)
            except (RpcError, TransportError) as exc:
                report.errors.append(f"receipts: {exc}")
            if self.txs.inflight:
                if stop is not None:
                    stop.wait(0.05)
                else:
                    time.sleep(0.05)

    def scan(self, accounts: Sequence[str] | None = None) -> list[str]:
        """The liquidatable ones among `accounts` (default: every known borrower) at the latest block."""
        with self._lock:
            self.chain.pin(None)
            return self.liquidations.scan(accounts)

    @property
    def batch_size(self) -> int:
        return self.liquidations.batch_size

    @property
    def checkpoint(self) -> int:
        return self.discovery.checkpoint

    def collateral_assets(self) -> list[str]:
        return self.chain.collateral_assets()

    def _on_retry(self, label: str, exc: Exception, attempt: int) -> None:
        level = logging.DEBUG if attempt < 3 else logging.WARNING
        self.log.log(level, "rpc retry", extra=fields(call=label, attempt=attempt, error=str(exc)[:200]))

    # ------------------------------------------------------------ one step

    def step(self, stop: threading.Event | None = None) -> StepReport:
        """One cycle: collect receipts, read the new head and its logs, scan if needed, liquidate, activate."""
        assert self._started, "call startup() first"
        assert self.rpc is not None and self.txs is not None
        with self._lock:
            started = self.clock()
            report = StepReport(keeper_id=self.keeper_id)
            bumps_before = self.txs.bumps
            reorgs_before = self.discovery.reorgs
            try:
                # receipts first, then the head: the head then includes every block a receipt names
                self.record_outcomes(self.txs.poll(), report)
                head = self.rpc.block("latest")
                self.head = head
                report.block = hex_int(head["number"])
                # every read of this step sees this block, by hash: one consistent state for scan, previews
                # and simulations, never a mix of a replaced block and its successor
                self.chain.pin(head)
                self.txs.observe_block(head)
                self.discovery.poll(head, report)
                if self.config.liquidate:
                    self.breakers.run(report)
                if self.config.auctions and self.auctions.stale:
                    self.auctions.resolve()
                if self.config.liquidate:
                    self.liquidations.run(report, stop)
                if self.config.auctions and not (stop is not None and stop.is_set()):
                    self.auctions.run(report)
                if self.config.activate and not (stop is not None and stop.is_set()):
                    self.activations.run(report)
                if self.txs.inflight:
                    self.record_outcomes(self.txs.poll(), report)
                self._check_balance(report.block)
                report.complete = True
            except (RpcError, TransportError) as exc:
                report.errors.append(f"{exc.__class__.__name__}: {exc}")
                self.log.warning("step failed, will retry", extra=fields(error=str(exc)[:300]))
            except KeeperError:
                raise
            except Exception as exc:  # a keeper must outlive surprises: log them loudly and go on
                report.errors.append(f"{exc.__class__.__name__}: {exc}")
                self.log.exception("unexpected error in step")
            report.bumped = self.txs.bumps - bumps_before
            report.seconds = self.clock() - started
            for _ in range(self.discovery.reorgs - reorgs_before):
                self.metrics.reorg()
            self.metrics.observe(report, in_flight=len(self.txs.inflight))
            level = logging.INFO if report.did_work or report.errors or report.liquidatable else logging.DEBUG
            self.log.log(level, "step", extra=fields(**brief(report)))
            if self.on_report is not None:
                self.on_report(report)
            return report

    def _check_balance(self, block: int) -> None:
        """Read the signer's balance every `balance_every_blocks` blocks; warn (once per dip) below `min_balance`."""
        assert self.rpc is not None
        if block - self._balance_block < max(1, self.config.balance_every_blocks):
            return
        self._balance_block = block
        wei = hex_int(self.rpc.request("eth_getBalance", [self.address, self.chain.tag]))
        self.metrics.set_balance(wei)
        low = wei < self.config.min_balance
        if low and not self._low_balance_warned:
            self.log.warning(
                "signer balance low",
                extra=fields(address=self.address, balance_eth=wei / 10**18, min_eth=self.config.min_balance / 10**18),
            )
        self._low_balance_warned = low

    def record_outcomes(self, outcomes: list[Outcome], report: StepReport) -> None:
        """Hand resolved transactions to their strategy, update the actions log, log them."""
        if not outcomes or self.store is None:
            return
        updates = []
        for o in outcomes:
            tx = o.tx
            report.gas_used += o.gas_used
            if tx.kind == "liquidate":
                self.liquidations.on_outcome(o, report)
            elif tx.kind == "activate":
                self.activations.on_outcome(o, report)
            elif tx.kind == "poke":
                self.breakers.on_outcome(o, report)
            elif tx.kind in ("take", "redo", "settle", "approve"):
                self.auctions.on_outcome(o, report)
            tx_hash = o.tx_hash or tx.hashes[-1]
            if tx.action_id is not None:
                detail = {"tx_hash": tx_hash, "gas_used": o.gas_used or None, "block": o.block or None}
                updates.append((tx.action_id, o.status, {**detail, "detail": o.reason or None}))
            level = logging.INFO if o.status in ("mined", "skipped") else logging.WARNING
            self.log.log(
                level,
                f"{tx.kind} {o.status}",
                extra=fields(account=tx.account, bids=tx.bid_ids, tx=tx_hash, gas_used=o.gas_used, reason=o.reason),
            )
        if updates:
            self.store.update_actions(updates)


class _Adapter(logging.LoggerAdapter):
    """Adds the keeper id to every record and keeps the record's own `extra` (3.11 would drop it)."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        kwargs["extra"] = {**(self.extra or {}), **(kwargs.get("extra") or {})}
        return msg, kwargs


def serve(config: KeeperConfig, *, once: bool, json_lines: bool, verbosity: int) -> int:
    """Run a keeper until SIGINT/SIGTERM (or one cycle with `once`); the exit code.

    0: a clean stop, or a `--once` cycle that completed; 1: `--once` could not complete (or was stopped by a
    signal); 2: a configuration error.
    """
    from ala import logs

    keeper = Keeper(config)
    logs.setup(json_lines=json_lines, verbosity=verbosity, keeper_id=keeper.keeper_id)
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        keeper.log.info("stopping", extra=fields(signal=signal.Signals(signum).name))
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    # the node may not be up yet: retry the startup (configuration errors end it)
    delay = 0.5
    while True:
        try:
            keeper.startup()
            break
        except KeeperError as exc:
            keeper.log.error("configuration error", extra=fields(error=str(exc)))
            return 2
        except (RpcError, TransportError) as exc:
            if once or stop.is_set():
                keeper.log.error("could not start", extra=fields(error=str(exc)))
                return 1
            keeper.log.warning("node unreachable, retrying", extra=fields(error=str(exc)[:200]))
            if stop.wait(delay):
                return 0
            delay = min(delay * 2, 30.0)
    code = 0
    try:
        if once:
            report = keeper.run_once(stop=stop)
            code = 0 if report.complete else 1
            out = report.to_dict()
            print(json.dumps(out) if json_lines else " ".join(f"{k}={v}" for k, v in brief(report).items()), flush=True)
        else:
            keeper.run(stop)
    finally:
        keeper.shutdown()
    return code
