"""Many transactions, fast, on Anvil (local and fork only).

Funding a demo market means thousands of transactions from hundreds of accounts. Ape sends one
transaction at a time and waits; here the accounts are impersonated (`anvil_impersonateAccount`,
no keys), nonces are set locally, and requests go out as JSON-RPC batches.
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import requests


class RpcError(RuntimeError):
    pass


@dataclass
class Call:
    sender: str
    to: str
    data: str
    gas: int = 2_000_000


class Rpc:
    """A minimal JSON-RPC client with batching."""

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        self.url = url
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._session = requests.Session()

    def call(self, method: str, params: list | None = None) -> Any:
        return self.batch([(method, params or [])])[0]

    def batch(self, requests_: list[tuple[str, list]], chunk: int = 200) -> list[Any]:
        results: list[Any] = []
        for start in range(0, len(requests_), chunk):
            part = requests_[start : start + chunk]
            payload = [{"jsonrpc": "2.0", "id": next(self._ids), "method": m, "params": p} for m, p in part]
            response = self._session.post(self.url, json=payload, timeout=self.timeout)
            response.raise_for_status()
            answers = {a["id"]: a for a in response.json()}
            for item in payload:
                answer = answers[item["id"]]
                if "error" in answer:
                    raise RpcError(f"{item['method']}: {answer['error']}")
                results.append(answer["result"])
        return results


class Bulk:
    """Impersonated senders with local nonces; `send` then `wait` for a set of calls."""

    def __init__(self, rpc: Rpc) -> None:
        self.rpc = rpc
        self._nonces: dict[str, int] = {}

    def prepare(self, accounts: list[str], wei: int = 10**21) -> None:
        requests_: list[tuple[str, list]] = []
        for a in accounts:
            requests_.append(("anvil_setBalance", [a, hex(wei)]))
            requests_.append(("anvil_impersonateAccount", [a]))
        self.rpc.batch(requests_)
        counts = self.rpc.batch([("eth_getTransactionCount", [a, "pending"]) for a in accounts])
        for a, n in zip(accounts, counts, strict=True):
            self._nonces[a.lower()] = int(n, 16)

    def send(self, calls: list[Call]) -> list[str]:
        """Send every call; calls of one sender keep their order (explicit nonces)."""
        requests_ = []
        for c in calls:
            key = c.sender.lower()
            nonce = self._nonces[key]
            self._nonces[key] = nonce + 1
            tx = {"from": c.sender, "to": c.to, "data": c.data, "gas": hex(c.gas), "nonce": hex(nonce)}
            requests_.append(("eth_sendTransaction", [tx]))
        return self.rpc.batch(requests_)

    def wait(self, hashes: list[str], timeout: float = 120.0) -> list[dict]:
        """Receipts of `hashes` (polled until mined); raises if any transaction reverted."""
        receipts: dict[str, dict] = {}
        deadline = time.monotonic() + timeout
        while len(receipts) < len(hashes):
            missing = [h for h in hashes if h not in receipts]
            for h, r in zip(
                missing, self.rpc.batch([("eth_getTransactionReceipt", [h]) for h in missing]), strict=True
            ):
                if r is not None:
                    receipts[h] = r
            if len(receipts) < len(hashes):
                if time.monotonic() > deadline:
                    raise RpcError(f"{len(hashes) - len(receipts)} of {len(hashes)} transactions never mined")
                time.sleep(0.05)
        failed = [h for h in hashes if int(receipts[h]["status"], 16) != 1]
        if failed:
            raise RpcError(f"{len(failed)} of {len(hashes)} transactions reverted, first {failed[0]}")
        return [receipts[h] for h in hashes]

    def run(self, calls: list[Call]) -> list[dict]:
        """Send `calls` with automine off and mine them in full blocks (one block per transaction is ~50x slower)."""
        self.rpc.call("evm_setAutomine", [False])
        try:
            hashes = self.send(calls)
            while int(self.rpc.call("txpool_status")["pending"], 16):
                self.rpc.call("evm_mine")
        finally:
            self.rpc.call("evm_setAutomine", [True])
        return self.wait(hashes)


def by_sender(calls: list[Call]) -> dict[str, list[Call]]:
    grouped: dict[str, list[Call]] = defaultdict(list)
    for c in calls:
        grouped[c.sender].append(c)
    return grouped


def encode(contract: Any, method: str, *args: Any) -> str:
    """Calldata of `contract.method(*args)` through ape's ABI encoder (no RPC)."""
    handler = getattr(contract, method)
    data = handler.encode_input(*args)
    return data if isinstance(data, str) else "0x" + bytes(data).hex()
