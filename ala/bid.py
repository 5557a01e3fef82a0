"""A bidder's moves on the liquidation queue: submit, activate, retract, claim, and what he and the pools hold.

Every function takes a `System` and plain values and returns plain dicts (the `ape run bid` command prints them
or their JSON). A move checks everything a person can get wrong before it sends anything, and says which:
an unknown bid, a bid that is someone else's, an amount above the balance, the allowance or what the bid has
left, a bid not yet due. Amounts in the dicts are exact decimal strings of whole tokens; prices are floats.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from ala.cli_common import CommandError, collateral_token, format_amount, preflight, send
from ala.deploy import System

WAD = 10**18
MAX_UINT = 2**256 - 1
# the queue's bounds (LiquidationQueue.vy): ids per activate/claim call, largest bid
BATCH = 100
MAX_AMOUNT = 2**128
# max_collateral of a preview: no cap (the walk stops on funds or liquidity)
NO_CAP = 2**255


def whole(units: int, decimals: int) -> str:
    """Token units as an exact decimal string of whole tokens (`1000.5`)."""
    value = (Decimal(int(units)) / Decimal(10**decimals)).normalize()
    return f"{value:f}"


def _base_decimals(system: System) -> int:
    return system.params.base.decimals


def _when(timestamp: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))


def _now(system: System) -> int:
    return system.vault.chain_manager.blocks.head.timestamp


# ---------------------------------------------------------------- reading


def bid_ids_of(system: System, owner: str) -> list[int]:
    """Every bid `owner` ever submitted, oldest first (the `BidSubmitted` logs; deleted bids included)."""
    event = system.queue.BidSubmitted
    head = event.chain_manager.blocks.height
    # both bounds given: see ala.status.borrowers_of
    return [log.bid_id for log in event.range(system.block, head + 1, search_topics={"owner": owner})]


def claimed_by(system: System, owner: str) -> dict[int, int]:
    """Collateral units each of `owner`'s bids has claimed so far (the `BidClaimed` logs, one scan)."""
    event = system.queue.BidClaimed
    head = event.chain_manager.blocks.height
    out: dict[int, int] = {}
    for log in event.range(system.block, head + 1, search_topics={"owner": owner}):
        out[log.bid_id] = out.get(log.bid_id, 0) + log.collateral_amount
    return out


def bid_state(info: Any, now: int) -> str:
    """waiting (not yet due), due (may be activated), active (fills), spent (nothing left, collateral to claim)."""
    if info.pending:
        return "due" if now >= info.activates_at else "waiting"
    return "active" if info.amount else "spent"


def bid_row(system: System, bid_id: int, info: Any, now: int, claimed: int) -> dict[str, Any]:
    symbol = system.symbol_of(info.collateral)
    c = system.params.collateral(symbol)
    premium = system.queue.slot_info(info.collateral, info.slot).premium
    return {
        "id": bid_id,
        "owner": info.owner,
        "collateral": symbol,
        "slot": info.slot,
        "premium": premium / WAD,
        "remaining": whole(info.amount, _base_decimals(system)),
        "bought": whole(claimed + info.claimable, c.decimals),
        "claimable": whole(info.claimable, c.decimals),
        "state": bid_state(info, now),
        "activates_at": info.activates_at if info.pending else None,
        "activates_in": max(0, info.activates_at - now) if info.pending else None,
    }


def list_bids(system: System, owner: str) -> list[dict[str, Any]]:
    """`owner`'s bids that still exist (a bid spent and claimed is deleted)."""
    now = _now(system)
    claimed = claimed_by(system, owner)
    rows = []
    for bid_id in bid_ids_of(system, owner):
        info = system.queue.bid_info(bid_id)
        if int(info.owner, 16) != 0:
            rows.append(bid_row(system, bid_id, info, now, claimed.get(bid_id, 0)))
    return rows


