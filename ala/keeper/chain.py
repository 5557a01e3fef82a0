"""The chain reader: every contract call the keeper makes, in one place.

Each read is a batch entry (`ala.rpc.Call`) pinned to the block the current step started at, by hash
(EIP-1898) when the node gave one, so that every read of a step sees one state, and a block replaced by a
reorganisation is never mixed with its successor. Each write is `(to, calldata)`. Strategies decode the
answers with `ala.abi`. When a function moves between contracts (the risk views move from the vault to the
engine), only the address below changes.
"""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address

from ala import abi
from ala.rpc import Call, RpcClient, call

# Events the keeper follows, by the contract that emits them.
VAULT_EVENTS = (abi.COLLATERAL_ADDED, abi.BORROWED)
# Risk-parameter changes: the vault emits them today, the engine after the split; both are followed.
# The engine's AuctionsSet: its auction settlement (and with it the house, set before) was wired after start.
PARAMETER_EVENTS = (abi.COLLATERAL_CONFIGURED, abi.RISK_LIMITS_SET, abi.AUCTIONS_SET)
QUEUE_EVENTS = (abi.BID_SUBMITTED, abi.BID_ACTIVATED)
ORACLE_EVENTS = (abi.FEEDS_SET, abi.ASSET_REMOVED)
# A new round of an aggregator (proxies emit nothing: the keeper listens to the aggregators behind them)
PRICE_EVENTS = (abi.ANSWER_UPDATED, abi.NEW_ROUND, abi.NEW_TRANSMISSION_OCR1, abi.NEW_TRANSMISSION_OCR2)
PRICE_TOPICS = frozenset(e.topic for e in PRICE_EVENTS)


