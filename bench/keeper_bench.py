"""Keeper speed on a private Anvil: health scan, reaction to a price update, liquidation throughput.

`run_keeper_bench(n_borrowers=2000, also_10k=True)` starts its own Anvil on a free loopback port
(or uses `rpc_url`), deploys the system with `ala.deploy.deploy_system` through a raw-RPC adapter
(no ape provider needed), opens `n_borrowers` positions with real transactions (the funder posts
collateral for every borrower, each borrower borrows from its own impersonated address; nonces
are set locally, requests go out in JSON-RPC batches and many transactions share a block), then:

- `scan_seconds`: one full health scan of every borrower (`Keeper.scan`, median of 3);
- `reaction_seconds`: price update sent -> first liquidation transaction sent by a running keeper;
- `last_mined_seconds`: price update sent -> last liquidation mined (every account healthy again);
- `liquidations`, `liquidations_per_second` (mined liquidations / time from first sent to last mined);
- `scan_seconds_10k`: with `also_10k`, the full scan again after topping the book up to 10,000;
- `signing_us_per_tx`: microseconds to sign one liquidation (`ala.rpc.Signer`, libsecp256k1), median of runs.

Every feed sits behind a Chainlink-style proxy (as on mainnet): the keeper follows the aggregators
(`--no-proxies` runs the control without them). The
keeper serves its Prometheus metrics while it runs; with `metrics_sample`, the bench fetches /metrics after
the liquidations and writes the keeper's lines there.

The keeper runs in-process, in a thread, exactly as `Keeper.run` runs in production (automining
Anvil, one block per transaction). Nothing is asserted on time: the figures are printed and returned.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import keccak, to_checksum_address

from ala import abi
from ala.deploy import deploy_system
from ala.keeper import Keeper, KeeperConfig, StepReport
from ala.params import CollateralParams, SystemParams, TokenParams
from ala.rpc import RpcClient, RpcError, Signer

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / ".build" / "__local__.json"
ANVIL = ROOT / "bin" / "anvil"  # the npm binary, keeping no block states on disk
MNEMONIC = "test test test test test test test test test test test junk"
MAX_UINT = 2**256 - 1

# ---------------------------------------------------------------- a private Anvil


class Anvil:
    """An Anvil bound to 127.0.0.1 on a free port; `stop()` ends it (and only it)."""

    def __init__(self, *extra: str) -> None:
        if not (ROOT / "node_modules" / ".bin" / "anvil").exists():
            raise RuntimeError("anvil not found (npm ci installs it in node_modules/.bin)")
        binary = str(ANVIL)
        for _ in range(5):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            cmd = [binary, "--host", "127.0.0.1", "--port", str(port), "--silent", "--hardfork", "cancun"]
            cmd += ["--accounts", "5", "--balance", "1000000", "--mnemonic", MNEMONIC, *extra]
            self.proc = subprocess.Popen(
                cmd,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self.url = f"http://127.0.0.1:{port}"
            if self._wait_ready():
                return
            self.stop()
        raise RuntimeError("could not start anvil")

    def _wait_ready(self, timeout: float = 20.0) -> bool:
        rpc = RpcClient(self.url, timeout=1.0, max_attempts=1)
        deadline = time.time() + timeout
        try:
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    return False
                try:
                    rpc.request("eth_chainId")
                    return True
                except Exception:
                    time.sleep(0.1)
            return False
        finally:
            rpc.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


# ---------------------------------------------------------------- raw transactions


class Chain:
    """Unsigned transactions from unlocked/impersonated accounts, local nonces, JSON-RPC batches."""

    def __init__(self, rpc: RpcClient) -> None:
        self.rpc = rpc
        self.nonces: dict[str, int] = {}

    def _nonce(self, sender: str) -> int:
        if sender not in self.nonces:
            self.nonces[sender] = int(self.rpc.request("eth_getTransactionCount", [sender, "pending"]), 16)
        n = self.nonces[sender]
        self.nonces[sender] = n + 1
        return n

    def tx(self, sender: str, to: str | None, data: str, gas: int = 3_000_000) -> dict:
        tx = {"from": sender, "data": data, "gas": hex(gas), "nonce": hex(self._nonce(sender))}
        if to:
            tx["to"] = to
        return tx

    def send_wait(self, tx: dict) -> dict:
        tx_hash = self.rpc.request("eth_sendTransaction", [tx])
        receipt = self.receipt(tx_hash)
        if receipt is None or int(receipt["status"], 16) != 1:
            what = "deployment" if "to" not in tx else f"call to {tx['to']} ({tx['data'][:10]})"
            raise RuntimeError(f"{what} from {tx['from']} failed: status {receipt and receipt['status']}")
        return receipt

    def receipt(self, tx_hash: str, timeout: float = 60.0) -> dict | None:
        """Anvil answers a send before the block is written: poll for the receipt."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            receipt = self.rpc.request("eth_getTransactionReceipt", [tx_hash])
            if receipt is not None:
                return receipt
            time.sleep(0.005)
        return None

    def send_bulk(self, txs: list[dict], chunk: int = 500) -> list[str]:
        """Send many (automine off), mine until the pool is empty, check every receipt."""
        hashes: list[str] = []
        chunks = [[("eth_sendTransaction", [t]) for t in txs[i : i + chunk]] for i in range(0, len(txs), chunk)]
        for answers in self.rpc.batches(chunks):  # explicit nonces: arrival order does not matter
            for answer in answers:
                if isinstance(answer, RpcError):
                    raise RuntimeError(f"send failed: {answer}")
                hashes.append(answer)
        self.mine_all()
        for start in range(0, len(hashes), chunk):
            receipts = self.rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes[start : start + chunk]])
            bad = [r for r in receipts if not isinstance(r, dict) or int(r["status"], 16) != 1]
            if bad:
                raise RuntimeError(f"{len(bad)} bulk transactions failed, e.g. {bad[0]}")
        return hashes

    def mine_all(self) -> None:
        for _ in range(10_000):
            status = self.rpc.request("txpool_status")
            if int(status["pending"], 16) == 0 and int(status["queued"], 16) == 0:
                return
            self.rpc.request("evm_mine")
        raise RuntimeError("the pool never drained")

    def sync_clock(self) -> None:
        """Blocks mined back to back run Anvil's clock ahead of the wall clock (one second each), but
        eth_call still runs at wall-clock time, so fresh feed answers would look "from the future" to
        the oracle. Move Anvil's clock to the latest block."""
        latest = int(self.rpc.block("latest")["timestamp"], 16)
        if latest > time.time():
            self.rpc.request("evm_setTime", [latest])

    def automine(self, on: bool) -> None:
        self.rpc.request("evm_setAutomine", [on])


