"""The keeper against a live Anvil: liquidations, restarts, rivals, a faulty RPC, bid activation, the CLI."""

from __future__ import annotations

import json
import logging
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from ala import abi
from tests.integration.helpers import ROOT, crash, liquidation_count, open_borrowers, wait_for
from tests.integration.proxy import Faults, FaultyProxy


def _checkpoint(db) -> int:
    """The checkpoint a keeper process has committed (-1 before its first)."""
    if not db.exists():
        return -1
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        try:
            row = conn.execute("SELECT MAX(CAST(value AS INTEGER)) FROM meta WHERE key LIKE 'checkpoint/%'").fetchone()
        except sqlite3.OperationalError:  # schema not there yet
            return -1
    return int(row[0]) if row and row[0] is not None else -1


def _caught_up(proc, chain):
    head = chain.blocks.head.number
    return lambda: _checkpoint(proc.db) >= head


def _no_errors(proc) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    errors = [line for line in proc.json_lines() if line["level"] in ("error", "critical")]
    assert errors == [], errors


# ---------------------------------------------------------------- liquidation


def test_keeper__price_crash__liquidates_every_liquidatable_account(market, make_keeper):
    keeper = make_keeper()
    first = keeper.step()
    assert first.full_scan and first.scanned == len(market.borrowers) and first.liquidatable == 0

    crash(market.actions)
    underwater = market.liquidatable()
    assert len(underwater) >= 10

    report = keeper.run_once()

    assert report.complete and not report.errors
    assert market.liquidatable() == []
    assert report.liquidations_mined >= len(underwater)
    assert report.liquidations_failed == 0
    mined = keeper.store.actions(kind="liquidate", status="mined")
    assert len(mined) == report.liquidations_mined
    assert all(row["gas_used"] > 0 and row["tx_hash"] for row in mined)
    assert {row["account"] for row in mined} == set(underwater)


def test_keeper__no_bids__skips_and_liquidates_once_bids_arrive(market, make_keeper, accounts):
    system, actions = market.system, market.actions
    # a crash of GOLD only, whose bids are all retracted first
    bidder = accounts[3]
    gold = system.tokens["GOLD"]
    for bid_id in market.bid_ids:
        if system.queue.bid_info(bid_id).collateral == gold.address:
            system.queue.retract_bid(bid_id, abi.MAX_UINT, sender=bidder)
    keeper = make_keeper()
    keeper.step()
    crash(actions, symbols=("GOLD",))
    underwater = market.liquidatable()
    assert underwater

    report = keeper.step()
    assert report.liquidatable == len(underwater) and report.liquidations_sent == 0
    skipped = keeper.store.actions(kind="liquidate", status="skipped")
    assert {row["account"] for row in skipped} == set(underwater)

    actions.bid(bidder, "GOLD", 1, 1_000_000)
    arrived = keeper.step()  # the BidActivated log sends the starved accounts back in, no full scan needed
    assert not arrived.full_scan and arrived.liquidations_sent == len(underwater)
    report = keeper.run_once()
    assert arrived.liquidations_mined + report.liquidations_mined >= len(underwater)
    # a close-ratio liquidation can leave an account liquidatable; a running keeper simply goes round again
    for _ in range(3):
        if not market.liquidatable():
            break
        keeper.run_once()
    assert market.liquidatable() == []