def pools(system: System, symbol: str, size: int) -> dict[str, Any]:
    """Every slot of a collateral: premium, slot price, active and pending base, and what a liquidation that raises
    `size` base units would take from it and give it (from `preview_fill`, at today's oracle prices)."""
    token = collateral_token(system, symbol)
    symbol = system.symbol_of(token.address)
    c = system.params.collateral(symbol)
    base_decimals = _base_decimals(system)
    queue = system.queue
    collateral_price = system.oracle.price(token)
    base_price = system.oracle.price(system.base)
    keeper_fee = system.engine.keeper_fee()
    params = queue.pool_params(token)

    def preview(funds: int) -> Any:
        return queue.preview_fill(token, collateral_price, base_price, funds, NO_CAP, keeper_fee)

    total = preview(size)
    rows = []
    taken_before, bought_before = 0, 0
    for slot in range(params.max_slot + 1):
        info = queue.slot_info(token, slot)
        row = {
            "slot": slot,
            "premium": info.premium / WAD,
            "price": collateral_price * (WAD - info.premium) / WAD / WAD,
            "active": whole(info.active, base_decimals),
            "pending": whole(info.pending, base_decimals),
            "takes": "0",
            "gives": "0",
        }
        # the walk is cheapest slot first, each slot taking all it can: a preview of the funds through this slot
        # takes exactly this slot's share, so the difference of two previews is what this slot gives and gets
        if info.active and taken_before < total.raised:
            through = preview(min(size, taken_before + info.active))
            row["takes"] = whole(through.raised - taken_before, base_decimals)
            row["gives"] = whole(through.collateral - bought_before, c.decimals)
            taken_before, bought_before = through.raised, through.collateral
        if info.active or info.pending:
            rows.append(row)
    return {
        "collateral": symbol,
        "oracle_price": collateral_price / WAD,
        "liquidations_paused": bool(system.engine.liquidations_paused(token)),
        "size": whole(size, base_decimals),
        "raised": whole(total.raised, base_decimals),
        "collateral_sold": whole(total.collateral, c.decimals),
        "keeper_cut": whole(total.keeper_cut, base_decimals),
        "short": whole(size - total.raised, base_decimals),
        "usable_liquidity": whole(queue.usable_liquidity(token), base_decimals),
        "waiting_period": params.waiting_period,
        "bid_threshold": whole(params.bid_threshold, base_decimals),
        "min_bid": whole(queue.min_bid(token), base_decimals),
        "pending_terms": _pending_terms(queue, token),
        "slots": rows,
    }


def _pending_terms(queue: Any, token: Any) -> dict[str, Any] | None:
    """A queued change of the pool's premium_step/max_slot (it applies to the standing bids at `effective_at`)."""
    queued = queue.pending_pool_terms(token)
    if not queued.effective_at:
        return None
    return {
        "premium_step": queued.premium_step / WAD,
        "max_slot": int(queued.max_slot),
        "effective_at": int(queued.effective_at),
    }


# ---------------------------------------------------------------- checks


def _existing_bid(system: System, bid_id: int) -> Any:
    info = system.queue.bid_info(bid_id)
    if int(info.owner, 16) == 0:
        known = system.queue.next_bid_id() - 1
        why = "it was spent and claimed, or retracted" if 0 < bid_id <= known else f"ids go up to {known}"
        raise CommandError(f"no bid {bid_id}: {why}")
    return info


def own_bid(system: System, bid_id: int, address: str) -> Any:
    """The bid, when it exists and `address` submitted it (only the bidder may retract or claim)."""
    info = _existing_bid(system, bid_id)
    if info.owner.lower() != address.lower():
        raise CommandError(f"bid {bid_id} belongs to {info.owner}, not to {address}")
    return info


