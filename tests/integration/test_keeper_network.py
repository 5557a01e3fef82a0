"""The keeper against how real networks behave: feeds behind proxies that get repointed, reorganisations, a
store that fails, send batches lost in transport, a hung node, signals during `--once`, restarts under another
keeper id, two keepers sharing a store, the profit check and the operator's metrics."""

from __future__ import annotations

import logging
import signal
import sqlite3
import time
import urllib.request

import pytest

from ala.keeper.store import Store
from tests.integration.helpers import crash, open_borrower, wait_for
from tests.integration.proxy import Faults, FaultyProxy

# only price rounds (and the keeper's own work) trigger a full scan: no periodic scan hides a missed round
EVENTS_ONLY = {"scan_every_blocks": 10**6, "scan_min_interval": 10**6}


def _crashed_answer(aggregator, factor: float = 0.72) -> int:
    return int(aggregator.latestAnswer() * factor)


# ---------------------------------------------------------------- price feeds behind proxies


def test_keeper__feeds_behind_proxies__resolves_each_to_its_aggregator(market, make_keeper):
    system = market.system
    keeper = make_keeper()
    proxies = [p.address for ps in system.proxies.values() for p in ps]
    aggregators = [f.address for fs in system.feeds.values() for f in fs]
    assert set(keeper.discovery.proxies) == set(proxies)
    assert {keeper.discovery.aggregators[p] for p in proxies} == set(aggregators)


def test_keeper__proxy_repointed_mid_run__follows_the_new_aggregator_within_one_step(
    market, make_keeper, project, owner
):
    system = market.system
    keeper = make_keeper(**EVENTS_ONLY)
    keeper.step()
    proxies, old = system.proxies["WETH"], system.feeds["WETH"]
    # a new phase: each WETH proxy moves to a fresh aggregator at today's price (the proxy emits nothing)
    fresh = [project.MockAggregator.deploy(a.decimals(), "WETH / USD", a.latestAnswer(), sender=owner) for a in old]
    for proxy, aggregator in zip(proxies, fresh, strict=True):
        proxy.set_aggregator(aggregator, sender=owner)
    keeper.step()
    assert [keeper.discovery.aggregators[p.address] for p in proxies] == [a.address for a in fresh]

    for aggregator in fresh:  # the crash is posted where the proxies now read
        aggregator.update_answer(_crashed_answer(aggregator), sender=owner)
    underwater = market.liquidatable()
    assert underwater

    reacted = keeper.step()
    assert reacted.price_updates >= 1 and reacted.full_scan
    assert reacted.liquidations_sent > 0


def test_keeper__oracle_feeds_set__listens_to_the_new_feed(market, make_keeper, project, owner):
    system = market.system
    oracle, weth = system.oracle, system.tokens["WETH"]
    keeper = make_keeper(**EVENTS_ONLY)
    keeper.step()
    first = system.feeds["WETH"][0]
    replacement = project.MockAggregator.deploy(first.decimals(), "WETH / USD", first.latestAnswer(), sender=owner)
    oracle.set_feeds(weth, [replacement], oracle.max_age(weth), 0, sender=owner)
    keeper.step()
    assert keeper.discovery.aggregators[replacement.address] == replacement.address

    replacement.update_answer(_crashed_answer(replacement), sender=owner)
    assert market.liquidatable()
    reacted = keeper.step()
    assert reacted.price_updates >= 1 and reacted.liquidations_sent > 0


def test_keeper__ocr_aggregator_reports_with_new_transmission_only__the_keeper_reacts(market, make_keeper, owner):
    system = market.system
    keeper = make_keeper(**EVENTS_ONLY)
    keeper.step()
    aggregators = system.feeds["WETH"]
    for aggregator in aggregators:
        aggregator.set_transmissions_only(True, sender=owner)
        tx = aggregator.update_answer(_crashed_answer(aggregator), sender=owner)
        assert [log.event_name for log in tx.decode_logs()] == ["NewTransmission"]  # no AnswerUpdated to follow
    assert market.liquidatable()

    reacted = keeper.step()

    assert reacted.price_updates >= 1 and reacted.full_scan
    assert reacted.liquidations_sent > 0


# ---------------------------------------------------------------- reorganisations


