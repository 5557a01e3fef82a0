"""Fund a market and drive prices through it (local and fork networks only).

`fund_market` seeds lenders, borrowers at a spread of LTVs across several collateral assets, and
bidders across slots; `drive` replays a price path into the feeds while chain time moves, calling
back after every step so a keeper (and the report) can act.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from eth_utils import keccak, to_checksum_address

from ala.bulk import Bulk, Call, encode
from ala.deploy import System, feed_answer
from ala.paths import Step

MAX_UINT = 2**256 - 1
BID_SUBMITTED = "0x" + keccak(text="BidSubmitted(uint256,address,address,uint256,uint256,uint256,bool)").hex()


def make_address(label: str) -> str:
    """A deterministic address nobody holds a key for (Anvil impersonates it)."""
    return to_checksum_address(keccak(text=label)[-20:])


@dataclass
class Market:
    lenders: list[str] = field(default_factory=list)
    borrowers: list[str] = field(default_factory=list)
    bidders: list[str] = field(default_factory=list)
    bid_ids: list[int] = field(default_factory=list)
    # per borrower: symbol -> collateral units, and base units borrowed
    positions: dict[str, dict[str, int]] = field(default_factory=dict)
    debts: dict[str, int] = field(default_factory=dict)


def _units(system: System, symbol: str, amount: Decimal) -> int:
    return int(amount * 10 ** system.tokens[symbol].decimals())


def fund_market(
    system: System,
    bulk: Bulk,
    n_borrowers: int = 200,
    n_bidders: int = 20,
    n_lenders: int = 5,
    seed: int = 2020,
    bid_cover: Decimal = Decimal("1.5"),
    slots: tuple[int, ...] = (0, 1, 2, 3, 5),
    progress: Callable[[str, int, int], None] | None = None,
) -> Market:
    """Seed the market. Bids total `bid_cover` times the debt, split by each collateral's share of value."""
    rng = random.Random(seed)
    params = system.params
    base_symbol = params.base.symbol
    prices = {c.symbol: c.price for c in params.collaterals}
    market = Market(
        lenders=[make_address(f"ala-lender-{i}") for i in range(n_lenders)],
        borrowers=[make_address(f"ala-borrower-{i}") for i in range(n_borrowers)],
        bidders=[make_address(f"ala-bidder-{i}") for i in range(n_bidders)],
    )
    bulk.prepare(market.lenders + market.borrowers + market.bidders)
    vault, queue = system.vault, system.queue

    # Borrowers: one or two collateral assets, $2k-$120k, borrowing 35%-97% of their borrow capacity.
    calls: list[Call] = []
    value_by_symbol = {c.symbol: Decimal(0) for c in params.collaterals}
    total_debt = Decimal(0)
    for b in market.borrowers:
        held = rng.sample(list(params.collaterals), k=rng.choice((1, 1, 2)))
        capacity = Decimal(0)
        market.positions[b] = {}
        for c in held:
            usd = Decimal(rng.randint(2_000, 120_000))
            amount = _units(system, c.symbol, usd / prices[c.symbol])
            token = system.tokens[c.symbol]
            calls += [
                Call(b, token.address, encode(token, "mint", b, amount)),
                Call(b, token.address, encode(token, "approve", vault.address, MAX_UINT)),
                Call(b, vault.address, encode(vault, "add_collateral", token.address, amount, b)),
            ]
            market.positions[b][c.symbol] = amount
            value = Decimal(amount) / 10**c.decimals * prices[c.symbol]
            capacity += value * c.max_ltv
            value_by_symbol[c.symbol] += value
        # spread of LTVs: uniform share of the borrow capacity, a hair under the limit at most
        debt = (capacity * Decimal(rng.uniform(0.35, 0.97))).quantize(Decimal(1))
        market.debts[b] = _units(system, base_symbol, debt)
        total_debt += debt
        calls.append(Call(b, vault.address, encode(vault, "borrow", market.debts[b], b)))

    # Lenders first: the market needs liquidity for every borrow, with room to spare.
    base = system.base
    lend_each = _units(system, base_symbol, (total_debt * Decimal("1.6") / len(market.lenders)).quantize(Decimal(1)))
    lend_calls: list[Call] = []
    for lender in market.lenders:
        lend_calls += [
            Call(lender, base.address, encode(base, "mint", lender, lend_each)),
            Call(lender, base.address, encode(base, "approve", vault.address, MAX_UINT)),
            Call(lender, vault.address, encode(vault, "deposit", lend_each, lender)),
        ]
    bulk.run(lend_calls)
    if progress:
        progress("lenders", len(market.lenders), len(market.lenders))
    chunk = 600
    for start in range(0, len(calls), chunk):
        bulk.run(calls[start : start + chunk])
        if progress:
            progress("borrowers", min(start + chunk, len(calls)), len(calls))

    # Bidders: each spreads over every collateral and several slots, weighted toward cheap slots.
    total_value = sum(value_by_symbol.values()) or Decimal(1)
    bid_calls: list[Call] = []
    weights = [Decimal(len(slots) - i) for i in range(len(slots))]
    for bidder in market.bidders:
        bid_calls.append(Call(bidder, base.address, encode(base, "approve", queue.address, MAX_UINT)))
    for c in params.collaterals:
        share = total_debt * bid_cover * value_by_symbol[c.symbol] / total_value
        per_bidder = share / len(market.bidders)
        # the queue refuses bids below the collateral's minimum: a thin book's small bids are raised to it
        min_bid = queue.min_bid(system.tokens[c.symbol].address)
        for bidder in market.bidders:
            for slot, w in zip(slots, weights, strict=True):
                if slot > c.max_slot:
                    continue
                amount = _units(system, base_symbol, (per_bidder * w / sum(weights)).quantize(Decimal(1)))
                if amount == 0:
                    continue
                amount = max(amount, min_bid)
                submit = encode(queue, "submit_bid", system.tokens[c.symbol].address, slot, amount)
                bid_calls += [
                    Call(bidder, base.address, encode(base, "mint", bidder, amount)),
                    Call(bidder, queue.address, submit),
                ]
    receipts = bulk.run(bid_calls)
    for r in receipts:
        for log in r["logs"]:
            if log["address"].lower() == queue.address.lower() and log["topics"][0] == BID_SUBMITTED:
                market.bid_ids.append(int(log["topics"][1], 16))
    if progress:
        progress("bidders", len(market.bidders), len(market.bidders))
    return market