class _Contract:
    """Enough of an ape contract for `deploy_system`: `.address`, calls and transactions by name."""

    def __init__(self, chain: Chain, address: str, abi_entries: list[dict]) -> None:
        self.chain = chain
        self.address = to_checksum_address(address)
        self._fns = {e["name"]: e for e in abi_entries if e.get("type") == "function"}

    def __getattr__(self, name: str) -> Any:
        entry = self._fns.get(name)
        if entry is None:
            raise AttributeError(name)
        types = [i["type"] for i in entry["inputs"]]
        selector = keccak(text=f"{name}({','.join(types)})")[:4]

        def invoke(*args: Any, sender: Any = None) -> Any:
            data = "0x" + (selector + abi_encode(types, [_plain(a) for a in args])).hex()
            if entry.get("stateMutability") in ("view", "pure"):
                out = self.chain.rpc.eth_call(self.address, data)
                values = abi_decode([o["type"] for o in entry["outputs"]], bytes.fromhex(out[2:]))
                return values[0] if len(values) == 1 else values
            return self.chain.send_wait(self.chain.tx(_plain(sender), self.address, data))

        return invoke


def _plain(value: Any) -> Any:
    if hasattr(value, "address"):
        return value.address
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class _ContractType:
    def __init__(self, chain: Chain, contract_type: dict) -> None:
        self.chain = chain
        self.abi = contract_type["abi"]
        self.bytecode = contract_type["deploymentBytecode"]["bytecode"]

    def deploy(self, *args: Any, sender: Any) -> _Contract:
        ctor = next((e for e in self.abi if e["type"] == "constructor"), {"inputs": []})
        encoded = abi_encode([i["type"] for i in ctor["inputs"]], [_plain(a) for a in args]).hex()
        receipt = self.chain.send_wait(self.chain.tx(_plain(sender), None, self.bytecode + encoded, gas=15_000_000))
        return _Contract(self.chain, receipt["contractAddress"], self.abi)


