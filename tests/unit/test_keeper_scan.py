"""The liquidation strategy's health scan without a node: only a real gas error halves the scan batch."""

from __future__ import annotations

import logging
import threading
from types import SimpleNamespace

import pytest
from eth_abi import encode

from ala import abi
from ala.keeper import KeeperConfig, StepReport
from ala.keeper.chain import ChainReader
from ala.keeper.strategies.liquidation import LiquidationStrategy, is_gas_error
from ala.rpc import RpcError
from tests.utils.fake_rpc import FakeRpc

ACCOUNTS = [f"0x{i:040x}" for i in range(1, 301)]


def _revert(reason: str) -> RpcError:
    data = "0x08c379a0" + encode(["string"], [reason]).hex()
    return RpcError(3, f"execution reverted: {reason}", data, "eth_call")


def _strategy(answer):
    rpc = FakeRpc({"eth_call": answer})
    config = KeeperConfig(rpc_url="", engine=ACCOUNTS[0], vault=ACCOUNTS[1], queue=ACCOUNTS[2], private_key="")
    chain = ChainReader(rpc, engine=ACCOUNTS[0], vault=ACCOUNTS[1], queue=ACCOUNTS[2], sender=ACCOUNTS[3])
    keeper = SimpleNamespace(
        config=config, rpc=rpc, chain=chain, log=logging.getLogger("unit"), head={"number": "0x64"}, borrowers=[]
    )
    return LiquidationStrategy(keeper), rpc


def _healthy(params):
    n = (len(params[0]["data"]) - 2 - 8 - 128) // 64
    return "0x" + f"{32:064x}" + f"{n:064x}" + "0" * 64 * n


@pytest.mark.parametrize(
    "error",
    [
        _revert("oracle: gas price feed stale"),
        _revert("vault: gas token paused"),
        RpcError(-32000, "execution reverted", "0x4e487b71" + "11".rjust(64, "0"), "eth_call"),
    ],
    ids=["reason-mentions-gas", "another-reason", "panic"],
)
def test_scan__a_revert_that_mentions_gas__keeps_the_batch_size(error):
    strategy, rpc = _strategy(lambda params: error)
    found = strategy.scan(ACCOUNTS)
    assert found == []
    assert strategy.batch_size == 500
    assert rpc.methods().count("eth_call") == 1  # not split batch after batch
    assert set(ACCOUNTS) <= strategy.recheck  # looked at again next step


@pytest.mark.parametrize(
    "message",
    ["out of gas", "gas required exceeds allowance (25000000)", "EVM error OutOfGas", "err: exceeds the gas cap"],
)
def test_scan__a_real_gas_error__halves_the_batch_and_still_reads_every_account(message):
    def answer(params):
        size = (len(params[0]["data"]) - 2 - 8 - 128) // 64
        return RpcError(-32000, message, None, "eth_call") if size > 100 else _healthy(params)

    strategy, _ = _strategy(answer)
    assert strategy.scan(ACCOUNTS) == []
    assert strategy.batch_size <= 100
    assert strategy.regrow_at == 100 + 100  # measured again later: a halving is not for good


def test_is_gas_error__reason_strings_are_never_gas_errors():
    assert not is_gas_error(_revert("out of gas"))  # a contract's own words, not the node's
    assert is_gas_error(RpcError(-32000, "out of gas", None))
    assert not is_gas_error(RpcError(-32000, "header not found", None))


def test_chain_reader__reads_are_pinned_to_the_block_hash():
    rpc = FakeRpc({})
    chain = ChainReader(rpc, engine=ACCOUNTS[0], vault=ACCOUNTS[1], queue=ACCOUNTS[2], sender=ACCOUNTS[3])
    chain.pin({"number": "0x10", "hash": "0x" + "ee" * 32})
    method, params = chain.liquidatable(ACCOUNTS[:2])
    assert method == "eth_call" and params[1] == {"blockHash": "0x" + "ee" * 32}
    assert params[0]["data"].startswith("0x" + abi.LIQUIDATABLE.selector.hex())


def _wave_keeper(n_accounts: int, **config):
    accounts = [f"0x{i:040x}" for i in range(1, n_accounts + 1)]
    base = dict(rpc_url="", engine=ACCOUNTS[0], vault=ACCOUNTS[1], queue=ACCOUNTS[2], private_key="")
    keeper = SimpleNamespace(
        config=KeeperConfig(**base, **config),
        txs=SimpleNamespace(inflight={}),
        clock=lambda: 0.0,
        borrowers=accounts,
        borrower_set=set(accounts),
        collateral_assets=lambda: [ACCOUNTS[5]],
        keeper_id="unit",
        log=logging.getLogger("unit"),
    )
    strategy = LiquidationStrategy(keeper)
    strategy.last_full_scan = 0  # the batch size stays as configured (no calibration read)
    events = []
    liquidity_reads = []

    def scan(part):
        events.append(("scan", len(part)))
        return [part[0]]  # one liquidatable account in every wave

    def liquidate(todo, report, stop, liquidity):
        events.append(("liquidate", len(todo)))
        liquidity["seen"] = liquidity.get("seen", 0) + 1  # later waves get the same dict

    strategy.scan = scan
    strategy._liquidate = liquidate
    strategy._usable_liquidity = lambda: liquidity_reads.append(1) or {}
    return strategy, events, liquidity_reads


def test_full_scan__liquidates_after_the_first_batch__then_in_waves_of_one_batch_per_worker():
    strategy, events, liquidity_reads = _wave_keeper(1_300, batch_size=300, rpc_workers=2)
    report = StepReport(keeper_id="unit", block=100)

    strategy.run(report, None)

    # the reaction to a price does not wait for the whole book: 300 accounts are read before the first send
    assert events == [
        ("scan", 300),
        ("liquidate", 1),
        ("scan", 600),
        ("liquidate", 1),
        ("scan", 400),
        ("liquidate", 1),
    ]
    assert liquidity_reads == [1]  # one read per step: each wave plans with what earlier ones left
    assert report.scanned == 1_300 and report.liquidatable == 3 and report.full_scan


def test_full_scan__stop_between_waves__leaves_the_rest_for_the_next_step():
    strategy, events, _ = _wave_keeper(1_000, batch_size=300, rpc_workers=2)
    stop = threading.Event()

    def liquidate(todo, report, stop_, liquidity):
        events.append(("liquidate", len(todo)))
        stop.set()

    strategy._liquidate = liquidate
    strategy.run(StepReport(keeper_id="unit", block=100), stop)

    assert events == [("scan", 300), ("liquidate", 1)]
    assert len(strategy.recheck) == 700  # the accounts not yet read