def test_keeper__breaker_on__waits_out_a_price_jump_then_liquidates_once_it_is_confirmed(
    market, make_keeper, chain, owner
):
    system, actions = market.system, market.actions
    oracle, vault, weth = system.oracle, system.vault, system.tokens["WETH"]
    oracle.set_breaker(weth, 10**17, 600, sender=owner)  # pause on a move of more than 10%, confirm after 10 min
    keeper = make_keeper()
    keeper.step()  # pokes WETH once: the accepted price that jumps are measured from
    assert oracle.breaker_status(weth).last_accepted == oracle.price(weth)

    crash(actions, symbols=("WETH",))  # -28%
    weth_holders = [a for a in market.borrowers if vault.collateral_of(a, weth)]
    assert oracle.liquidations_paused(weth)  # before anyone pokes
    start = chain.blocks.head.number
    keeper.run_once()
    assert oracle.breaker_status(weth).tripped  # the keeper's poke started the confirmation clock
    seized = [log for log in system.engine.Liquidation.range(start, chain.blocks.head.number + 1)]
    assert [log.collateral for log in seized if log.collateral == weth.address] == []
    assert any(system.lens.account_health(a).liquidatable for a in weth_holders)

    chain.pending_timestamp += 601
    chain.mine()
    report = keeper.run_once()
    for _ in range(3):  # a close-ratio liquidation can leave an account liquidatable: the keeper goes round again
        if not market.liquidatable():
            break
        report = keeper.run_once()
    assert not oracle.liquidations_paused(weth) and not oracle.breaker_status(weth).tripped
    assert report.complete and not report.errors
    assert [a for a in market.borrowers if system.lens.account_health(a).liquidatable] == []
    mined = keeper.store.actions(kind="poke", status="mined")
    assert len(mined) >= 3  # the anchor, the trip and the confirmation


# ---------------------------------------------------------------- restarts


def test_keeper__sigkill_mid_run__restart_resumes_and_misses_nothing(market, keeper_process, rpc_url, chain, accounts):
    system, actions = market.system, market.actions
    # a slow link (50 ms per request) and two liquidations per step keep the first run busy for seconds
    with FaultyProxy(rpc_url, Faults(latency=0.05)) as proxy:
        first = keeper_process(
            "killed", "--json", "-v", "--poll-interval", "0.2", "--max-liquidations-per-step", "2", url=proxy.url
        )
        wait_for(_caught_up(first, chain), 60, "the first run to catch up")
        start = chain.blocks.head.number
        crash(actions)
        wait_for(lambda: liquidation_count(system, rpc_url, start) >= 2, 60, "the first liquidations")
        first.signal(signal.SIGKILL)
        first.wait(10)
    left = market.liquidatable()
    assert left, "the first run finished before it was killed; the test proves nothing"
    checkpoint = _checkpoint(first.db)
    assert checkpoint > system.block

    # while the keeper is down: new borrowers near their limit, then a second crash
    newcomers = open_borrowers(actions, chain, accounts, "late", 6, lo=0.95, hi=0.99)
    crash(actions, factor="0.8")
    assert set(market.liquidatable(newcomers)) == set(newcomers)
    debts = {a: system.vault.debt_of(a) for a in newcomers}

    second = keeper_process("killed", "--json", "-v", "--once")
    assert second.wait(180) == 0, second.stderr[-3000:]

    started = second.events("started")[-1]
    assert started["resumed"] is True and started["checkpoint"] >= checkpoint
    assert market.liquidatable(market.borrowers + newcomers) == []
    assert all(system.vault.debt_of(a) < debts[a] for a in newcomers)
    _no_errors(second)


# ---------------------------------------------------------------- rivals


def test_keeper__two_keepers_at_once__leave_nothing_liquidatable_and_stop_cleanly(
    market, keeper_process, chain, second_keeper_key, rpc_url
):
    one = keeper_process("one", "--json", "-v", "--poll-interval", "0.1")
    two = keeper_process("two", "--json", "-v", "--poll-interval", "0.1", key=second_keeper_key)
    wait_for(lambda: _caught_up(one, chain)() and _caught_up(two, chain)(), 60, "both keepers to catch up")

    start = chain.blocks.head.number
    crash(market.actions)
    # not `assert market.liquidatable()` here: two keepers polling every 0.1 s can liquidate every account
    # before that read returns (a fresh-clone run did); the Liquidation events since the crash show it had work
    wait_for(lambda: market.liquidatable() == [], 90, "every account to be liquidated")
    assert liquidation_count(market.system, rpc_url, start) > 0
    time.sleep(1.0)  # let both see the last receipts

    for proc in (one, two):
        assert proc.stop() == 0, proc.stderr[-3000:]
    for proc in (one, two):
        _no_errors(proc)
        assert proc.events("stopped")
    mined = [e for p in (one, two) for e in p.json_lines() if e["event"] == "liquidate mined"]
    assert mined


