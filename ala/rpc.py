"""What goes over the wire: a thin JSON-RPC client with batching, concurrency and retries, and a signer.

The keeper talks to the node through this module only. It is deliberately below web3.py's `Web3`
object: one health-scan batch is one HTTP request, a round of previews is one JSON-RPC batch, and
no middleware runs per call. The pieces of the web3.py stack it does use are eth-abi (in `ala.abi`),
coincurve (libsecp256k1) and eth-utils (the signer below) and `requests` for HTTP keep-alive.

Retries: connection errors, timeouts, HTTP 429/5xx, truncated or non-JSON bodies and the usual
"try again" JSON-RPC errors are retried with capped exponential backoff and jitter; after
`max_attempts` a `TransportError` is raised, which the keeper's loop logs and survives. Errors the
node returns for a call (reverts, nonce errors) come back as `RpcError` values, never retried here.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import coincurve
import requests
from eth_utils import keccak, to_checksum_address

from ala.abi import revert_reason

log = logging.getLogger("ala.rpc")

Call = tuple[str, Sequence[Any]]

# JSON-RPC errors that mean "the node is busy or behind", not "your call is wrong".
_TRANSIENT_CODES = {-32005, 429}
_TRANSIENT_WORDS = ("rate limit", "too many requests", "timeout", "timed out", "header not found", "try again", "busy")


class RpcError(Exception):
    """An error object the node returned for one call."""

    def __init__(self, code: int, message: str, data: Any = None, method: str = "") -> None:
        super().__init__(f"{method}: {message} ({code})" if method else f"{message} ({code})")
        self.code = code
        self.message = message
        self.data = data
        self.method = method

    @property
    def reason(self) -> str:
        """The revert reason when this is a revert, else the message."""
        return revert_reason(self.data, self.message)

    @property
    def transient(self) -> bool:
        text = self.message.lower()
        return self.code in _TRANSIENT_CODES or any(w in text for w in _TRANSIENT_WORDS)


class TransportError(Exception):
    """The node could not be reached (or kept failing) after every retry."""


class RpcClient:
    """JSON-RPC over HTTP keep-alive, one session per thread.

    `request` sends one call; `batch` sends many calls as JSON-RPC batches of at most `batch_limit`
    (results in call order, `RpcError` instances in place of failed calls); `batches` runs several
    batches concurrently on a small thread pool.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        max_attempts: int = 8,
        backoff: float = 0.05,
        max_backoff: float = 2.0,
        batch_limit: int = 500,
        workers: int = 8,
        on_retry: Callable[[str, Exception, int], None] | None = None,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.batch_limit = batch_limit
        self.on_retry = on_retry
        self.retries = 0  # transport-level retries so far (for reports)
        self._ids = itertools.count(1)
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rpc")
        self._jitter = random.Random()
        # set by the keeper's loop: a stop request cuts retry backoffs short
        self.abort: threading.Event | None = None
        # time.monotonic() after which no request is sent and none waits (the keeper's shutdown sets it)
        self.deadline: float | None = None

    def _remaining(self, label: str) -> float | None:
        if self.deadline is None:
            return None
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TransportError(f"{label}: out of time")
        return left

    def _sleep(self, delay: float, label: str) -> None:
        left = self._remaining(label)
        if left is not None and delay >= left:
            raise TransportError(f"{label}: out of time while retrying")
        if self.abort is not None:
            if self.abort.wait(delay):
                raise TransportError(f"{label}: stopped while retrying")
        else:
            time.sleep(delay)

    # ------------------------------------------------------------ plumbing

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            # proxies from the environment once, not on every request (requests re-reads them each time)
            session.proxies = requests.utils.get_environ_proxies(self.url)
            session.trust_env = False
            adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=4, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
        return session

    def _post(self, payload: Any, label: str) -> Any:
        """POST a JSON body and parse the answer, retrying transport trouble with backoff."""
        body = json.dumps(payload, separators=(",", ":"))
        attempt = 0
        while True:
            attempt += 1
            timeout = self.timeout
            left = self._remaining(label)
            if left is not None:
                timeout = min(timeout, left)
            try:
                resp = self._session().post(
                    self.url,
                    data=body,
                    headers={"Content-Type": "application/json"},
                    timeout=(min(3.0, timeout), timeout),
                )
                if resp.status_code == 429 or resp.status_code >= 500:
                    raise requests.HTTPError(f"HTTP {resp.status_code}")
                if resp.status_code >= 400 and not resp.content:
                    raise requests.HTTPError(f"HTTP {resp.status_code}")
                return resp.json()
            except (requests.RequestException, ValueError) as exc:
                # a broken connection can poison the pooled socket: start afresh
                broken, self._local.session = getattr(self._local, "session", None), None
                if broken is not None:
                    broken.close()
                if attempt >= self.max_attempts:
                    raise TransportError(f"{label}: {exc.__class__.__name__}: {exc} after {attempt} attempts") from exc
                self.retries += 1
                if self.on_retry is not None:
                    self.on_retry(label, exc, attempt)
                delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
                self._sleep(delay * (0.5 + self._jitter.random()), label)

    @staticmethod
    def _result(item: dict, method: str) -> Any:
        if "error" in item and item["error"] is not None:
            err = item["error"]
            return RpcError(int(err.get("code", 0)), str(err.get("message", "")), err.get("data"), method)
        return item.get("result")

    # ------------------------------------------------------------ API

    def request(self, method: str, params: Sequence[Any] = ()) -> Any:
        """One call; raises `RpcError` for an error answer (transient ones are retried first)."""
        for attempt in range(1, self.max_attempts + 1):
            answer = self._post(
                {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}, method
            )
            if not isinstance(answer, dict):
                raise TransportError(f"{method}: unexpected answer {answer!r:.200}")
            result = self._result(answer, method)
            if isinstance(result, RpcError):
                if result.transient and attempt < self.max_attempts:
                    self.retries += 1
                    self._sleep(min(self.max_backoff, self.backoff * 2**attempt), method)
                    continue
                raise result
            return result
        raise AssertionError("unreachable")

    def batch(self, calls: Sequence[Call]) -> list[Any]:
        """Many calls in JSON-RPC batches, sequentially; a failed call yields its `RpcError`."""
        out: list[Any] = []
        for start in range(0, len(calls), self.batch_limit):
            out.extend(self._batch_once(calls[start : start + self.batch_limit]))
        return out

    def batches(self, chunks: Sequence[Sequence[Call]]) -> list[list[Any]]:
        """Several batches at once on the thread pool (each chunk is one HTTP request)."""
        if len(chunks) <= 1:
            return [self.batch(c) for c in chunks]
        return list(self._pool.map(self.batch, chunks))

    def _batch_once(self, calls: Sequence[Call]) -> list[Any]:
        if not calls:
            return []
        for attempt in range(1, self.max_attempts + 1):
            # ids only need to be unique within one batch
            first = 1
            payload = [
                {"jsonrpc": "2.0", "id": first + i, "method": m, "params": list(p)} for i, (m, p) in enumerate(calls)
            ]
            answer = self._post(payload, f"batch[{len(calls)}]:{calls[0][0]}")
            if isinstance(answer, dict):
                # the whole batch was refused (too large, or batching unsupported): split it
                if len(calls) > 1:
                    half = len(calls) // 2
                    return self._batch_once(calls[:half]) + self._batch_once(calls[half:])
                return [self._result(answer, calls[0][0])]
            by_id = {item.get("id"): item for item in answer if isinstance(item, dict)}
            results = []
            missing = False
            for i, (method, _) in enumerate(calls):
                item = by_id.get(first + i)
                if item is None:
                    missing = True
                    break
                results.append(self._result(item, method))
            transient = [r for r in results if isinstance(r, RpcError) and r.transient]
            if not missing and not transient:
                return results
            if attempt == self.max_attempts:
                if missing:
                    raise TransportError(f"batch of {len(calls)}: incomplete answer after {attempt} attempts")
                return results
            self.retries += 1
            self._sleep(min(self.max_backoff, self.backoff * 2**attempt), "batch")
        raise AssertionError("unreachable")

    # ------------------------------------------------------------ conveniences

    def eth_call(self, to: str, data: str, block: str = "latest", sender: str | None = None) -> str:
        tx = {"to": to, "data": data}
        if sender:
            tx["from"] = sender
        return self.request("eth_call", [tx, block])

    def block(self, tag: str | int = "latest") -> dict:
        return self.request("eth_getBlockByNumber", [tag if isinstance(tag, str) else hex(tag), False])

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def call(to: str, data: str, block: str = "latest", sender: str | None = None) -> Call:
    """An `eth_call` as a batch entry."""
    tx: dict[str, Any] = {"to": to, "data": data}
    if sender:
        tx["from"] = sender
    return ("eth_call", [tx, block])


