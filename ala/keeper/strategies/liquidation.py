"""Liquidations: batched health scans, the best collateral per account, simulation, sends."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from eth_utils import keccak

from ala import abi
from ala.keeper.config import chunks, hex_int, is_race
from ala.keeper.report import StepReport
from ala.keeper.sender import Outcome, TxRequest
from ala.keeper.strategies import record_sends
from ala.logs import fields
from ala.rpc import RpcError

if TYPE_CHECKING:
    from ala.keeper.runner import Keeper

# What nodes answer when a call runs out of gas or above their eth_call gas cap (geth, erigon, nethermind, reth,
# anvil). Nothing else halves the scan batch: a revert whose reason happens to mention gas is a revert.
GAS_ERRORS = (
    "out of gas",
    "outofgas",
    "gas required exceeds",
    "exceeds block gas limit",
    "gas limit reached",
    "gas cap",
    "gas limit too low",
    "intrinsic gas too low",
    "not enough gas",
)
# blocks after a gas-error halving before the batch size is measured again
REGROW_BLOCKS = 100


def is_gas_error(err: RpcError) -> bool:
    """The call ran out of gas (not: reverted with a reason that mentions gas)."""
    if abi.revert_reason(err.data, "") not in ("", "reverted") and isinstance(err.data, str) and len(err.data) > 10:
        return False  # a revert with a payload (a reason string, a panic) is the contract speaking
    text = err.message.lower()
    return any(w in text for w in GAS_ERRORS)


class LiquidationStrategy:
    """Find liquidatable accounts (batched scans) and liquidate each through its best collateral.

    State: which accounts to look at again next step (`recheck`: new borrowers, accounts just
    liquidated, accounts whose simulation failed), which ones wait for bids (`starved`), and a gas
    model per (collateral, slots walked) so that liquidations need no `eth_estimateGas` each.
    """

    def __init__(self, keeper: Keeper) -> None:
        self.k = keeper
        self.batch_size = max(1, min(500, keeper.config.batch_size))
        self.recheck: set[str] = set()
        self.starved: set[str] = set()  # liquidatable, but no bids to fill them: retried when liquidity arrives
        self.skip_noted: dict[str, str] = {}  # last skip reason recorded per account (no log flooding)
        self.gas_model: dict[tuple[str, int], int] = {}
        self.assets: list[str] = []
        self.need_full_scan = True
        self.refresh_assets = True
        self.last_full_scan = -1
        self.last_full_scan_at = 0.0
        self.liquidity_block: int | None = None  # block of the latest new bid liquidity
        self.regrow_at: int | None = None  # block at which a gas-error halving is measured again
        # USD (WAD) per whole unit of the base asset and of the native coin, for the profit check; read per round
        self._prices: tuple[int, int, int] | None = None
        self._decimals: dict[str, int] = {}

    # ------------------------------------------------------------ signals from the logs

    def full_scan_needed(self) -> None:
        self.need_full_scan = True

    def liquidity_arrived(self, block: int) -> None:
        """Bids activated in `block` fill from the next one: retry the starved accounts once it exists."""
        self.liquidity_block = max(self.liquidity_block or 0, block)

    # ------------------------------------------------------------ scanning

    def scan(self, accounts: Sequence[str] | None = None) -> list[str]:
        """The liquidatable ones among `accounts` (default: every known borrower), one eth_call per batch.

        The batches go out as `rpc_workers` concurrent JSON-RPC batch requests.
        """
        k = self.k
        assert k.rpc is not None
        accounts = list(k.borrowers if accounts is None else accounts)
        if not accounts:
            return []
        batches = list(chunks(accounts, self.batch_size))
        calls = [k.chain.liquidatable(list(b)) for b in batches]
        workers = max(1, min(k.config.rpc_workers, len(calls)))
        answers: list[Any] = [None] * len(calls)
        for g, group in enumerate(k.rpc.batches([calls[i::workers] for i in range(workers)])):
            for j, answer in enumerate(group):
                answers[g + j * workers] = answer
        out: list[str] = []
        for batch, answer in zip(batches, answers, strict=True):
            if isinstance(answer, RpcError):
                out.extend(self._scan_failed(list(batch), answer))
                continue
            out.extend(a for a, flag in zip(batch, abi.decode_bool_array(answer), strict=True) if flag)
        return out

    def _scan_failed(self, batch: list[str], err: RpcError, retried: bool = False) -> list[str]:
        """A batch that ran out of gas is split (and the batch size lowered); any other revert is logged."""
        k = self.k
        assert k.rpc is not None
        if len(batch) > 1 and is_gas_error(err):
            self.batch_size = max(1, len(batch) // 2)
            self.regrow_at = hex_int(k.head.get("number")) + REGROW_BLOCKS
            k.log.warning("scan batch above the gas cap, halving", extra=fields(batch_size=self.batch_size))
            return self.scan(batch)
        if not err.data and not retried:
            # a revert without data: on Anvil, a call that met a block being written; read again once
            time.sleep(0.05)
            answer = k.rpc.batch([k.chain.liquidatable(batch)])[0]
            if not isinstance(answer, RpcError):
                return [a for a, flag in zip(batch, abi.decode_bool_array(answer), strict=True) if flag]
            return self._scan_failed(batch, answer, retried=True)
        k.log.warning("scan batch reverted", extra=fields(accounts=len(batch), reason=err.reason))
        self.recheck.update(batch)
        return []

    def calibrate_batch(self) -> int:
        """Measure the gas of a full scan batch and keep it under 80 % of the node's eth_call gas cap."""
        k = self.k
        assert k.rpc is not None and k.txs is not None
        sample = k.borrowers[: self.batch_size]
        if len(sample) < 10:
            return self.batch_size
        data = k.chain.liquidatable_data(sample)
        try:
            gas = hex_int(k.rpc.request("eth_estimateGas", [{"to": k.chain.lens, "data": data}, k.chain.tag]))
        except RpcError as exc:
            k.log.warning("could not measure the scan gas", extra=fields(reason=exc.reason))
            return self.batch_size
        per_account = gas / len(sample)
        limit = int(0.8 * k.txs.gas_cap / per_account)
        self.batch_size = max(1, min(self.batch_size, limit, 500))
        k.log.info("scan batch calibrated", extra=fields(gas_per_account=int(per_account), batch=self.batch_size))
        return self.batch_size

    # ------------------------------------------------------------ one round

    def run(self, report: StepReport, stop: threading.Event | None) -> None:
        k = self.k
        assert k.txs is not None
        if self.liquidity_block is not None and report.block > self.liquidity_block:
            self.recheck.update(self.starved)
            self.starved.clear()
            self.liquidity_block = None
        periodic = (
            report.block - self.last_full_scan >= k.config.scan_every_blocks
            and k.clock() - self.last_full_scan_at >= k.config.scan_min_interval
        )
        if self.regrow_at is not None and report.block >= self.regrow_at:
            # a halving is not for good: measure the batch again from the configured size
            self.regrow_at = None
            self.batch_size = max(1, min(500, k.config.batch_size))
            self.calibrate_batch()
        full = self.need_full_scan or periodic
        if self.refresh_assets or not self.assets:
            self.assets = k.collateral_assets()
            self.refresh_assets = False
        if full:
            if self.last_full_scan < 0:
                self.calibrate_batch()
            targets = list(k.borrowers)
        else:
            targets = [a for a in self.recheck if a in k.borrower_set]
        if not targets:
            return
        report.full_scan = report.full_scan or full
        if full:
            self.need_full_scan = False
            self.last_full_scan = report.block
            self.last_full_scan_at = k.clock()
        # in waves: one scan batch first, then one batch per RPC worker. The first liquidations go out after
        # the first batch, so the reaction to a price does not grow with the book (every wave reads the same
        # pinned block)
        liquidity: dict[str, int] | None = None  # read once a step: later waves plan with what earlier ones left
        start, wave = 0, self.batch_size
        while start < len(targets):
            if stop is not None and stop.is_set():
                self.recheck.update(targets[start:])
                break
            part = targets[start : start + wave]
            start += len(part)
            wave = self.batch_size * max(1, k.config.rpc_workers)
            t0 = k.clock()
            found = self.scan(part)
            report.scan_seconds += k.clock() - t0
            report.scanned += len(part)
            self.recheck.difference_update(part)
            report.liquidatable += len(found)
            for account in (set(self.skip_noted) & set(part)) - set(found):
                del self.skip_noted[account]  # healthy again: a later skip is news
            busy = {tx.account for tx in k.txs.inflight.values() if tx.kind == "liquidate"}
            todo = [a for a in found if a not in busy]
            if todo:
                if liquidity is None:
                    liquidity = self._usable_liquidity()
                self._liquidate(self._order(todo), report, stop, liquidity)

    def _order(self, accounts: list[str]) -> list[str]:
        """This keeper's own walk order, so that two keepers rarely start on the same account."""
        salt = self.k.keeper_id.encode()
        return sorted(accounts, key=lambda a: keccak(salt + bytes.fromhex(a[2:])))

    def _liquidate(
        self, accounts: list[str], report: StepReport, stop: threading.Event | None, liquidity: dict[str, int]
    ) -> None:
        """Plan, simulate, sign and send in chunks; receipts are collected between chunks.

        `liquidity` is the usable bid liquidity per collateral at the step's block, less what this step's
        liquidations already planned to take.
        """
        k = self.k
        assert k.rpc is not None and k.txs is not None
        # with an auction house, a collateral without bids still liquidates (into an auction)
        assets = self.assets if k.auctions.house else [a for a in self.assets if liquidity.get(a, 0) > 0]
        if not assets:
            self._skip(accounts, "no usable bid liquidity", report, starved=True, category="no bids")
            return
        self._prices = self._read_prices() if k.config.min_profit is not None else None
        # the cap is per step, across the waves of a full scan
        limit = k.config.max_liquidations_per_step
        cap = max(0, limit - report.liquidations_sent) if limit else len(accounts)
        sent_total = 0
        # a small first chunk gets the first transaction out fast; later chunks amortise the round trips
        size = min(4, k.config.pipeline_chunk)
        pos = 0
        while pos < len(accounts):
            if (stop is not None and stop.is_set()) or sent_total >= cap:
                self.recheck.update(accounts[pos:])
                break
            chunk = accounts[pos : pos + min(size, cap - sent_total)]
            pos += len(chunk)
            size = k.config.pipeline_chunk
            plan = self._plan(chunk, assets, liquidity, report)
            reqs = self._simulate(plan, report) if plan else []
            if not reqs:
                continue
            if sent_total:
                k.txs.observe_block(k.rpc.block("latest"))  # our own burst moves the base fee
            results = k.txs.send(reqs)
            sent = record_sends(k, "liquidate", reqs, results)
            for req, result in zip(reqs, results, strict=True):
                self.recheck.add(req.account or "")
                if isinstance(result, str):
                    if is_race(result):
                        report.skip("race")
                    else:
                        report.liquidations_failed += 1
                    k.log.warning("liquidation not sent", extra=fields(account=req.account, reason=result))
            for tx in sent:
                k.log.info(
                    "liquidation sent",
                    extra=fields(account=tx.account, collateral=tx.req.collateral if tx.req else None, tx=tx.hashes[0]),
                )
            sent_total += len(sent)
            report.liquidations_sent += len(sent)
            if sent and report.first_sent_at is None:
                report.first_sent_at = time.time()
                report.first_liquidation_at = k.clock()
            # receipts of this chunk while the next one is prepared (instant on an automining node)
            k.record_outcomes(k.txs.poll(), report)

    def _usable_liquidity(self) -> dict[str, int]:
        k = self.k
        assert k.rpc is not None
        answers = k.rpc.batch([k.chain.usable_liquidity(a) for a in self.assets])
        return {
            a: 0 if isinstance(r, RpcError) else abi.decode_uint(r) for a, r in zip(self.assets, answers, strict=True)
        }

    def _plan(
        self, chunk: list[str], assets: list[str], liquidity: dict[str, int], report: StepReport
    ) -> list[tuple[str, str, Any]]:
        """For each account the collateral whose preview raises the most funds, within the bids left locally.

        One JSON-RPC batch: `collateral_of` and `preview_liquidation` of every (account, collateral)
        pair where the account posted that collateral (known from its CollateralAdded logs) and the
        collateral has usable bids.
        """
        k = self.k
        assert k.rpc is not None
        usable = set(assets)
        pairs = [(a, c) for a in chunk for c in (k.positions.get(a) or assets) if c in usable]
        calls = []
        for account, asset in pairs:
            calls.append(k.chain.collateral_of(account, asset))
            calls.append(k.chain.preview_liquidation(account, asset))
        answers = k.rpc.batch(calls)
        best: dict[str, tuple[int, int, str, Any]] = {}
        healthy: set[str] = set()
        for n, (account, asset) in enumerate(pairs):
            balance, answer = answers[2 * n], answers[2 * n + 1]
            if isinstance(balance, RpcError) or abi.decode_uint(balance) == 0:
                continue
            if isinstance(answer, RpcError):
                k.log.info("preview reverted", extra=fields(account=account, collateral=asset, reason=answer.reason))
                self.recheck.add(account)
                continue
            preview = abi.decode_preview(answer)
            if not preview.liquidatable:
                healthy.add(account)
                continue
            key = (preview.funds, liquidity.get(asset, 0))
            if (preview.funds > 0 or preview.auction_lot > 0) and (account not in best or key > best[account][:2]):
                best[account] = (*key, asset, preview)
        plan = []
        for account in chunk:
            if account not in best:
                if account in healthy:
                    report.skip("race")  # liquidated by someone else since the scan
                elif account not in self.recheck:
                    self._skip([account], "no collateral with usable bids", report, starved=True, category="no bids")
                continue
            funds, _, asset, preview = best[account]
            if liquidity.get(asset, 0) <= 0 and preview.auction_lot == 0:
                self._skip([account], "bids used up by this round", report, starved=False, category="no bids")
                self.recheck.add(account)
                continue
            liquidity[asset] = liquidity.get(asset, 0) - funds
            plan.append((account, asset, preview))
        return plan

    def _simulate(self, plan: list[tuple[str, str, Any]], report: StepReport) -> list[TxRequest]:
        """Run each exact call (eth_call from the keeper): a revert is a skip, logged with its reason.

        Gas limits come from `eth_estimateGas` once per (collateral, slots walked) and from receipts
        since, with a margin: an estimate per liquidation would cost ten times the simulation.
        """
        k = self.k
        assert k.rpc is not None and k.txs is not None
        datas = [k.chain.liquidate(account, asset)[1] for account, asset, _ in plan]
        answers = k.rpc.batch([k.chain.simulate(k.chain.engine, d) for d in datas])
        passed = []
        for (account, asset, preview), data, answer in zip(plan, datas, answers, strict=True):
            if isinstance(answer, RpcError):
                reason = answer.reason
                if is_race(reason):
                    report.skip("race")
                    k.log.info("liquidation skipped", extra=fields(account=account, reason=reason))
                else:
                    # a circuit breaker, a paused market, or a node answering mid-block: look again next step
                    self._skip([account], f"simulation reverted: {reason}", report, starved=False, category="reverts")
                    self.recheck.add(account)
                continue
            key = (asset, preview.last_slot - preview.first_slot, preview.auction_lot > 0)
            passed.append((account, asset, key, data, preview))
        unknown = {key: data for _, _, key, data, _ in passed if key not in self.gas_model}
        if unknown:
            estimates = k.rpc.batch([k.chain.estimate_gas(k.chain.engine, d) for d in unknown.values()])
            for key, answer in zip(unknown, estimates, strict=True):
                if not isinstance(answer, RpcError):
                    self.gas_model[key] = hex_int(answer)
        reqs = []
        for account, asset, key, data, preview in passed:
            known = self.gas_model.get(key, 1_000_000)
            gas = min(int(known * k.config.gas_margin) + 20_000, k.txs.gas_cap)
            if not self._profitable(preview.keeper_fee, known):
                self._skip([account], "unprofitable: keeper fee below gas cost", report, starved=False)
                self.recheck.add(account)
                continue
            reqs.append(
                TxRequest("liquidate", k.chain.engine, data, gas, account=account, collateral=asset, gas_key=key)
            )
        return reqs

    def _read_prices(self) -> tuple[int, int, int] | None:
        """(USD per whole base unit, base decimals, USD per ether) in WAD, for the profit check; None when unknown."""
        k = self.k
        native = k.config.native_asset
        if not native:
            return None
        if not k.chain.oracle:
            k.chain.resolve_oracle()
        base = k.auctions.base or k.chain.base_asset()
        if base not in self._decimals:
            self._decimals[base] = k.chain.decimals(base)
        answers = k.rpc.batch([k.chain.price(base), k.chain.price(native)])
        if any(isinstance(a, RpcError) for a in answers):
            return None
        return abi.decode_uint(answers[0]), self._decimals[base], abi.decode_uint(answers[1])

    def _profitable(self, keeper_fee: int, gas: int) -> bool:
        """Whether the keeper fee (base units) is worth at least `min_profit` x the gas cost, both in USD.

        Off (always True) without `min_profit`, or when a price cannot be read (a liquidation is never
        skipped on a guess).
        """
        k = self.k
        margin = k.config.min_profit
        if margin is None or self._prices is None or k.txs is None:
            return True
        base_usd, decimals, native_usd = self._prices
        fee_per_gas = (k.txs.base_fee or 0) + k.txs.tip()
        fee_value = keeper_fee * base_usd // 10**decimals  # WAD USD, rounded down
        gas_value = gas * fee_per_gas * native_usd // 10**18  # WAD USD
        return fee_value >= gas_value * margin

    def _skip(
        self, accounts: Iterable[str], reason: str, report: StepReport, *, starved: bool, category: str = ""
    ) -> None:
        """Note accounts left liquidatable; each (account, reason) reaches the log and the store once."""
        k = self.k
        assert k.store is not None
        rows = []
        for account in accounts:
            report.skip(category or reason.split(":")[0])
            if starved:
                self.starved.add(account)
            if self.skip_noted.get(account) == reason:
                continue
            self.skip_noted[account] = reason
            rows.append(("liquidate", "skipped", {"account": account, "detail": reason}))
            k.log.info("liquidation skipped", extra=fields(account=account, reason=reason))
        if rows:
            k.store.record_many(rows)

    def on_outcome(self, o: Outcome, report: StepReport) -> None:
        tx = o.tx
        if tx.req is not None and tx.req.gas_key is not None:
            key = tx.req.gas_key
            if o.status == "mined":
                self.gas_model[key] = max(self.gas_model.get(key, 0), o.gas_used)
            elif o.status == "reverted" and o.gas_used >= tx.req.gas * 0.97:
                self.gas_model[key] = max(self.gas_model.get(key, 0), tx.req.gas) * 2  # it ran out of gas
        report.liquidations_mined += o.status == "mined"
        if o.status == "skipped":
            report.skip("race")
        report.liquidations_failed += o.status in ("reverted", "dropped")
        if tx.account:
            self.recheck.add(tx.account)  # the close ratio may leave it liquidatable
        if o.status == "mined":
            report.last_mined_at = time.time()