class _Project:
    def __init__(self, chain: Chain) -> None:
        if not MANIFEST.exists():
            raise RuntimeError(f"{MANIFEST} missing: run `ape compile` first")
        self._types = json.loads(MANIFEST.read_text())["contractTypes"]
        self.chain = chain

    def __getattr__(self, name: str) -> _ContractType:
        return _ContractType(self.chain, self._types[name])


class _Sender:
    def __init__(self, address: str) -> None:
        self.address = address


# ---------------------------------------------------------------- the market


def bench_params() -> SystemParams:
    """The test market (WETH/WBTC/GOLD against a 6-decimal base); bids skip the waiting period."""

    def collateral(symbol: str, decimals: int, price: int, max_ltv: str, liq_ltv: str, rf: str) -> CollateralParams:
        return CollateralParams(
            symbol=symbol,
            decimals=decimals,
            price=Decimal(price),
            max_ltv=Decimal(max_ltv),
            liq_ltv=Decimal(liq_ltv),
            risk_factor=Decimal(rf),
            premium_step=Decimal("0.01"),
            max_slot=10,
            waiting_period=600,
            bid_threshold=Decimal(10**12),
        )

    return SystemParams(
        base=TokenParams(symbol="USDA", decimals=6, price=Decimal(1)),
        collaterals=(
            collateral("WETH", 18, 2_000, "0.80", "0.85", "0.10"),
            collateral("WBTC", 8, 60_000, "0.70", "0.78", "0.12"),
            collateral("GOLD", 6, 2_500, "0.65", "0.75", "0.05"),
        ),
        oracle_max_age=86_400,
    )


def _address(label: str) -> str:
    return to_checksum_address(keccak(text=f"ala keeper bench {label}")[-20:])


def _call(fn: str, types: list[str], args: list[Any]) -> str:
    return "0x" + (keccak(text=f"{fn}({','.join(types)})")[:4] + abi_encode(types, args)).hex()


