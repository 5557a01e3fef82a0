"""The slice of the ALA contracts' ABI that the keeper speaks, as human-readable signatures.

The keeper runs without ape (a plain web3/eth-abi process), so it does not load the compiled
manifest at run time: every function and event it uses is declared here once, in the form of the
`interfaces/*.vyi` files, and `tests/integration/test_keeper.py` checks each declaration against the
ABIs ape compiles, so the two cannot drift apart unnoticed.

Hot paths (the batched health scan) encode and decode by hand; everything else goes through eth-abi.
"""

from __future__ import annotations

import functools
import re
from collections import namedtuple
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

MAX_UINT = 2**256 - 1
ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)


def _split_top(types: str) -> list[str]:
    """Split "a,(b,c),d[]" on the commas that are not inside parentheses."""
    out, depth, cur = [], 0, []
    for ch in types:
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur.append(ch)
    tail = "".join(cur).strip()
    if tail:
        out.append(tail)
    return out


@functools.cache
def _struct(name: str, fields: tuple[str, ...]) -> type:
    return namedtuple("".join(w.title() for w in name.split("_")), fields)


@dataclass(frozen=True)
class Function:
    """One contract function: `Function("liquidate(address,address,uint256)", "(uint256,uint256)")`.

    `outputs` is the return type list; `fields` names the members of a returned struct, so that
    `decode` gives a namedtuple (`preview.funds`) instead of a bare tuple.
    """

    signature: str
    outputs: str = ""
    fields: tuple[str, ...] = ()

    @functools.cached_property
    def name(self) -> str:
        return self.signature.split("(", 1)[0]

    @functools.cached_property
    def input_types(self) -> list[str]:
        return _split_top(self.signature[len(self.name) + 1 : -1])

    @functools.cached_property
    def output_types(self) -> list[str]:
        return _split_top(self.outputs[1:-1]) if self.outputs.startswith("(") else _split_top(self.outputs)

    @functools.cached_property
    def selector(self) -> bytes:
        return keccak(text=self.signature)[:4]

    def encode(self, *args: Any) -> str:
        """Calldata as a 0x-hex string."""
        return "0x" + (self.selector + abi_encode(self.input_types, list(args))).hex()

    def decode(self, data: str | bytes) -> Any:
        """The return value: a single value, a tuple, or a namedtuple when `fields` names a struct."""
        raw = bytes.fromhex(data[2:]) if isinstance(data, str) else data
        values = abi_decode(self.output_types, raw)
        if self.fields:
            struct = _struct(self.name, self.fields)
            if self.output_types[0].endswith("[]"):
                return [struct(*v) for v in values[0]]
            return struct(*values[0])
        return values[0] if len(values) == 1 else values


@dataclass(frozen=True)
class Event:
    """One event, e.g. `Event("Borrowed(address indexed account, uint256 amount, address receiver)")`."""

    declaration: str

    @functools.cached_property
    def name(self) -> str:
        return self.declaration.split("(", 1)[0]

    @functools.cached_property
    def params(self) -> list[tuple[str, bool, str]]:
        """(type, indexed, name) of each parameter."""
        out = []
        for part in _split_top(self.declaration[len(self.name) + 1 : -1]):
            words = part.split()
            out.append((words[0], "indexed" in words[1:-1], words[-1]))
        return out

    @functools.cached_property
    def signature(self) -> str:
        return f"{self.name}({','.join(t for t, _, _ in self.params)})"

    @functools.cached_property
    def topic(self) -> str:
        return "0x" + keccak(text=self.signature).hex()

    def decode(self, log: dict) -> dict[str, Any]:
        """Arguments of a raw `eth_getLogs` entry, by name (addresses checksummed)."""
        topics = log["topics"][1:]
        data = bytes.fromhex(log["data"][2:])
        indexed = [(t, n) for t, i, n in self.params if i]
        plain = [(t, n) for t, i, n in self.params if not i]
        out: dict[str, Any] = {}
        for (typ, name), topic in zip(indexed, topics, strict=True):
            out[name] = abi_decode([typ], bytes.fromhex(topic[2:]))[0]
        for (_, name), value in zip(plain, abi_decode([t for t, _ in plain], data), strict=True):
            out[name] = value
        return {k: to_checksum_address(v) if isinstance(v, str) and v.startswith("0x") else v for k, v in out.items()}