def approval_needed(
    system: System, token: Any, owner: str, spender: Any, needed: int, approve: bool, what: str
) -> bool:
    """Whether `owner` must approve `spender` for `needed` first. The balance must cover `needed` (else one line
    naming both); an allowance short of it needs an approve, unless `approve` is off: then it is an error."""
    symbol = system.symbol_of(token.address)
    decimals = token.decimals()
    balance = token.balanceOf(owner)
    if balance < needed:
        raise CommandError(
            f"{symbol} balance of {owner} is {format_amount(balance, decimals)}, "
            f"below the {format_amount(needed, decimals)} {what} needs"
        )
    allowance = token.allowance(owner, spender)
    if allowance >= needed:
        return False
    if not approve:
        raise CommandError(
            f"{symbol} allowance of {owner} to {spender.address} is {format_amount(allowance, decimals)}, "
            f"below the {format_amount(needed, decimals)} {what} needs (drop --no-approve to approve it)"
        )
    return True


def ensure_allowance(
    system: System, token: Any, sender: Any, spender: Any, needed: int, approve: bool, what: str
) -> int:
    """The balance must cover `needed`; an allowance short of it is raised to exactly `needed` (an ERC-20 approve
    sets the allowance, it does not add to it), unless `approve` is off: then it is an error. Returns the amount
    approved (0 when nothing was sent)."""
    if not approval_needed(system, token, sender.address, spender, needed, approve, what):
        return 0
    send(token.approve, spender, needed, sender=sender)
    return needed


def check_submit(system: System, symbol: str, slot: int, amount: int) -> Any:
    """The collateral token of a bid that the queue would take: a pool, a slot of it, an amount it can hold."""
    token = collateral_token(system, symbol)
    symbol = system.symbol_of(token.address)
    params = system.queue.pool_params(token)
    if params.max_slot == 0:
        raise CommandError(f"{symbol} has no bid pool on this queue")
    if not 0 <= slot <= params.max_slot:
        raise CommandError(f"slot {slot} is not a slot of {symbol}: slots go from 0 to {params.max_slot}")
    if amount > MAX_AMOUNT:
        raise CommandError("amount above the queue's largest bid (2**128 base units)")
    minimum = system.queue.min_bid(token)
    if amount < minimum:
        raise CommandError(
            f"{whole(amount, _base_decimals(system))} is below {symbol}'s minimum bid of "
            f"{whole(minimum, _base_decimals(system))} (the queue would revert 'queue: bid below minimum')"
        )
    return token


def check_activate(system: System, bid_ids: list[int]) -> None:
    """Every bid exists, waits, and is due."""
    now = _now(system)
    for bid_id in bid_ids:
        info = _existing_bid(system, bid_id)
        if not info.pending:
            raise CommandError(f"bid {bid_id} is already active")
        if now < info.activates_at:
            raise CommandError(
                f"bid {bid_id} is not due: it activates at {_when(info.activates_at)} (in {info.activates_at - now} s)"
            )


def check_retract(system: System, bid_id: int, address: str, amount: int | None) -> Any:
    """`address`'s bid with at least `amount` (None: anything) base left."""
    info = own_bid(system, bid_id, address)
    decimals = _base_decimals(system)
    symbol = system.params.base.symbol
    if info.amount == 0:
        raise CommandError(f"bid {bid_id} has no {symbol} left to retract (claim what it bought)")
    if amount is not None and amount > info.amount:
        raise CommandError(
            f"bid {bid_id} has {format_amount(info.amount, decimals)} {symbol} left; "
            f"cannot retract {format_amount(amount, decimals)}"
        )
    minimum = system.queue.min_bid(info.collateral)
    if amount is not None and amount != info.amount and info.amount - amount < minimum:
        raise CommandError(
            f"bid {bid_id} would keep {format_amount(info.amount - amount, decimals)} {symbol}, below the minimum bid "
            f"of {format_amount(minimum, decimals)}: retract all of it, or leave at least the minimum (the queue "
            "would revert 'queue: bid left below minimum')"
        )
    return info