class Market:
    def __init__(self, chain: Chain, system: Any, owner: str, funder: str) -> None:
        self.chain = chain
        self.s = system
        self.owner = owner
        self.funder = funder
        self.borrowers: list[str] = []
        self.view_errors: list[str] = []

    def token(self, symbol: str) -> str:
        return self.s.tokens[symbol].address

    def seed(self, lend: int, bids_per_collateral: int) -> None:
        """A lender and deep active bids (slots 0 and 1) on every collateral; whole base tokens."""
        c, usda = self.chain, 10**6
        lender, bidder = _address("lender"), _address("bidder")
        for who in (lender, bidder):
            c.rpc.request("anvil_setBalance", [who, hex(10**22)])
        txs = [
            c.tx(self.owner, self.token("USDA"), _call("mint", ["address", "uint256"], [lender, lend * usda])),
            c.tx(
                self.owner,
                self.token("USDA"),
                _call("mint", ["address", "uint256"], [bidder, 6 * bids_per_collateral * usda]),
            ),
            c.tx(
                lender, self.token("USDA"), _call("approve", ["address", "uint256"], [self.s.vault.address, MAX_UINT])
            ),
            c.tx(
                bidder, self.token("USDA"), _call("approve", ["address", "uint256"], [self.s.queue.address, MAX_UINT])
            ),
        ]
        c.send_bulk(txs)
        txs = [c.tx(lender, self.s.vault.address, _call("deposit", ["uint256", "address"], [lend * usda, lender]))]
        for symbol in ("WETH", "WBTC", "GOLD"):
            for slot in (0, 1):
                data = _call(
                    "submit_bid",
                    ["address", "uint256", "uint256"],
                    [self.token(symbol), slot, bids_per_collateral * usda],
                )
                txs.append(c.tx(bidder, self.s.queue.address, data))
        c.send_bulk(txs)
        c.rpc.request("evm_mine")  # bids activated in a block fill from the next one

    def open(self, n: int, lo: float, hi: float, label: str) -> list[str]:
        """`n` borrowers, two WETH positions for one WBTC, each borrowing lo..hi x max_ltv."""
        c, p = self.chain, self.s.params
        plan = []
        for i in range(n):
            symbol, units = (("WETH", 10), ("WETH", 25), ("WBTC", 1))[i % 3]
            spec = p.collateral(symbol)
            f = lo + (hi - lo) * ((i * 7919) % n) / max(1, n - 1)
            debt = int(units * spec.price * spec.max_ltv * Decimal(str(f)) * 10**6) - 10**6
            plan.append((_address(f"{label}{i}"), symbol, units * 10**spec.decimals, debt))
        totals: dict[str, int] = {}
        for _, symbol, amount, _ in plan:
            totals[symbol] = totals.get(symbol, 0) + amount
        txs = []
        for symbol, total in totals.items():
            txs.append(
                c.tx(self.owner, self.token(symbol), _call("mint", ["address", "uint256"], [self.funder, total]))
            )
            approve = _call("approve", ["address", "uint256"], [self.s.vault.address, MAX_UINT])
            txs.append(c.tx(self.funder, self.token(symbol), approve))
        c.send_bulk(txs)
        for start in range(0, len(plan), 500):
            answers = c.rpc.batch(
                [("anvil_setBalance", [who, hex(10**20)]) for who, _, _, _ in plan[start : start + 500]]
            )
            assert not any(isinstance(a, RpcError) for a in answers), answers[:3]
        posts = [
            c.tx(
                self.funder,
                self.s.vault.address,
                _call("add_collateral", ["address", "uint256", "address"], [self.token(symbol), amount, who]),
                gas=200_000,
            )
            for who, symbol, amount, _ in plan
        ]
        c.send_bulk(posts)
        borrows = [
            c.tx(who, self.s.vault.address, _call("borrow", ["uint256", "address"], [debt, who]), gas=400_000)
            for who, _, _, debt in plan
        ]
        c.send_bulk(borrows)
        out = [who for who, _, _, _ in plan]
        self.borrowers.extend(out)
        return out

    def set_price(self, symbol: str, usd: Decimal) -> int:
        """Post the price; the block it is mined in."""
        feed = self.s.feeds[symbol][0]
        answer = int(usd * 10**8)
        tx_hash = self.chain.rpc.request(
            "eth_sendTransaction",
            [self.chain.tx(self.owner, feed.address, _call("update_answer", ["int256"], [answer]))],
        )
        receipt = self.chain.receipt(tx_hash)
        assert receipt is not None, "the price update was not mined"
        return int(receipt["blockNumber"], 16)

    def liquidatable(self, rpc: RpcClient, block: int | None = None) -> int:
        """Liquidatable borrowers at `block` (default: now); -1 when a view reverted (Anvil answers calls while it
        writes a block)."""
        count = 0
        tag = "latest" if block is None else hex(block)
        for start in range(0, len(self.borrowers), 500):
            batch = self.borrowers[start : start + 500]
            try:
                out = rpc.eth_call(self.s.lens.address, abi.encode_address_array(abi.LIQUIDATABLE, batch), tag)
            except RpcError as exc:
                self.view_errors.append(exc.reason)
                return -1
            count += sum(abi.decode_bool_array(out))
        return count


# ---------------------------------------------------------------- the benchmark