# ---------------------------------------------------------------- functions

LIQUIDATION_PREVIEW = (
    "liquidatable",
    "repay",
    "seized",
    "funds",
    "first_slot",
    "last_slot",
    "keeper_fee",
    "protocol_fee",
    "auction_lot",
    "auction_tab",
)
AUCTION_INFO = ("account", "collateral", "lot", "tab", "due", "raised", "top", "started_at", "finished")
BID_INFO = ("owner", "collateral", "slot", "amount", "claimable", "pending", "activates_at")
ACCOUNT_HEALTH = ("collateral_value", "debt_value", "health", "risk_ratio", "leverage", "liquidatable")

# LiquidationEngine
LIQUIDATE = Function("liquidate(address,address,uint256)", "(uint256,uint256)")
LIQUIDATABLE = Function("liquidatable(address[])", "(bool[])")
PREVIEW_LIQUIDATION = Function(
    "preview_liquidation(address,address)",
    "((bool,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256))",
    LIQUIDATION_PREVIEW,
)
ENGINE_VAULT = Function("vault()", "(address)")
LENS_ENGINE = Function("engine()", "(address)")
ENGINE_QUEUE = Function("queue()", "(address)")
ENGINE_ORACLE = Function("oracle()", "(address)")
ENGINE_BASE_ASSET = Function("base_asset()", "(address)")
AUCTION_HOUSE = Function("auction_house()", "(address)")
ENGINE_AUCTIONS = Function("auctions()", "(address)")
AUCTION_OF = Function("auction_of(address)", "(uint256)")
AUCTION_BOOKED = Function("auction_booked(uint256)", "(uint256)")
SETTLE_AUCTION = Function("settle_auction(uint256)", "(uint256)")

# DutchAuction
NEXT_AUCTION_ID = Function("next_auction_id()", "(uint256)")
AUCTION_INFO_OF = Function(
    "auction_info(uint256)",
    "((address,address,uint256,uint256,uint256,uint256,uint256,uint256,bool))",
    AUCTION_INFO,
)
AUCTION_STATUS = Function("auction_status(uint256)", "(bool,uint256,uint256,uint256)")
TAKE = Function("take(uint256,uint256,uint256,address,bytes)", "(uint256,uint256)")
REDO = Function("redo(uint256,address)", "(uint256)")

# ERC-20 (the base asset a taker pays with)
BALANCE_OF = Function("balanceOf(address)", "(uint256)")
DECIMALS = Function("decimals()", "(uint8)")
ALLOWANCE = Function("allowance(address,address)", "(uint256)")
APPROVE = Function("approve(address,uint256)", "(bool)")

# LiquidationLens
ACCOUNTS_HEALTH = Function(
    "accounts_health(address[])", "((uint256,uint256,uint256,uint256,uint256,bool)[])", ACCOUNT_HEALTH
)
# LendingVault
COLLATERAL_OF = Function("collateral_of(address,address)", "(uint256)")
COLLATERAL_ASSETS = Function("collateral_assets()", "(address[])")
DEBT_OF = Function("debt_of(address)", "(uint256)")

# LiquidationQueue
USABLE_LIQUIDITY = Function("usable_liquidity(address)", "(uint256)")
ACTIVATE_BIDS = Function("activate_bids(uint256[])")
BID_INFO_OF = Function("bid_info(uint256)", "((address,address,uint256,uint256,uint256,bool,uint256))", BID_INFO)
NEXT_BID_ID = Function("next_bid_id()", "(uint256)")

