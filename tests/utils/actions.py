"""Readable moves on a deployed system: amounts in whole tokens, prices in USD."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ala.deploy import System, feed_answer
from tests.utils.fast_chain import FastChain

MAX_UINT = 2**256 - 1


class Actions:
    def __init__(self, system: System, owner: Any, chain: Any) -> None:
        self.s = system
        self.owner = owner
        self.chain = chain
        self.fast = FastChain.of(chain)

    def units(self, symbol: str, amount: float | int | Decimal | str) -> int:
        token = self.s.tokens[symbol]
        return int(Decimal(str(amount)) * 10 ** token.decimals())

    def mint(self, symbol: str, account: Any, amount: Any, spender: Any) -> int:
        """Mint whole tokens to `account`, approved to `spender` without limit (raw transactions: setup)."""
        raw = self.units(symbol, amount)
        self.fast.mint_and_approve(self.owner, self.s.tokens[symbol], account, raw, spender, allowance=MAX_UINT)
        return raw

    def lend(self, lender: Any, amount: Any) -> Any:
        raw = self.mint(self.s.params.base.symbol, lender, amount, self.s.vault)
        return self.s.vault.deposit(raw, lender, sender=lender)

    def post(self, borrower: Any, symbol: str, amount: Any) -> Any:
        raw = self.mint(symbol, borrower, amount, self.s.vault)
        return self.s.vault.add_collateral(self.s.tokens[symbol], raw, borrower, sender=borrower)

    def borrow(self, borrower: Any, amount: Any) -> Any:
        return self.s.vault.borrow(self.units(self.s.params.base.symbol, amount), borrower, sender=borrower)

    def set_price(self, symbol: str, usd: Any) -> None:
        for feed in self.s.feeds[symbol]:
            feed.update_answer(feed_answer(Decimal(str(usd)), feed.decimals()), sender=self.owner)

    def submit(self, bidder: Any, symbol: str, slot: int, amount: Any) -> int:
        raw = self.mint(self.s.params.base.symbol, bidder, amount, self.s.queue)
        tx = self.s.queue.submit_bid(self.s.tokens[symbol], slot, raw, sender=bidder)
        return self.s.queue.BidSubmitted.from_receipt(tx)[0].bid_id

    def activate(self, bid_ids: list[int]) -> None:
        """Wait out the activation period, activate, and mine a block so the bids can fill."""
        self.chain.pending_timestamp += max(c.waiting_period for c in self.s.params.collaterals)
        self.s.queue.activate_bids(bid_ids, sender=self.owner)
        self.chain.mine()

    def bid(self, bidder: Any, symbol: str, slot: int, amount: Any) -> int:
        """An active bid, ready to take part in the next liquidation."""
        bid_id = self.submit(bidder, symbol, slot, amount)
        self.activate([bid_id])
        return bid_id

    def wait_out_ramps(self) -> None:
        """Let threshold ramps (one day) finish, then post every price again so that none is stale."""
        self.chain.pending_timestamp = self.chain.blocks.head.timestamp + 86_400
        self.refresh_feeds()

    def refresh_feeds(self) -> None:
        """Re-post every current answer (keeps feeds fresh after long time jumps)."""
        for feeds in self.s.feeds.values():
            for feed in feeds:
                feed.update_answer(feed.latestRoundData()[1], sender=self.owner)
