"""The keeper's transaction manager without a node: fees from eth_feeHistory, bumps on a monotonic clock, a send
batch lost in transport, every bumped hash kept for a restart."""

from __future__ import annotations

import time

import pytest

from ala.keeper import FeeConfig, TxManager, TxRequest
from ala.keeper.store import Store
from ala.rpc import RpcError, Signer, TransportError
from tests.utils.fake_rpc import FakeRpc

KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
ENGINE = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
GWEI = 10**9
HEAD = {"baseFeePerGas": hex(10 * GWEI), "gasLimit": hex(30_000_000), "number": hex(100)}


def _rpc(**handlers):
    defaults = {
        "eth_sendRawTransaction": lambda p: "0x" + "ab" * 32,
        "eth_getTransactionReceipt": lambda p: None,
        "eth_getTransactionByHash": lambda p: None,
        "eth_getTransactionCount": lambda p: "0x0",
        "eth_feeHistory": lambda p: {"reward": [[hex(GWEI)]] * 10},
    }
    return FakeRpc({**defaults, **handlers})


def _manager(rpc, store=None, **fees):
    txs = TxManager(rpc, Signer(KEY), 1, FeeConfig(**fees), store or Store(":memory:", "unit"))
    txs.observe_block(HEAD)
    return txs


def _req():
    return TxRequest("liquidate", ENGINE, "0x1234", 200_000, account="0x" + "11" * 20)


def _sends(rpc):
    return [p[0] for m, p in rpc.calls if m == "eth_sendRawTransaction"]


# ---------------------------------------------------------------- fees


@pytest.mark.parametrize(
    ("market_tip", "expected"), [(5 * GWEI, 5 * GWEI), (GWEI // 10, GWEI), (900 * GWEI, 50 * GWEI)]
)
def test_price__tip_follows_fee_history_within_floor_and_ceiling(market_tip, expected):
    rpc = _rpc(eth_feeHistory=lambda p: {"reward": [[hex(market_tip)]] * 10, "baseFeePerGas": []})
    txs = _manager(rpc, priority_fee=GWEI, max_priority_fee=50 * GWEI)
    max_fee, priority = txs.price()
    assert priority == expected
    assert max_fee == 2 * 10 * GWEI + expected
    assert rpc.calls[0] == ("eth_feeHistory", [hex(10), "latest", [60.0]])


def test_price__fee_history_read_at_most_every_few_seconds():
    rpc = _rpc()
    txs = _manager(rpc, fee_history_seconds=6.0)
    now = [1000.0]
    txs.clock = lambda: now[0]
    txs.price()
    txs.price()
    now[0] += 6.0
    txs.price()
    assert rpc.methods().count("eth_feeHistory") == 2


def test_price__node_without_fee_history__uses_the_floor():
    rpc = _rpc(eth_feeHistory=lambda p: RpcError(-32601, "the method eth_feeHistory does not exist"))
    assert _manager(rpc, priority_fee=2 * GWEI).price()[1] == 2 * GWEI


# ---------------------------------------------------------------- bumps and clocks


def test_poll__wall_clock_jumps_an_hour__no_replacement(monkeypatch):
    rpc = _rpc()
    txs = _manager(rpc, bump_after=30.0, bump_after_blocks=0)
    txs.send([_req()])
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3600)  # an NTP step, a suspended VM
    txs.poll()
    assert len(_sends(rpc)) == 1


def test_poll__pending_past_bump_after_on_the_monotonic_clock__replaced_with_higher_fees():
    rpc = _rpc()
    txs = _manager(rpc, bump_after=30.0, bump_after_blocks=0)
    now = [500.0]
    txs.clock = lambda: now[0]
    [tx] = txs.send([_req()])
    now[0] += 30.0
    txs.poll()
    assert len(_sends(rpc)) == 2 and len(tx.hashes) == 2
    assert tx.max_fee >= int(2 * 10 * GWEI * 1.125)


def test_poll__pending_for_bump_after_blocks__replaced_even_before_the_seconds():
    rpc = _rpc()
    txs = _manager(rpc, bump_after=3600.0, bump_after_blocks=3)
    [tx] = txs.send([_req()])
    txs.observe_block({**HEAD, "number": hex(103)})
    txs.poll()
    assert len(tx.hashes) == 2


def test_bump__every_hash_is_stored__and_a_restart_under_another_id_recovers_it(tmp_path):
    rpc = _rpc()
    db = tmp_path / "keeper.sqlite"
    signer = Signer(KEY)
    store = Store(db, "first", sender=signer.address)
    txs = _manager(rpc, store, bump_after=30.0, bump_after_blocks=0)
    now = [0.0]
    txs.clock = lambda: now[0]
    [tx] = txs.send([_req()])
    tx.action_id = store.record("liquidate", "sent", tx_hash=tx.hashes[0], nonce=tx.nonce)
    now[0] += 31.0
    txs.poll()
    assert len(tx.hashes) == 2
    store.close()

    later = Store(db, "second", sender=signer.address)  # another keeper id, the same key
    [row] = later.open_actions()
    assert row["id"] == tx.action_id
    mined = tx.hashes[1]
    answers = {
        "eth_getTransactionReceipt": lambda p: (
            {"blockNumber": "0x70", "status": "0x1", "gasUsed": "0x5208"} if p[0] == mined else None
        )
    }
    recovered = _manager(_rpc(**answers), later)
    recovered.adopt(later.open_actions())
    assert recovered.inflight[tx.nonce].hashes == tx.hashes
    [outcome] = recovered.poll()
    assert outcome.status == "mined" and outcome.tx_hash == mined


# ---------------------------------------------------------------- lost sends


def test_send__batch_lost_in_transport__stays_in_flight_and_is_sent_again():
    lost = [True]

    def send(params):
        if lost[0]:
            return TransportError("batch: ConnectionError after 8 attempts")
        return "0x" + "cd" * 32

    rpc = _rpc(eth_sendRawTransaction=send)
    txs = _manager(rpc)
    first = txs.send([_req(), _req()])
    assert [tx.nonce for tx in first] == [0, 1]
    assert set(txs.inflight) == {0, 1} and txs.nonce == 2
    assert not any(tx.acked for tx in first)

    lost[0] = False
    txs.poll()
    resent = _sends(rpc)[-2:]
    assert resent == [first[0].raw, first[1].raw]
    assert all(tx.acked for tx in first)


def test_send__lost_batch_that_reached_the_node__already_known_counts_as_sent():
    answers = iter([TransportError("lost")])  # every attempt of the send batch failed

    def send(params):
        return next(answers, RpcError(-32000, "already known"))

    rpc = _rpc(eth_sendRawTransaction=send)
    txs = _manager(rpc)
    sent = txs.send([_req(), _req()])
    txs.poll()
    assert all(tx.acked for tx in sent) and set(txs.inflight) == {0, 1}