# PriceOracle (the circuit breaker)
BREAKER_STATUS = ("tripped", "last_accepted", "accepted_at", "candidate", "tripped_at", "confirmable_at")
TOLERANCE = Function("tolerance(address)", "(uint256)")
LIQUIDATIONS_PAUSED = Function("liquidations_paused(address)", "(bool)")
BREAKER_STATUS_OF = Function(
    "breaker_status(address)", "((bool,uint256,uint256,uint256,uint256,uint256))", BREAKER_STATUS
)
POKE = Function("poke(address)", "(uint256)")
PRICE = Function("price(address)", "(uint256)")
ORACLE_FEEDS = Function("feeds(address)", "(address[])")
KEEPER_FEE = Function("keeper_fee()", "(uint256)")

# Chainlink proxies (EACAggregatorProxy) and aggregators
AGGREGATOR = Function("aggregator()", "(address)")
PHASE_ID = Function("phaseId()", "(uint16)")
LATEST_ROUND_DATA = Function("latestRoundData()", "(uint80,int256,uint256,uint256,uint80)")

# ---------------------------------------------------------------- events

COLLATERAL_ADDED = Event(
    "CollateralAdded(address indexed account, address indexed asset, uint256 amount, address sender)"
)
BORROWED = Event("Borrowed(address indexed account, uint256 amount, address receiver)")
BID_SUBMITTED = Event(
    "BidSubmitted(uint256 indexed bid_id, address indexed owner, address indexed collateral, uint256 slot,"
    " uint256 amount, uint256 activates_at, bool immediate)"
)
BID_ACTIVATED = Event("BidActivated(uint256 indexed bid_id, address indexed collateral, uint256 slot, uint256 amount)")
LIQUIDATION = Event(
    "Liquidation(address indexed account, address indexed collateral, address indexed keeper, uint256 repaid,"
    " uint256 seized, uint256 funds, uint256 keeper_fee, uint256 protocol_fee, uint256 first_slot,"
    " uint256 last_slot, uint256 bad_debt)"
)
COLLATERAL_CONFIGURED = Event(
    "CollateralConfigured(address indexed asset, uint256 max_ltv, uint256 liq_ltv, uint256 risk_factor)"
)
RISK_LIMITS_SET = Event(
    "RiskLimitsSet(uint256 base_risk_factor, uint256 max_risk_ratio, uint256 liq_risk_ratio, uint256 max_leverage,"
    " uint256 liq_leverage, uint256 ramp_end)"
)
ANSWER_UPDATED = Event("AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt)")
NEW_ROUND = Event("NewRound(uint256 indexed roundId, address indexed startedBy, uint256 startedAt)")
# OCR aggregators (behind mainnet proxies) report each round with NewTransmission; OCR1 and OCR2 differ in shape
NEW_TRANSMISSION_OCR1 = Event(
    "NewTransmission(uint32 indexed aggregatorRoundId, int192 answer, address transmitter, int192[] observations,"
    " bytes observers, bytes32 rawReportContext)"
)
NEW_TRANSMISSION_OCR2 = Event(
    "NewTransmission(uint32 indexed aggregatorRoundId, int192 answer, address transmitter,"
    " uint32 observationsTimestamp, int192[] observations, bytes observers, int192 juelsPerFeeCoinTokens,"
    " bytes32 configDigest, uint40 epochAndRound)"
)
AUCTIONS_SET = Event("AuctionsSet(address indexed auctions)")
FEEDS_SET = Event("FeedsSet(address indexed asset, address[] feeds, uint256 max_age, uint256 max_spread)")
ASSET_REMOVED = Event("AssetRemoved(address indexed asset)")