class ChainReader:
    """Addresses of the deployment and the calls the keeper makes to them."""

    def __init__(self, rpc: RpcClient, *, engine: str, vault: str, queue: str, sender: str, lens: str = "") -> None:
        self.rpc = rpc
        self.engine = to_checksum_address(engine)
        # the views (`liquidatable`, `preview_liquidation`) live in the lens; tests without one read the engine's
        self.lens = to_checksum_address(lens) if lens else self.engine
        self.vault = to_checksum_address(vault)
        self.queue = to_checksum_address(queue)
        self.sender = sender
        self.oracle = ""
        # the engine's auction settlement (AuctionSettlement.vy); "" until `auction_house` finds one
        self.auctions = ""
        # the block reads run against: "latest", or {"blockHash": ...} once a step has pinned its head
        self.tag: Any = "latest"

    def pin(self, block: dict | None) -> None:
        """Run the reads that follow against `block` (by hash), or the latest block with None."""
        self.tag = {"blockHash": block["hash"]} if block and block.get("hash") else "latest"

    def _read(self, to: str, data: str, sender: str | None = None) -> Call:
        return call(to, data, self.tag, sender=sender)

    def _one(self, to: str, fn: abi.Function, *args: Any) -> Any:
        return fn.decode(self.rpc.request("eth_call", [{"to": to, "data": fn.encode(*args)}, self.tag]))

    # ------------------------------------------------------------ wiring (single reads)

    def wiring(self) -> tuple[str, str]:
        """The (vault, queue) the engine is wired to."""
        return self._one(self.engine, abi.ENGINE_VAULT), self._one(self.engine, abi.ENGINE_QUEUE)

    def lens_engine(self) -> str:
        """The engine the lens reads."""
        return self._one(self.lens, abi.LENS_ENGINE)

    def resolve_oracle(self) -> str:
        self.oracle = to_checksum_address(self._one(self.engine, abi.ENGINE_ORACLE))
        return self.oracle

    def collateral_assets(self) -> list[str]:
        return [to_checksum_address(a) for a in self._one(self.vault, abi.COLLATERAL_ASSETS)]

    def base_asset(self) -> str:
        return to_checksum_address(self._one(self.engine, abi.ENGINE_BASE_ASSET))

    def auction_house(self) -> str:
        """The house of the engine's auction settlement (the settlement is remembered), or the zero address."""
        auctions = self._one(self.engine, abi.ENGINE_AUCTIONS)
        if int(auctions, 16) == 0:
            return auctions
        self.auctions = to_checksum_address(auctions)
        return self._one(self.auctions, abi.AUCTION_HOUSE)

    def next_auction_id(self, house: str) -> int:
        return self._one(house, abi.NEXT_AUCTION_ID)

    def decimals(self, token: str) -> int:
        return self._one(token, abi.DECIMALS)

    # ------------------------------------------------------------ batch entries

    def liquidatable(self, accounts: list[str]) -> Call:
        return self._read(self.lens, abi.encode_address_array(abi.LIQUIDATABLE, accounts))

    def liquidatable_data(self, accounts: list[str]) -> str:
        return abi.encode_address_array(abi.LIQUIDATABLE, accounts)

    def collateral_of(self, account: str, asset: str) -> Call:
        return self._read(self.vault, abi.COLLATERAL_OF.encode(account, asset))

    def preview_liquidation(self, account: str, asset: str) -> Call:
        return self._read(self.lens, abi.PREVIEW_LIQUIDATION.encode(account, asset))

    def usable_liquidity(self, asset: str) -> Call:
        return self._read(self.queue, abi.USABLE_LIQUIDITY.encode(asset))

    def bid_info(self, bid_id: int, tag: Any = None) -> Call:
        return call(self.queue, abi.BID_INFO_OF.encode(bid_id), self.tag if tag is None else tag)

    def tolerance(self, asset: str) -> Call:
        return self._read(self.oracle, abi.TOLERANCE.encode(asset))

    def breaker_status(self, asset: str) -> Call:
        return self._read(self.oracle, abi.BREAKER_STATUS_OF.encode(asset))

    def liquidations_paused(self, asset: str) -> Call:
        return self._read(self.oracle, abi.LIQUIDATIONS_PAUSED.encode(asset))

    def price(self, asset: str) -> Call:
        return self._read(self.oracle, abi.PRICE.encode(asset))

    def oracle_feeds(self, asset: str) -> Call:
        return self._read(self.oracle, abi.ORACLE_FEEDS.encode(asset))

    def aggregator(self, proxy: str) -> Call:
        return self._read(proxy, abi.AGGREGATOR.encode())

    def auction_info(self, house: str, auction_id: int) -> Call:
        return self._read(house, abi.AUCTION_INFO_OF.encode(auction_id))

    def auction_status(self, house: str, auction_id: int) -> Call:
        return self._read(house, abi.AUCTION_STATUS.encode(auction_id))

    def auction_booked(self, auction_id: int) -> Call:
        return self._read(self.auctions, abi.AUCTION_BOOKED.encode(auction_id))

    def auction_of(self, account: str) -> Call:
        return self._read(self.auctions, abi.AUCTION_OF.encode(account))

    def balance_of(self, token: str, owner: str) -> Call:
        return self._read(token, abi.BALANCE_OF.encode(owner))

    def allowance(self, token: str, owner: str, spender: str) -> Call:
        return self._read(token, abi.ALLOWANCE.encode(owner, spender))

    def simulate(self, to: str, data: str) -> Call:
        """The exact transaction as an `eth_call` from the keeper."""
        return self._read(to, data, sender=self.sender)

    def estimate_gas(self, to: str, data: str) -> Call:
        return ("eth_estimateGas", [{"from": self.sender, "to": to, "data": data}, self.tag])

    # ------------------------------------------------------------ transactions: (to, calldata)

    def liquidate(self, account: str, asset: str) -> tuple[str, str]:
        return self.engine, abi.LIQUIDATE.encode(account, asset, abi.MAX_UINT)

    def activate_bids(self, bid_ids: list[int]) -> tuple[str, str]:
        return self.queue, abi.ACTIVATE_BIDS.encode(bid_ids)

    def poke(self, asset: str) -> tuple[str, str]:
        return self.oracle, abi.POKE.encode(asset)

    def settle_auction(self, auction_id: int) -> tuple[str, str]:
        return self.auctions, abi.SETTLE_AUCTION.encode(auction_id)

    def redo(self, house: str, auction_id: int) -> tuple[str, str]:
        return house, abi.REDO.encode(auction_id, self.sender)

    def take(self, house: str, auction_id: int, amount: int, price: int) -> tuple[str, str]:
        return house, abi.TAKE.encode(auction_id, amount, price, self.sender, b"")

    def approve(self, token: str, spender: str) -> tuple[str, str]:
        return token, abi.APPROVE.encode(spender, abi.MAX_UINT)