# ---------------------------------------------------------------- a faulty RPC


def test_keeper__flaky_rpc__retries_and_still_liquidates_everything(market, make_keeper, rpc_url):
    faults = Faults(seed=7, drop_rate=0.08, error_rate=0.04, delay_rate=0.04, delay=1.2, max_faults=12)
    with FaultyProxy(rpc_url, faults) as proxy:
        keeper = make_keeper(rpc_url=proxy.url, rpc_timeout=0.8, rpc_attempts=10)
        keeper.step()
        crash(market.actions)
        report = keeper.run_once(max_rounds=40)
        stats = proxy.stats

    assert market.liquidatable() == []
    assert report.liquidations_mined > 0 and report.liquidations_failed == 0
    assert stats.dropped_before and stats.dropped_after and stats.errors and stats.delayed
    assert keeper.rpc.retries >= stats.faults - stats.delayed


# ---------------------------------------------------------------- bids


def test_keeper__due_bids__are_activated_and_early_ones_are_not(market, make_keeper, chain, accounts):
    system, actions = market.system, market.actions
    bidder = accounts[3]
    ids = [actions.submit(bidder, symbol, 3, 10_000) for symbol in ("WETH", "WETH", "WBTC")]
    assert all(system.queue.bid_info(i).pending for i in ids)
    keeper = make_keeper()

    early = keeper.step()
    assert early.new_bids >= len(ids) and early.activations_sent == 0
    assert all(system.queue.bid_info(i).pending for i in ids)

    chain.pending_timestamp += 601
    chain.mine()
    report = keeper.step()
    keeper.drain(10)

    assert report.activations_sent == 1
    assert not any(system.queue.bid_info(i).pending for i in ids)
    keeper.step()  # sees its own BidActivated logs
    assert keeper.store.due_bids(2**62) == []
    assert keeper.store.actions(kind="activate", status="mined")


# ---------------------------------------------------------------- transactions


def test_keeper__stuck_transaction__is_replaced_with_higher_fees(market, make_keeper, chain):
    from ala.keeper import FeeConfig

    keeper = make_keeper(fees=FeeConfig(bump_after=0.3), max_liquidations_per_step=3)
    keeper.step()
    crash(market.actions)
    chain.provider.make_request("evm_setAutomine", [False])
    try:
        sent = keeper.step()
        assert sent.liquidations_sent == 3 and sent.liquidations_mined == 0
        first = {tx.nonce: tx.hashes[0] for tx in keeper.txs.inflight.values()}
        time.sleep(0.4)
        bumped = keeper.step()  # (also sends three more, for other accounts)
        assert bumped.bumped == 3
        replaced = {n: list(keeper.txs.inflight[n].hashes) for n in first}
        assert all(h[0] == first[n] and len(h) == 2 for n, h in replaced.items())
        chain.provider.make_request("evm_mine", [])
        keeper.drain(10)
    finally:
        chain.provider.make_request("evm_setAutomine", [True])
    mined = {row["nonce"]: row["tx_hash"] for row in keeper.store.actions(kind="liquidate", status="mined")}
    assert {n: mined[n] for n in first} == {n: h[-1] for n, h in replaced.items()}