# What each contract must expose for the keeper (checked against the compiled ABIs by the tests).
KEEPER_SURFACE: dict[str, list[Function | Event]] = {
    "LiquidationEngine": [
        LIQUIDATE,
        ENGINE_VAULT,
        ENGINE_QUEUE,
        ENGINE_ORACLE,
        LIQUIDATION,
        ENGINE_BASE_ASSET,
        ENGINE_AUCTIONS,
        AUCTIONS_SET,
        COLLATERAL_CONFIGURED,
        RISK_LIMITS_SET,
        KEEPER_FEE,
    ],
    "LiquidationLens": [LIQUIDATABLE, PREVIEW_LIQUIDATION, ACCOUNTS_HEALTH, LENS_ENGINE],
    "AuctionSettlement": [AUCTION_HOUSE, AUCTION_OF, AUCTION_BOOKED, SETTLE_AUCTION],
    "DutchAuction": [NEXT_AUCTION_ID, AUCTION_INFO_OF, AUCTION_STATUS, TAKE, REDO],
    "LendingVault": [
        COLLATERAL_OF,
        COLLATERAL_ASSETS,
        DEBT_OF,
        COLLATERAL_ADDED,
        BORROWED,
    ],
    "LiquidationQueue": [USABLE_LIQUIDITY, ACTIVATE_BIDS, BID_INFO_OF, NEXT_BID_ID, BID_SUBMITTED, BID_ACTIVATED],
    "MockAggregator": [ANSWER_UPDATED, NEW_ROUND, LATEST_ROUND_DATA],
    "MockAggregatorProxy": [AGGREGATOR, PHASE_ID, LATEST_ROUND_DATA],
    "PriceOracle": [
        TOLERANCE,
        LIQUIDATIONS_PAUSED,
        BREAKER_STATUS_OF,
        POKE,
        PRICE,
        ORACLE_FEEDS,
        FEEDS_SET,
        ASSET_REMOVED,
    ],
    "MockERC20": [BALANCE_OF, DECIMALS, ALLOWANCE, APPROVE],
}


# ---------------------------------------------------------------- hand-rolled hot paths


def encode_address_array(fn: Function, addresses: list[str]) -> str:
    """Calldata of `fn(address[])` without eth-abi: selector, offset, length, then one word per address."""
    parts = [fn.selector.hex(), f"{32:064x}", f"{len(addresses):064x}"]
    parts.extend("0" * 24 + a[2:].lower() for a in addresses)
    return "0x" + "".join(parts)


def decode_bool_array(data: str) -> list[bool]:
    """A returned `bool[]` without eth-abi: skip the offset and the length words, read the last digit of each word."""
    body = data[2:]
    length = int(body[64:128], 16)
    return [body[128 + 64 * i + 63] != "0" for i in range(length)]


def decode_uint(data: str) -> int:
    return int(data[2:66] or "0", 16)


def decode_preview(data: str) -> Any:
    """`preview_liquidation`'s LiquidationPreview (ten static words) without eth-abi."""
    words = decode_words(data)
    return _struct(PREVIEW_LIQUIDATION.name, LIQUIDATION_PREVIEW)(bool(words[0]), *words[1:10])


def decode_words(data: str) -> list[int]:
    """A returned static struct (all words: uints and bools) without eth-abi."""
    body = data[2:]
    return [int(body[i : i + 64], 16) for i in range(0, len(body), 64)]


_REASON = re.compile(r"reverted with reason string '(.*)'|execution reverted: (.*)")


def revert_reason(data: Any, message: str = "") -> str:
    """Best-effort reason of a revert from a JSON-RPC error's `data` (0x-hex) and `message`."""
    if isinstance(data, dict):  # some nodes nest it: {"data": "0x..."}
        data = data.get("data", "")
    if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
        raw = bytes.fromhex(data[2:])
        try:
            if raw[:4] == ERROR_SELECTOR:
                return abi_decode(["string"], raw[4:])[0]
            if raw[:4] == PANIC_SELECTOR:
                return f"panic 0x{abi_decode(['uint256'], raw[4:])[0]:02x}"
        except Exception:  # malformed payloads fall through to the message
            pass
    match = _REASON.search(message or "")
    if match:
        return next(g for g in match.groups() if g is not None)
    return message or "reverted"
