"""The liquidation strategy's health scan without a node: only a real gas error halves the scan batch."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from eth_abi import encode

from ala import abi
from ala.keeper import KeeperConfig
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
