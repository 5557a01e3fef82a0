"""The keeper's signer (libsecp256k1 through coincurve) against eth-account, byte for byte."""

from __future__ import annotations

import pytest
import rlp
from eth_account import Account

from ala.rpc import Signer, rlp_encode

KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
ENGINE = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
LIQUIDATE = "0x" + "a5a2b2e5" + "00" * 12 + "11" * 20 + "00" * 12 + "22" * 20 + "ff" * 32


@pytest.mark.parametrize("nonce", [0, 1, 127, 128, 2**32])
@pytest.mark.parametrize("chain_id", [1, 31337])
def test_signer_1559__same_bytes_as_eth_account(nonce, chain_id):
    fields = dict(chain_id=chain_id, nonce=nonce, to=ENGINE, data=LIQUIDATE, gas=412_345)
    raw, tx_hash = Signer(KEY).sign_1559(**fields, max_fee=31 * 10**9, priority_fee=10**9 + 7)

    expected = Account.sign_transaction(
        {
            "type": 2,
            "chainId": chain_id,
            "nonce": nonce,
            "to": ENGINE,
            "data": LIQUIDATE,
            "gas": 412_345,
            "maxFeePerGas": 31 * 10**9,
            "maxPriorityFeePerGas": 10**9 + 7,
            "value": 0,
        },
        KEY,
    )
    assert raw == "0x" + bytes(expected.raw_transaction).hex()
    assert tx_hash == "0x" + bytes(expected.hash).hex()


def test_signer_legacy__same_bytes_as_eth_account():
    raw, tx_hash = Signer(KEY).sign_legacy(chain_id=10, nonce=5, to=ENGINE, data="0x", gas=21_000, gas_price=10**9)
    expected = Account.sign_transaction(
        {"chainId": 10, "nonce": 5, "to": ENGINE, "data": "0x", "gas": 21_000, "gasPrice": 10**9, "value": 0}, KEY
    )
    assert raw == "0x" + bytes(expected.raw_transaction).hex()
    assert tx_hash == "0x" + bytes(expected.hash).hex()


def test_signer__address_is_eth_accounts():
    assert Signer(KEY).address == Account.from_key(KEY).address


@pytest.mark.parametrize("key", ["0x" + "00" * 32, "0x" + "ff" * 32, "0x1234"])
def test_signer__invalid_key__refused_without_echoing_it(key):
    with pytest.raises(ValueError) as info:
        Signer(key)
    assert key[2:] not in str(info.value)


@pytest.mark.parametrize(
    "item",
    [0, 1, 127, 128, 255, 256, 2**64, b"", b"\x00", b"\x7f", b"\x80", b"x" * 55, b"x" * 56, b"x" * 1024, [], [[]]],
)
def test_rlp_encode__matches_pyrlp(item):
    assert rlp_encode(item) == rlp.encode(item)


def test_rlp_encode__a_transaction_envelope_matches_pyrlp():
    fields = [1, 9, 10**9, 3 * 10**10, 300_000, bytes.fromhex(ENGINE[2:]), 0, bytes.fromhex(LIQUIDATE[2:]), []]
    assert rlp_encode(fields) == rlp.encode(fields)