def check_claim(system: System, bid_ids: list[int], address: str) -> dict[int, str]:
    """`address`'s bids, each with something to claim; their collateral symbols."""
    collateral_of: dict[int, str] = {}
    for bid_id in bid_ids:
        info = own_bid(system, bid_id, address)
        if system.queue.claimable(bid_id) == 0:
            raise CommandError(f"bid {bid_id} has nothing to claim")
        collateral_of[bid_id] = system.symbol_of(info.collateral)
    return collateral_of


# ---------------------------------------------------------------- moves


def submit(system: System, sender: Any, symbol: str, slot: int, amount: int, approve: bool = True) -> dict[str, Any]:
    """Approve what is missing, then deposit `amount` base units into `symbol`'s pool at `slot`."""
    token = check_submit(system, symbol, slot, amount)
    symbol = system.symbol_of(token.address)
    approved = ensure_allowance(system, system.base, sender, system.queue, amount, approve, "the bid")
    tx = send(system.queue.submit_bid, token, slot, amount, sender=sender)
    log = system.queue.BidSubmitted.from_receipt(tx)[0]
    return {
        "bid_id": log.bid_id,
        "collateral": symbol,
        "slot": slot,
        "amount": whole(amount, _base_decimals(system)),
        "approved": whole(approved, _base_decimals(system)),
        "immediate": bool(log.immediate),
        "activates_at": log.activates_at,
        "tx": tx.txn_hash,
    }


def due_bids(system: System, owner: str) -> list[int]:
    now = _now(system)
    out = []
    for bid_id in bid_ids_of(system, owner):
        info = system.queue.bid_info(bid_id)
        if int(info.owner, 16) != 0 and info.pending and now >= info.activates_at:
            out.append(bid_id)
    return out


def _batches(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


def activate(
    system: System, sender: Any, bid_ids: list[int], progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """Activate waiting bids whose waiting period is over (anyone's: activation is permissionless)."""
    check_activate(system, bid_ids)
    for batch in _batches(bid_ids):
        preflight(system.queue.activate_bids, batch, sender=sender)
    txs = []
    for batch in _batches(bid_ids):
        txs.append(send(system.queue.activate_bids, batch, sender=sender).txn_hash)
        if progress:
            progress(len(batch))
    return {"activated": bid_ids, "txs": txs}


def retract(system: System, sender: Any, bid_id: int, amount: int | None) -> dict[str, Any]:
    """Take back `amount` base units of a bid's unspent base (None: all of it)."""
    check_retract(system, bid_id, sender.address, amount)
    decimals = _base_decimals(system)
    tx = send(system.queue.retract_bid, bid_id, MAX_UINT if amount is None else amount, sender=sender)
    log = system.queue.BidRetracted.from_receipt(tx)[0]
    return {
        "bid_id": bid_id,
        "retracted": whole(log.amount, decimals),
        "remaining": whole(log.remaining, decimals),
        "tx": tx.txn_hash,
    }


def claimable_bids(system: System, owner: str) -> list[int]:
    return [r["id"] for r in list_bids(system, owner) if Decimal(r["claimable"]) > 0]


def claim(
    system: System, sender: Any, bid_ids: list[int], progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """Pay out the collateral the bids bought."""
    collateral_of = check_claim(system, bid_ids, sender.address)
    for batch in _batches(bid_ids):
        preflight(system.queue.claim, batch, sender=sender)
    claimed = []
    txs = []
    for batch in _batches(bid_ids):
        tx = send(system.queue.claim, batch, sender=sender)
        txs.append(tx.txn_hash)
        for log in system.queue.BidClaimed.from_receipt(tx):
            symbol = collateral_of[log.bid_id]
            decimals = system.params.collateral(symbol).decimals
            claimed.append(
                {"bid_id": log.bid_id, "collateral": symbol, "amount": whole(log.collateral_amount, decimals)}
            )
        if progress:
            progress(len(batch))
    return {"claimed": claimed, "txs": txs}
