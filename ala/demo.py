"""The main job: deploy, fund, crash, keep, report; on a fresh Anvil or on a fork of a loopback upstream.

`run_demo` is what `ape run demo` (and `make demo`) calls. Everything it reports is read back from
the chain (events, views), never from the driver's own bookkeeping.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ala import paths
from ala.bulk import Bulk, Call, Rpc, encode
from ala.deploy import DEPLOYMENTS, ROOT, System, deploy_system, load_system, write_deployment
from ala.params import DEFAULT_PARAMS, AuctionParams, SystemParams, load, wad
from ala.report import Timeline, build_report, write_report
from ala.scenario import Market, drive, fund_market

UPSTREAM_PORT = 8555  # ape-config.yaml: node.ethereum.mainnet.uri

# The "thin" scenario: the March 2020 path against standing bids worth only this share of the debt (the
# crash scenario's bids cover 1.5 times it), with the Dutch-auction fallback wired, a circuit breaker on
# the two volatile collaterals, and a keeper that takes auctions 5% below the oracle with its own base.
THIN_BID_COVER = Decimal("0.25")
THIN_BREAKER = {"WETH": (Decimal("0.04"), 1800), "WBTC": (Decimal("0.04"), 1800)}  # tolerance, delay (s)
THIN_TAKE_MARGIN = 0.05
THIN_KEEPER_BASE = Decimal("6000000")  # whole base tokens the keeper may spend on auctions


@dataclass
class DemoOptions:
    scenario: str = "crash"
    csv_path: str | None = None
    fork: bool = False
    borrowers: int = 200
    bidders: int = 20
    seed: int = 2020
    params_path: Path = DEFAULT_PARAMS
    out_dir: Path = ROOT / "reports"


def load_path(options: DemoOptions, params: SystemParams) -> list[paths.Step]:
    if options.scenario in ("crash", "thin"):
        return paths.march_2020()
    if options.scenario == "csv":
        if not options.csv_path:
            raise ValueError("--csv PATH is required with --scenario csv")
        return paths.from_csv(options.csv_path)
    if options.scenario == "random":
        start = {c.symbol: c.price for c in params.collaterals}
        return paths.random_walk(start, seed=options.seed)
    raise ValueError(f"unknown scenario {options.scenario!r} (crash, thin, csv, random)")


def _free_port(preferred: int) -> int:
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", preferred)) != 0:
            return preferred
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def upstream_anvil(port: int = UPSTREAM_PORT) -> Iterator[str]:
    """An Anvil with chain id 1 on loopback: the 'mainnet' the fork network forks. Always stopped."""
    anvil = str(ROOT / "bin" / "anvil")  # keeps no block states on disk (see the script)
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"port {port} is busy: the fork's upstream must be a fresh node (ape-config.yaml)")
    proc = subprocess.Popen(
        [anvil, "--host", "127.0.0.1", "--port", str(port), "--chain-id", "1", "--silent", "--accounts", "20"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 20
        while True:
            try:
                Rpc(url, timeout=2).call("eth_chainId")
                break
            except Exception:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError("the upstream anvil did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


class Demo:
    """One run of the demo on a connected provider."""

    def __init__(self, options: DemoOptions, console: Any, network_label: str) -> None:
        self.options = options
        self.console = console
        self.network_label = network_label
        self.params = load(options.params_path)
        self.thin = options.scenario == "thin"
        if self.thin and self.params.auction is None:
            self.params = dataclasses.replace(self.params, auction=AuctionParams())
        self.path = load_path(options, self.params)
        # `ape run dashboard --demo`: wall seconds between replayed steps, and a lock each step's reads hold so
        # that they do not interleave with the dashboard's (one thread on ape's provider at a time)
        self.step_seconds = 0.0
        self.lock: Any = contextlib.nullcontext()

    def say(self, text: str) -> None:
        self.console.print(text)

    def deploy(self, project: Any, owner: Any, chain: Any, ecosystem: str, network: str) -> System:
        # every mock feed behind a Chainlink-style proxy, as on mainnet: the keeper must follow the aggregators
        system = deploy_system(project, owner, self.params, chain, feed_proxies=True)
        path = write_deployment(system, ecosystem, network)
        self.say(f"deployed on {ecosystem}:{network} at block {system.block}: {path}")
        for name in ("oracle", "vault", "queue", "engine", "lens", "auction", "auctions"):
            if getattr(system, name) is not None:
                self.say(f"  {name:<7} {getattr(system, name).address}")
        if self.thin:
            for symbol, (tolerance, delay) in THIN_BREAKER.items():
                if symbol in system.tokens:
                    system.oracle.set_breaker(system.tokens[symbol], wad(tolerance), delay, sender=owner)
                    self.say(f"  breaker on {symbol}: pauses on a move beyond {tolerance:.0%}, confirms after {delay}s")
        for symbol, token in system.tokens.items():
            self.say(f"  {symbol:<7} {token.address} ({len(system.feeds[symbol])} feed(s))")
        return system

    def run(self, system: System, rpc_url: str, owner: Any, keeper_key: str) -> dict[str, Any]:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from ala.keeper import Keeper, KeeperConfig

        started = time.time()
        rpc = Rpc(rpc_url)
        bulk = Bulk(rpc)
        bulk.prepare([owner.address])
        start_block = int(rpc.call("eth_blockNumber"), 16)
        opts = self.options

        with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=self.console) as bar:
            task = bar.add_task("funding", total=None)

            def progress(stage: str, done: int, total: int) -> None:
                bar.update(task, description=f"funding {stage}", completed=done, total=total)

            market: Market = fund_market(
                system,
                bulk,
                n_borrowers=opts.borrowers,
                n_bidders=opts.bidders,
                seed=opts.seed,
                bid_cover=THIN_BID_COVER if self.thin else Decimal("1.5"),
                progress=progress,
            )
            bar.update(task, description="funded", completed=1, total=1)
        self.say(
            f"funded {len(market.lenders)} lenders, {len(market.borrowers)} borrowers, "
            f"{len(market.bidders)} bidders ({len(market.bid_ids)} bids) in {time.time() - started:.1f}s"
        )

        db = Path(tempfile.mkdtemp(prefix="ala-demo-")) / "keeper.sqlite"
        deployment = system.to_json(self.network_label)
        keeper = Keeper(
            KeeperConfig.from_deployment(
                deployment,
                rpc_url=rpc_url,
                private_key=keeper_key,
                db_path=str(db),
                take_margin=THIN_TAKE_MARGIN if self.thin else None,
            )
        )
        keeper.startup()
        if self.thin:
            amount = int(THIN_KEEPER_BASE * 10**self.params.base.decimals)
            bulk.run([Call(owner.address, system.base.address, encode(system.base, "mint", keeper.address, amount))])
            self.say(f"keeper {keeper.keeper_id} holds {THIN_KEEPER_BASE:,} {self.params.base.symbol} to take auctions")
        # the bids wait out their activation period; the keeper activates them as a service
        waiting = max(c.waiting_period for c in self.params.collaterals)
        rpc.call("evm_increaseTime", [waiting + 1])
        rpc.call("evm_mine")
        first = keeper.run_once()
        rpc.call("evm_mine")
        self.say(f"keeper {keeper.keeper_id} activated {first.bids_activated} bids")

        timeline = Timeline()
        liquidations_before = 0
        base_unit = Decimal(10**self.params.base.decimals)
        repaid_total = Decimal(0)
        last_block = int(rpc.call("eth_blockNumber"), 16)

        def on_step(i: int, step: paths.Step, prices: dict[str, Decimal]) -> None:
            with self.lock:
                record(i, step, prices)
            if self.step_seconds:
                time.sleep(self.step_seconds)

        def record(i: int, step: paths.Step, prices: dict[str, Decimal]) -> None:
            nonlocal liquidations_before, repaid_total, last_block
            posted_at = time.time()
            report = keeper.run_once()
            head = int(rpc.call("eth_blockNumber"), 16)
            logs = list(system.engine.Liquidation.range(last_block + 1, head + 1))
            repaid_total += sum(Decimal(log.repaid) for log in logs) / base_unit
            if system.auction is not None:
                settled = system.auctions.AuctionSettled.range(last_block + 1, head + 1)
                repaid_total += sum(Decimal(log.repaid) for log in settled) / base_unit
            last_block = head
            timeline.hours.append(step.at / 3600)
            for symbol, price in prices.items():
                if symbol != self.params.base.symbol:
                    timeline.prices[symbol].append(float(price))
            timeline.liquidations.append(len(logs))
            timeline.repaid.append(float(repaid_total))
            depth = sum(system.queue.usable_liquidity(t) for t in system.collaterals.values())
            timeline.pool_depth.append(float(Decimal(depth) / base_unit))
            timeline.liquidatable.append(_count_liquidatable(system, market.borrowers))
            if report.first_sent_at:
                timeline.reaction_seconds.append(report.first_sent_at - posted_at)
            bar.update(task, advance=1, description=f"hour {step.at // 3600:>2}: {len(logs)} liquidations")

        with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=self.console) as bar:
            task = bar.add_task("crash", total=len(self.path))
            drive(system, bulk, owner.address, self.path, on_step)
        keeper.shutdown()

        report = build_report(
            system,
            rpc,
            start_block,
            market.borrowers,
            timeline,
            extra={
                "network": self.network_label,
                "scenario": opts.scenario,
                "steps": len(self.path),
                "bids": len(market.bid_ids),
                "bidders": len(market.bidders),
                "keeper_reaction_seconds_max": round(max(timeline.reaction_seconds, default=0.0), 3),
                "wall_seconds": round(time.time() - started, 1),
            },
        )
        return report


def _count_liquidatable(system: System, accounts: list[str]) -> int:
    total = 0
    for start in range(0, len(accounts), 500):
        total += sum(bool(x) for x in system.lens.liquidatable(accounts[start : start + 500]))
    return total


def run_demo(options: DemoOptions, console: Any) -> dict[str, Any]:
    """Run on a fresh local Anvil, or (fork) on a fork of a loopback upstream with the system deployed there."""
    from ape import accounts, chain, networks, project

    owner = accounts.test_accounts[0]
    keeper_key = accounts.test_accounts[4].private_key
    if not options.fork:
        with networks.parse_network_choice("ethereum:local:foundry") as provider:
            demo = Demo(options, console, "ethereum:local")
            system = demo.deploy(project, owner, chain, "ethereum", "local")
            report = demo.run(system, provider.uri, owner, keeper_key)
    else:
        os.environ.setdefault("APE_FOUNDRY_HOST", "auto")
        with upstream_anvil() as upstream:
            with networks.parse_network_choice("ethereum:mainnet:node"):
                demo = Demo(options, console, "ethereum:mainnet-fork")
                console.print(f"upstream node (chain id 1) at {upstream}")
                system = demo.deploy(project, owner, chain, "ethereum", "mainnet")
                upstream_block = chain.blocks.head.number
            with networks.parse_network_choice("ethereum:mainnet-fork:foundry") as provider:
                forked = load_system(project, DEPLOYMENTS / "ethereum-mainnet.json", demo.params)
                console.print(f"forked upstream at block {chain.blocks.head.number} on {provider.uri}")
                report = demo.run(forked, provider.uri, owner, keeper_key)
            upstream_after = int(Rpc(upstream).call("eth_blockNumber"), 16)
            report["upstream_unchanged"] = upstream_after == upstream_block
    json_path, png_path = write_report(report, options.out_dir)
    report["files"] = [str(json_path.relative_to(ROOT)), str(png_path.relative_to(ROOT))]
    return report
