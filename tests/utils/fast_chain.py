"""Raw JSON-RPC access to the test node, for tests that send thousands of transactions (state machines, sweeps).

Ape's contract calls cost ~100 ms each (gas estimation, tracing on failure); here a transaction is one
`eth_sendTransaction` from an Anvil dev account plus one receipt poll (~3 ms), and a whole state read is one
JSON-RPC batch of `eth_call`s (`ala.bulk.Rpc.batch`). Calls run against the `pending` block, i.e. with the
block number and timestamp the next transaction will see.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import requests
from eth_abi import encode as abi_encode
from eth_utils import keccak

from ala.abi import revert_reason
from ala.bulk import Rpc
from tests.utils.clock import tick_per_block

GAS = 6_000_000


@functools.cache
def selector(signature: str) -> str:
    return keccak(text=signature)[:4].hex()


@functools.cache
def topic(signature: str) -> str:
    return "0x" + keccak(text=signature).hex()


def _types(signature: str) -> list[str]:
    inner = signature[signature.index("(") + 1 : -1]
    return [t for t in inner.split(",") if t]


def calldata(signature: str, *args: Any) -> str:
    """`0x` + selector + ABI-encoded arguments (types read from the signature; no tuples)."""
    return "0x" + selector(signature) + abi_encode(_types(signature), list(args)).hex()


def words(data: str) -> list[int]:
    """A return value of static words (uints, bools, addresses) as ints."""
    body = data[2:]
    return [int(body[i : i + 64], 16) for i in range(0, len(body), 64)]


def word(data: str, index: int = 0) -> int:
    return int(data[2 + 64 * index : 2 + 64 * (index + 1)], 16)


def address_of(thing: Any) -> str:
    """The address of an ape account or contract, or an address given as a string."""
    return str(getattr(thing, "address", thing))


def address_word(value: int) -> str:
    return "0x" + f"{value:040x}"


class Reverted(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FastChain:
    """One Anvil node: batched calls at the pending block, transactions from unlocked dev accounts."""

    def __init__(self, uri: str) -> None:
        self.rpc = Rpc(uri)
        self.uri = uri
        self._session = requests.Session()
        self._ids = 0

    @classmethod
    def of(cls, chain: Any) -> FastChain:
        """The node behind ape's connected provider."""
        provider = chain.provider
        return cls(getattr(provider, "uri", None) or provider.web3.provider.endpoint_uri)

    # ------------------------------------------------------------ raw requests

    def request(self, method: str, params: list | None = None) -> Any:
        self._ids += 1
        answer = self._session.post(
            self.uri, json={"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params or []}, timeout=60
        ).json()
        if "error" in answer:
            error = answer["error"]
            raise Reverted(revert_reason(error.get("data"), error.get("message", "")))
        return answer["result"]

    def batch_raw(self, requests_: Sequence[tuple[str, list]]) -> list[tuple[bool, Any]]:
        """Every request of one HTTP batch; (True, result) or (False, revert reason) per request."""
        if not requests_:
            return []
        payload = []
        for method, params in requests_:
            self._ids += 1
            payload.append({"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params})
        answers = {a["id"]: a for a in self._session.post(self.uri, json=payload, timeout=120).json()}
        out: list[tuple[bool, Any]] = []
        for item in payload:
            answer = answers[item["id"]]
            if "error" in answer:
                error = answer["error"]
                out.append((False, revert_reason(error.get("data"), error.get("message", ""))))
            else:
                out.append((True, answer["result"]))
        return out

    # ------------------------------------------------------------ calls

    def calls(self, items: Sequence[tuple[str, str]]) -> list[str]:
        """`(to, calldata)` view calls in one batch; every one must succeed."""
        return self.rpc.batch([("eth_call", [{"to": to, "data": data}, "pending"]) for to, data in items])

    def try_calls(self, items: Sequence[tuple[str, str, str]]) -> list[tuple[bool, str]]:
        """`(sender, to, calldata)` simulations in one batch: (True, return data) or (False, revert reason)."""
        return self.batch_raw(
            [
                ("eth_call", [{"from": sender, "to": to, "data": data, "gas": hex(GAS)}, "pending"])
                for sender, to, data in items
            ]
        )

    def simulate(self, sender: str, to: str, data: str) -> tuple[bool, str]:
        return self.try_calls([(sender, to, data)])[0]

    # ------------------------------------------------------------ transactions

    def send(self, sender: str, to: str, data: str, gas: int = GAS) -> dict:
        """Send one transaction (automine) and return its receipt, whatever its status."""
        tx_hash = self.request("eth_sendTransaction", [{"from": sender, "to": to, "data": data, "gas": hex(gas)}])
        return self.receipt(tx_hash)

    def receipt(self, tx_hash: str) -> dict:
        while True:
            receipt = self.request("eth_getTransactionReceipt", [tx_hash])
            if receipt is not None:
                return receipt

    def transact(self, sender: str, to: str, data: str) -> dict:
        """Send a transaction that must succeed; on failure raise `Reverted` with the reason a replay gives."""
        receipt = self.send(sender, to, data)
        if int(receipt["status"], 16) != 1:
            raise Reverted(self.failure_reason(receipt))
        return receipt

    def failure_reason(self, receipt: dict) -> str:
        """The revert reason of a mined, failed transaction (replayed by the node's tracer)."""
        trace = self.request("debug_traceTransaction", [receipt["transactionHash"], {"tracer": "callTracer"}])
        return revert_reason(trace.get("output"), trace.get("revertReason") or trace.get("error", ""))

    def state_diff(self, receipt: dict) -> dict:
        """`{"pre": ..., "post": ...}` of every account the transaction touched (prestateTracer, diff mode)."""
        return self.request(
            "debug_traceTransaction",
            [receipt["transactionHash"], {"tracer": "prestateTracer", "tracerConfig": {"diffMode": True}}],
        )

    def same_block(self, txs: Sequence[tuple[str, str, str]]) -> list[dict]:
        """Send `(sender, to, calldata)` transactions and mine them in ONE block; their receipts, in order."""
        self.request("evm_setAutomine", [False])
        try:
            hashes = [
                self.request("eth_sendTransaction", [{"from": s, "to": t, "data": d, "gas": hex(GAS)}])
                for s, t, d in txs
            ]
            self.request("evm_mine", [])
        finally:
            self.request("evm_setAutomine", [True])
        receipts = [self.receipt(h) for h in hashes]
        assert len({r["blockNumber"] for r in receipts}) == 1, "the transactions did not share a block"
        return receipts

    def mint_and_approve(
        self, minter: Any, token: Any, holder: Any, amount: int, spender: Any, allowance: int | None = None
    ) -> None:
        """Setup that is not under test, at ~3 ms a transaction instead of ape's ~60: `minter` mints `amount` of a
        mock token to `holder`, who approves `spender` for `allowance` (default: `amount`). Takes ape accounts,
        contracts or addresses; a holder that is not one of Anvil's dev accounts is impersonated."""
        minter, token, holder, spender = (address_of(x) for x in (minter, token, holder, spender))
        self.request("anvil_impersonateAccount", [holder])
        self.transact(minter, token, calldata("mint(address,uint256)", holder, amount))
        approve = calldata("approve(address,uint256)", spender, amount if allowance is None else allowance)
        self.transact(holder, token, approve)

    # ------------------------------------------------------------ blocks and time

    def head(self) -> tuple[int, int]:
        """(number, timestamp) of the latest block."""
        block = self.request("eth_getBlockByNumber", ["latest", False])
        return int(block["number"], 16), int(block["timestamp"], 16)

    def freeze_time(self) -> None:
        """Every later block gets the timestamp of the latest one until `set_next_timestamp` moves it."""
        tick_per_block(self.request, 0)

    def unfreeze_time(self) -> None:
        """Back to the suite's clock: one second per block (tests/utils/clock.py)."""
        tick_per_block(self.request)

    def set_next_timestamp(self, timestamp: int) -> None:
        self.request("evm_setNextBlockTimestamp", [timestamp])


def logs_of(receipt: dict, event_topic: str, address: str | None = None) -> list[dict]:
    out = []
    for entry in receipt["logs"]:
        ours = address is None or entry["address"].lower() == address.lower()
        if ours and entry["topics"] and entry["topics"][0] == event_topic:
            out.append(entry)
    return out


def log_words(entry: dict) -> tuple[list[int], list[int]]:
    """(indexed topics as ints, data words as ints) of a raw log."""
    return [int(t, 16) for t in entry["topics"][1:]], words(entry["data"])