def test_keeper__reorg_replaces_blocks_it_read__reads_the_replacement(market, make_keeper, chain):
    keeper = make_keeper(**EVENTS_ONLY)
    keeper.step()
    snapshot = chain.snapshot()
    chain.mine(6)
    read = keeper.step()  # the keeper reads these six blocks and checkpoints at their head
    assert keeper.checkpoint == read.block

    chain.restore(snapshot)  # they are replaced by a shorter branch holding a price crash
    crash(market.actions, symbols=("WETH",))
    assert chain.blocks.head.number <= read.block
    assert market.liquidatable()

    report = keeper.step()
    assert keeper.discovery.reorgs == 1
    assert report.price_updates >= 1 and report.liquidations_sent > 0


# ---------------------------------------------------------------- the store


class FailingStore(Store):
    """A store whose next `fail` commits of logs raise, as a full disk or a locked file would."""

    fail = 0

    def apply_logs(self, *args, **kwargs):
        if self.fail:
            self.fail -= 1
            raise sqlite3.OperationalError("database or disk is full")
        return super().apply_logs(*args, **kwargs)


def test_keeper__store_commit_fails__the_new_borrower_is_read_again_not_lost(
    market, make_keeper, chain, accounts, caplog
):
    keeper = make_keeper()
    keeper.step()
    store = FailingStore(keeper.config.db_path, keeper.keeper_id, sender=keeper.address)
    keeper.store.close()
    keeper.store = keeper.txs.store = store
    newcomer = open_borrower(market.actions, chain, accounts, "late", "WETH", 20, 0.9)

    store.fail = 1
    with caplog.at_level(logging.ERROR, logger="ala"):
        failed = keeper.step()
    assert failed.errors and store.fail == 0
    assert newcomer not in store.borrowers()

    keeper.step()
    assert newcomer in keeper.borrowers and newcomer in store.borrowers()
    assert newcomer in keeper.borrower_set


# ---------------------------------------------------------------- transactions


@pytest.mark.parametrize("after", [False, True], ids=["lost-before-the-node", "answer-lost"])
def test_keeper__send_batch_lost_in_transport__is_sent_again_and_recorded(market, make_keeper, rpc_url, after):
    faults = Faults(drop_sends=2, drop_sends_after=after)
    with FaultyProxy(rpc_url, faults) as proxy:
        keeper = make_keeper(rpc_url=proxy.url, rpc_attempts=2, rpc_timeout=2.0, receipt_timeout=15.0)
        keeper.step()
        crash(market.actions)
        underwater = market.liquidatable()
        started = time.monotonic()
        report = keeper.run_once(max_rounds=20)
        elapsed = time.monotonic() - started
        stats = proxy.stats

    assert stats.dropped_sends == 2  # one batch, every attempt lost
    assert market.liquidatable() == []
    assert report.complete and report.liquidations_failed == 0
    assert elapsed < 15.0  # no nonce gap waited out
    mined = keeper.store.actions(kind="liquidate", status="mined")
    assert set(underwater) <= {row["account"] for row in mined}
    assert keeper.store.actions(kind="liquidate", status="sent") == []


def test_keeper__bumped_then_restarted_under_another_id__the_mined_replacement_is_recorded(
    market, make_keeper, chain, tmp_path
):
    from ala.keeper import FeeConfig

    db = str(tmp_path / "shared.sqlite")
    first = make_keeper(keeper_id="first", db_path=db, fees=FeeConfig(bump_after=0.3), max_liquidations_per_step=2)
    first.step()
    crash(market.actions)
    chain.provider.make_request("evm_setAutomine", [False])
    try:
        first.step()
        time.sleep(0.4)
        bumped = first.step()
        assert bumped.bumped >= 2
        hashes = {tx.action_id: list(tx.hashes) for tx in first.txs.inflight.values() if len(tx.hashes) == 2}
        assert len(hashes) >= 2
        first.shutdown(grace=0)  # stops with the replacements in flight
        chain.provider.make_request("evm_mine", [])
    finally:
        chain.provider.make_request("evm_setAutomine", [True])

    second = make_keeper(keeper_id="second", db_path=db)  # the same key, another id
    second.drain(10)
    rows = {row["id"]: row for row in second.store.actions(kind="liquidate")}
    for action_id, tx_hashes in hashes.items():
        assert rows[action_id]["status"] == "mined", rows[action_id]
        assert rows[action_id]["tx_hash"] == tx_hashes[-1]