class _Warnings(logging.Handler):
    """Collects the keeper's warnings and errors as "event: fields" strings while the bench runs."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.seen: list[str] = []
        self._root = logging.getLogger("ala")
        self._level = self._root.level

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(f"{record.getMessage()}: {getattr(record, 'fields', {})}"[:300])

    def __enter__(self) -> _Warnings:
        self._root.addHandler(self)
        if self._root.level == logging.NOTSET or self._root.level > logging.WARNING:
            self._root.setLevel(logging.WARNING)
        return self

    def __exit__(self, *exc: object) -> None:
        self._root.removeHandler(self)
        self._root.setLevel(self._level)


def signing_microseconds(runs: int = 5, per_run: int = 2000) -> float:
    """Microseconds per signed liquidation (EIP-1559, the calldata of `liquidate`), median of `runs`."""
    signer = Signer(_keeper_key(1))
    engine = _address("engine")
    data = abi.LIQUIDATE.encode(_address("account"), _address("collateral"), MAX_UINT)
    timings = []
    for run in range(runs):
        t = time.perf_counter()
        for nonce in range(run * per_run, (run + 1) * per_run):
            signer.sign_1559(
                chain_id=1, nonce=nonce, to=engine, data=data, gas=400_000, max_fee=30 * 10**9, priority_fee=10**9
            )
        timings.append((time.perf_counter() - t) / per_run * 1e6)
    return statistics.median(timings)


def _metrics_lines(port: int) -> list[str]:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return [line for line in text.splitlines() if line.startswith("ala_keeper_") and "_created" not in line]


def _keeper_key(index: int) -> str:
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}").key.hex()


def run_keeper_bench(
    n_borrowers: int = 2000,
    also_10k: bool = True,
    rpc_url: str | None = None,
    *,
    crash: str = "0.90",
    quiet: bool = False,
    anvil_args: tuple[str, ...] = (),
    metrics_sample: Path | None = None,
    proxies: bool = True,
) -> dict[str, Any]:
    """Measure the keeper; returns the figures (see the module docstring). Stops whatever it started."""

    def say(msg: str) -> None:
        if not quiet:
            print(f"[keeper bench] {msg}", flush=True)

    anvil = Anvil(*anvil_args) if rpc_url is None else None
    url = anvil.url if anvil else rpc_url
    assert url is not None
    rpc = RpcClient(url, timeout=60.0, batch_limit=500)
    workdir = Path(tempfile.mkdtemp(prefix="keeper-bench-"))
    keeper: Keeper | None = None
    stop = threading.Event()
    thread: threading.Thread | None = None
    stack = contextlib.ExitStack()
    try:
        chain = Chain(rpc)
        owner = to_checksum_address(rpc.request("eth_accounts")[0])
        funder = _address("funder")
        rpc.request("anvil_autoImpersonateAccount", [True])
        rpc.request("anvil_setBalance", [funder, hex(10**24)])
        t = time.time()
        system = deploy_system(_Project(chain), _Sender(owner), bench_params(), feed_proxies=proxies)
        system.block = int(rpc.request("eth_blockNumber"), 16)
        market = Market(chain, system, owner, funder)
        chain.automine(False)
        market.seed(lend=50_000_000_000, bids_per_collateral=5_000_000_000)
        market.open(n_borrowers, 0.90, 0.99, "a")
        chain.automine(True)
        chain.sync_clock()
        say(f"deployed and opened {n_borrowers} borrowers in {time.time() - t:.1f}s")

        config = KeeperConfig.from_deployment(
            system.to_json("bench"),
            rpc_url=url,
            private_key=_keeper_key(1),
            db_path=str(workdir / "keeper.sqlite"),
            poll_interval=0.05,
            keeper_id="bench",
            metrics_port=0,
        )
        keeper = Keeper(config)
        warnings = stack.enter_context(_Warnings()).seen
        keeper.startup()
        warm = keeper.step()  # backfill and the first full scan
        assert len(keeper.borrowers) == n_borrowers, (len(keeper.borrowers), n_borrowers)
        assert warm.liquidatable == 0, "the market starts healthy"

        scans = []
        for _ in range(3):
            t = time.time()
            found = keeper.scan()
            scans.append(time.time() - t)
        assert not found
        scan_seconds = statistics.median(scans)
        say(f"full scan of {n_borrowers}: {scan_seconds * 1000:.0f} ms (batch {keeper.batch_size})")
        say(f"keeper metrics on http://127.0.0.1:{keeper.metrics_port}/metrics")

        reports: list[StepReport] = []
        keeper.on_report = reports.append
        thread = threading.Thread(target=keeper.run, args=(stop,), name="keeper", daemon=True)
        thread.start()
        time.sleep(0.3)

        price = bench_params().collateral("WETH").price * Decimal(crash)
        t0 = time.time()
        crash_block = market.set_price("WETH", price)
        # the book is counted at the crash's block once the keeper is done: counting it now would load the node
        # under the keeper while it reacts, and the reaction would measure the bench too

        # wait for the keeper to go idle (a step that found nothing to send, nothing in flight), then
        # check the whole book once; polling the book all along would load the node under test
        deadline = time.time() + 600
        seen = 0
        while time.time() < deadline:
            time.sleep(0.1)
            if not any(r.first_sent_at for r in reports) or len(reports) == seen:
                continue
            seen = len(reports)
            last = reports[-1]
            if last.complete and not last.did_work and not keeper.txs.inflight and market.liquidatable(rpc) == 0:
                break
        underwater = market.liquidatable(rpc, crash_block)
        say(f"WETH -> ${price}: {underwater} accounts were liquidatable at block {crash_block}")
        metrics = _metrics_lines(keeper.metrics_port) if keeper.metrics_port else []
        stop.set()
        thread.join(timeout=60)
        thread = None

        first_sent = min(r.first_sent_at for r in reports if r.first_sent_at)
        last_mined = max(r.last_mined_at for r in reports if r.last_mined_at)
        liquidations = sum(r.liquidations_mined for r in reports)
        left = market.liquidatable(rpc)
        result: dict[str, Any] = {
            "borrowers": n_borrowers,
            "scan_seconds": round(scan_seconds, 4),
            "scan_batch_size": keeper.batch_size,
            "liquidatable_after_crash": underwater,
            "reaction_seconds": round(first_sent - t0, 4),
            "last_mined_seconds": round(last_mined - t0, 4),
            "liquidations": liquidations,
            "liquidations_per_second": round(liquidations / max(1e-9, last_mined - first_sent), 1),
            "liquidations_per_second_from_price_update": round(liquidations / max(1e-9, last_mined - t0), 1),
            "liquidatable_left": left,
            "skipped": sum(r.liquidations_skipped for r in reports),
            "failed": sum(r.liquidations_failed for r in reports),
            "rpc_retries": keeper.rpc.retries if keeper.rpc else 0,
            "keeper_warnings": len(warnings),
            "bench_view_errors": len(market.view_errors),
            "signing_us_per_tx": round(signing_microseconds(), 1),
        }
        if metrics_sample is not None and metrics:
            metrics_sample.parent.mkdir(parents=True, exist_ok=True)
            metrics_sample.write_text("\n".join(metrics) + "\n")
            say(f"wrote {len(metrics)} metrics lines to {metrics_sample}")
        for line in sorted({w for w in warnings})[:5]:
            say(f"keeper warning: {line}")
        say(
            f"reaction {result['reaction_seconds']:.3f}s, {liquidations} liquidations mined in "
            f"{result['last_mined_seconds']:.2f}s ({result['liquidations_per_second']}/s), {left} left"
        )

        if also_10k and n_borrowers < 10_000:
            t = time.time()
            chain.automine(False)
            market.open(10_000 - n_borrowers, 0.30, 0.70, "b")
            chain.automine(True)
            chain.sync_clock()
            keeper.step()  # learn the new borrowers from their logs
            say(f"opened {10_000 - n_borrowers} more borrowers in {time.time() - t:.1f}s")
            scans = []
            for _ in range(3):
                t = time.time()
                keeper.scan()
                scans.append(time.time() - t)
            result["scan_seconds_10k"] = round(statistics.median(scans), 4)
            say(f"full scan of {len(keeper.borrowers)}: {result['scan_seconds_10k'] * 1000:.0f} ms")
        elif n_borrowers >= 10_000:
            result["scan_seconds_10k"] = result["scan_seconds"]
        return result
    finally:
        stop.set()
        if thread is not None:
            thread.join(timeout=30)
        if keeper is not None and keeper.store is not None:
            keeper.shutdown(grace=0)
        stack.close()
        rpc.close()
        if anvil is not None:
            anvil.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--borrowers", type=int, default=2000)
    parser.add_argument("--no-10k", action="store_true")
    parser.add_argument("--rpc-url", default=None)
    parser.add_argument("--anvil-arg", action="append", default=[], help="extra flag for the private Anvil")
    parser.add_argument("--metrics-sample", type=Path, default=None, help="write the keeper's /metrics lines here")
    parser.add_argument("--no-proxies", action="store_true", help="feeds without proxies (a control run)")
    args = parser.parse_args()
    result = run_keeper_bench(
        args.borrowers,
        not args.no_10k,
        args.rpc_url,
        anvil_args=tuple(args.anvil_arg),
        metrics_sample=args.metrics_sample,
        proxies=not args.no_proxies,
    )
    print(json.dumps(result, indent=2))