# ---------------------------------------------------------------- signing


def _rlp_length(n: int, offset: int) -> bytes:
    if n < 56:
        return bytes([offset + n])
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(size)]) + size


def rlp_encode(item: int | bytes | list) -> bytes:
    """RLP of a transaction's fields (non-negative ints, byte strings, lists): what `rlp.encode` gives for
    them, at a fraction of its cost (the generic encoder infers a serializer for every field)."""
    if isinstance(item, int):
        item = item.to_bytes((item.bit_length() + 7) // 8, "big") if item else b""
    if isinstance(item, bytes):
        if len(item) == 1 and item[0] < 0x80:
            return item
        return _rlp_length(len(item), 0x80) + item
    body = b"".join(rlp_encode(x) for x in item)
    return _rlp_length(len(body), 0xC0) + body


def _sign_hash(key: coincurve.PrivateKey, msg_hash: bytes) -> tuple[int, int, int]:
    """(v in {0, 1}, r, s): libsecp256k1's RFC 6979 signature, low s, as eth-keys makes it."""
    sig = key.sign_recoverable(msg_hash, hasher=None)
    return sig[64], int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big")


class Signer:
    """Signs EIP-1559 (type 2) and legacy transactions with a local key, through libsecp256k1 (`coincurve`).

    libsecp256k1 signs in constant time (no table look-up indexed by the secret nonce) and faster than
    `eth_account.Account.sign_transaction`, which also re-derives the public key on every call: the key
    object is built once and the envelope is RLP-encoded here. The key lives in memory only and never
    appears in `repr`, logs or files.
    """

    def __init__(self, private_key: str | bytes) -> None:
        try:
            raw = bytes.fromhex(private_key.removeprefix("0x")) if isinstance(private_key, str) else bytes(private_key)
        except ValueError:
            raw = b""  # not hex: the message below, which does not echo the text
        if len(raw) != 32:
            raise ValueError("a private key is 32 bytes, hex-encoded")
        try:
            self._key = coincurve.PrivateKey(raw)
        except ValueError as exc:  # zero or not below the curve order; the message must not echo the key
            raise ValueError("not a valid secp256k1 private key") from exc
        public = self._key.public_key.format(compressed=False)[1:]
        self.address = to_checksum_address(keccak(public)[-20:])

    def _sign(self, msg_hash: bytes) -> tuple[int, int, int]:
        return _sign_hash(self._key, msg_hash)

    def __repr__(self) -> str:
        return f"Signer({self.address})"

    def sign_1559(
        self,
        *,
        chain_id: int,
        nonce: int,
        to: str,
        data: str,
        gas: int,
        max_fee: int,
        priority_fee: int,
        value: int = 0,
    ) -> tuple[str, str]:
        """(raw transaction, transaction hash), both 0x-hex."""
        fields = [
            chain_id,
            nonce,
            priority_fee,
            max_fee,
            gas,
            bytes.fromhex(to[2:]),
            value,
            bytes.fromhex(data[2:]),
            [],
        ]
        v, r, s = self._sign(keccak(b"\x02" + rlp_encode(fields)))
        raw = b"\x02" + rlp_encode([*fields, v, r, s])
        return "0x" + raw.hex(), "0x" + keccak(raw).hex()

    def sign_legacy(
        self, *, chain_id: int, nonce: int, to: str, data: str, gas: int, gas_price: int, value: int = 0
    ) -> tuple[str, str]:
        """EIP-155 legacy transaction for chains without a base fee."""
        fields = [nonce, gas_price, gas, bytes.fromhex(to[2:]), value, bytes.fromhex(data[2:])]
        v, r, s = self._sign(keccak(rlp_encode([*fields, chain_id, 0, 0])))
        raw = rlp_encode([*fields, v + 35 + 2 * chain_id, r, s])
        return "0x" + raw.hex(), "0x" + keccak(raw).hex()