def test_keeper__hung_node__shutdown_keeps_to_its_grace(market, make_keeper, rpc_url, chain):
    with FaultyProxy(rpc_url, Faults(hang_seconds=20.0)) as proxy:
        keeper = make_keeper(rpc_url=proxy.url, max_liquidations_per_step=1)
        keeper.step()
        crash(market.actions)
        chain.provider.make_request("evm_setAutomine", [False])
        try:
            keeper.step()
            assert keeper.txs.inflight  # a receipt to wait for
            proxy.faults.hang = True
            started = time.monotonic()
            keeper.shutdown(grace=1.0)
            elapsed = time.monotonic() - started
        finally:
            proxy.faults.hang = False
            chain.provider.make_request("evm_setAutomine", [True])
    assert elapsed < 3.0


def test_keeper_cli__sigterm_during_once__stops_promptly(market, keeper_process, chain):
    crash(market.actions)
    chain.provider.make_request("evm_setAutomine", [False])  # the receipts never come: --once waits for them
    try:
        proc = keeper_process("cron", "--once", "--json", "-v")
        wait_for(lambda: proc.events("liquidation sent"), 60, "the first liquidation")
        proc.signal(signal.SIGTERM)
        code = proc.wait(10)
    finally:
        chain.provider.make_request("evm_setAutomine", [True])
    assert code == 1  # stopped before the cycle completed
    assert proc.events("stopping") and proc.events("stopped")
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------- two keepers


def test_keeper__two_keepers_sharing_a_store__send_one_activation(market, make_keeper, chain, accounts, tmp_path):
    system, actions = market.system, market.actions
    ids = [actions.submit(accounts[3], symbol, 3, 10_000) for symbol in ("WETH", "WBTC")]
    db = str(tmp_path / "shared.sqlite")
    one = make_keeper(keeper_id="one", db_path=db)
    two = make_keeper(keeper_id="two", db_path=db, private_key=accounts[11].private_key)
    one.step()
    two.step()
    chain.pending_timestamp += 601
    chain.mine()
    chain.provider.make_request("evm_setAutomine", [False])
    try:
        sent = one.step().activations_sent + two.step().activations_sent
        chain.provider.make_request("evm_mine", [])
    finally:
        chain.provider.make_request("evm_setAutomine", [True])
    one.drain(10)
    two.drain(10)
    assert sent == 1
    assert not any(system.queue.bid_info(i).pending for i in ids)


# ---------------------------------------------------------------- profit, balance, metrics


def test_keeper__min_profit__skips_what_costs_more_gas_than_it_earns_and_counts_it(market, make_keeper):
    greedy = make_keeper(min_profit=10.0**9)
    greedy.step()
    crash(market.actions)
    underwater = market.liquidatable()
    skipped = greedy.step()
    assert skipped.liquidations_sent == 0
    assert skipped.skips.get("unprofitable") == len(underwater)

    fair = make_keeper(min_profit=1.0)  # the keeper fee pays for the gas many times over on this market
    report = fair.run_once()
    assert report.liquidations_mined > 0 and not report.skips.get("unprofitable")


def test_keeper__signer_balance_low__warns(market, make_keeper, caplog):
    keeper = make_keeper(min_balance=10**30)
    with caplog.at_level(logging.WARNING, logger="ala"):
        keeper.step()
    assert [r for r in caplog.records if r.getMessage() == "signer balance low"]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_keeper_metrics__endpoint_serves_counters_and_health(market, make_keeper, chain):
    keeper = make_keeper(metrics_port=0)
    base = f"http://127.0.0.1:{keeper.metrics_port}"
    assert _get(f"{base}/healthz")[0] == 503  # no step yet
    keeper.step()
    crash(market.actions)
    keeper.run_once()

    status, body = _get(f"{base}/metrics")
    assert status == 200
    k = keeper.keeper_id
    values = {}
    for line in body.splitlines():
        if line.startswith("ala_keeper_"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    assert values[f'ala_keeper_liquidations_total{{keeper="{k}",status="mined"}}'] > 0
    assert values[f'ala_keeper_last_block{{keeper="{k}"}}'] >= chain.blocks.head.number - 1
    assert values[f'ala_keeper_signer_balance_eth{{keeper="{k}"}}'] > 0
    assert values[f'ala_keeper_reaction_seconds_count{{keeper="{k}"}}'] >= 1
    assert values[f'ala_keeper_scan_seconds_count{{keeper="{k}"}}'] >= 1
    assert _get(f"{base}/healthz") == (200, "ok\n")