def post_prices(system: System, bulk: Bulk, sender: str, prices: dict[str, Decimal]) -> None:
    """One new round on every feed of every symbol named (all feeds agree)."""
    calls = []
    for symbol, usd in prices.items():
        for feed in system.feeds[symbol]:
            answer = feed_answer(Decimal(usd), feed.decimals())
            calls.append(Call(sender, feed.address, encode(feed, "update_answer", answer)))
    bulk.run(calls)


def drive(
    system: System,
    bulk: Bulk,
    sender: str,
    path: list[Step],
    on_step: Callable[[int, Step, dict[str, Decimal]], Any],
    start_time: int | None = None,
) -> dict[str, Decimal]:
    """Replay `path`: set chain time, post every price (stale symbols re-posted), call `on_step`."""
    rpc = bulk.rpc
    t0 = start_time if start_time is not None else _timestamp(rpc)
    current = {c.symbol: c.price for c in system.params.collaterals}
    current[system.params.base.symbol] = system.params.base.price
    for i, step in enumerate(path):
        current.update(step.prices)
        rpc.call("evm_setNextBlockTimestamp", [hex(max(t0 + step.at, _timestamp(rpc) + 1))])
        post_prices(system, bulk, sender, current)
        on_step(i, step, dict(current))
    return current


def _timestamp(rpc: Any) -> int:
    return int(rpc.call("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