def test_keeper__key_used_elsewhere__resyncs_its_nonce_and_resends(market, make_keeper, keeper, caplog):
    bot = make_keeper()
    bot.step()
    keeper.transfer(keeper, 0)  # the same key sends from another process: the bot's local nonce is stale
    crash(market.actions)

    with caplog.at_level(logging.WARNING, logger="ala"):
        report = bot.run_once()

    assert any(r.getMessage() == "nonce trouble, resynced" for r in caplog.records)

    assert market.liquidatable() == []
    assert report.liquidations_failed == 0 and report.liquidations_mined > 0
    assert bot.store.actions(kind="liquidate", status="failed") == []
    assert bot.txs.nonce == keeper.nonce


# ---------------------------------------------------------------- command line


def test_keeper_cli__once_json__exits_zero_with_parsable_lines(market, keeper_process):
    crash(market.actions)
    proc = keeper_process("cron", "--once", "--json", "-v")
    assert proc.wait(180) == 0, proc.stderr[-3000:]

    lines = proc.json_lines()  # every stderr line is JSON
    assert lines and all(line["keeper"] == "cron" for line in lines)
    assert {"started", "liquidation sent", "liquidate mined", "stopped"} <= {line["event"] for line in lines}
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["complete"] and report["liquidations_mined"] > 0
    assert market.liquidatable() == []


def test_keeper_cli__quiet_by_default_and_sigterm_stops_cleanly(market, keeper_process, chain):
    proc = keeper_process("quiet", "--poll-interval", "0.1")
    wait_for(_caught_up(proc, chain), 60, "the keeper to catch up")
    assert proc.stop() == 0
    assert proc.stderr.strip() == ""


def test_ape_run_keeper__once__uses_the_connected_network(market, rpc_url, deployment, tmp_path, keeper_key):
    crash(market.actions)
    env = {"ALA_KEEPER_PRIVATE_KEY": keeper_key, "PATH": f"{sys.prefix}/bin:/usr/bin:/bin"}
    cmd = [
        f"{sys.prefix}/bin/ape",
        "run",
        "keeper",
        "--network",
        f"ethereum:local:{rpc_url}",
        "--deployment",
        str(deployment),
        "--db",
        str(tmp_path / "ape.sqlite"),
        "--once",
        "--json",
    ]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["liquidations_mined"] > 0
    assert market.liquidatable() == []


# ---------------------------------------------------------------- the ABI the keeper speaks


@pytest.mark.parametrize("contract", sorted(abi.KEEPER_SURFACE))
def test_keeper_abi__matches_the_compiled_contracts(project, contract):
    compiled = project.get_contract(contract).contract_type
    functions = {m.selector: m for m in compiled.methods}
    events = {e.name: e for e in compiled.events}
    for item in abi.KEEPER_SURFACE[contract]:
        if isinstance(item, abi.Function):
            assert item.signature in functions, item.signature
            outputs = "(" + ",".join(o.canonical_type for o in functions[item.signature].outputs) + ")"
            assert outputs == item.outputs or not item.outputs, (item.signature, outputs)
        else:
            event = events[item.name]
            assert event.selector == item.signature
            assert [i.indexed for i in event.inputs] == [p[1] for p in item.params]


def test_keeper__auction_house__read_at_start_and_again_only_when_the_engine_wires_one(
    project, system, owner, make_keeper
):
    keeper = make_keeper()
    reads = []
    read = keeper.chain.auction_house
    keeper.chain.auction_house = lambda: reads.append(1) or read()

    keeper.step()
    keeper.step()
    assert reads == [1] and keeper.auctions.house == ""  # none yet, and not asked again at every head

    auctions = project.AuctionSettlement.deploy(system.engine, sender=owner)
    house = project.DutchAuction.deploy(system.base, system.oracle, auctions, system.vault, auctions, sender=owner)
    auctions.set_auction_house(house, sender=owner)
    system.engine.set_auctions(auctions, sender=owner)
    keeper.step()

    assert reads == [1, 1]  # the engine's AuctionsSet made it look again
    assert keeper.auctions.house == house.address
