"""The Bid page's moves for a browser wallet: the server checks and encodes, the wallet signs and sends.

The server holds no key. For each move it runs the same checks as `ape run bid` (`ala.bid.check_*`), then returns
the next transaction to send as `{to, data}` after running it as an `eth_call` from the wallet's address: a revert
is answered with the contract's reason string and nothing to send. A move that needs an approve first returns the
approve; the page sends it, waits for its receipt and asks again, and the second answer is the move itself (its
`eth_call` can only run once the allowance is there).
"""

from __future__ import annotations

from typing import Any

from ala import bid as bids
from ala.cli_common import CommandError, collateral_token, parse_amount
from ala.deploy import System

MOVES = ("submit", "activate", "retract", "claim")


def _reason(exc: Exception) -> str:
    text = str(getattr(exc, "message", None) or exc).strip().splitlines()[0] if str(exc).strip() else ""
    for prefix in ("execution reverted: ", "execution reverted"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return text.strip("'\" ") or type(exc).__name__


def _step(system: System, address: str, label: str, method: Any, *args: Any) -> dict[str, Any]:
    """The transaction, after an `eth_call` from `address`: a revert is a CommandError with the contract's reason."""
    data = method.encode_input(*args).hex()
    data = data if data.startswith("0x") else "0x" + data
    to = method.contract.address
    web3 = system.vault.provider.web3
    try:
        web3.eth.call({"from": address, "to": to, "data": data}, "latest")
    except Exception as exc:  # web3 raises ContractLogicError (and others) for a revert
        raise CommandError(f"would revert: {_reason(exc)}") from None
    return {"label": label, "to": to, "data": data}


def _ids(raw: Any) -> list[int]:
    try:
        ids = [int(x) for x in (raw if isinstance(raw, list) else str(raw).replace(",", " ").split())]
    except (TypeError, ValueError):
        raise CommandError(f"bid ids {raw!r} are not numbers") from None
    if not ids:
        raise CommandError("no bid ids given")
    return ids


def next_step(system: System, address: str, move: str, form: dict[str, Any]) -> dict[str, Any]:
    """The next transaction `address` should send for `move`, or CommandError with what is wrong."""
    base_decimals = system.params.base.decimals
    if move == "submit":
        symbol = str(form.get("collateral", ""))
        try:
            slot = int(form.get("slot", ""))
        except (TypeError, ValueError):
            raise CommandError(f"slot {form.get('slot')!r} is not a number") from None
        amount = parse_amount(str(form.get("amount", "")), base_decimals)
        token = bids.check_submit(system, symbol, slot, amount)
        if bids.approval_needed(system, system.base, address, system.queue, amount, True, "the bid"):
            symbol_base = system.params.base.symbol
            return _step(system, address, f"approve {symbol_base}", system.base.approve, system.queue, amount)
        return _step(system, address, "submit bid", system.queue.submit_bid, token, slot, amount)
    if move == "activate":
        ids = _ids(form.get("ids"))
        bids.check_activate(system, ids)
        return _step(system, address, "activate bids", system.queue.activate_bids, ids)
    if move == "retract":
        (bid_id,) = _ids(form.get("ids"))[:1]
        raw = str(form.get("amount") or "").strip()
        amount = parse_amount(raw, base_decimals) if raw else None
        bids.check_retract(system, bid_id, address, amount)
        return _step(
            system,
            address,
            "retract bid",
            system.queue.retract_bid,
            bid_id,
            bids.MAX_UINT if amount is None else amount,
        )
    if move == "claim":
        ids = _ids(form.get("ids"))
        bids.check_claim(system, ids, address)
        return _step(system, address, "claim", system.queue.claim, ids)
    raise CommandError(f"unknown move {move!r}: one of {', '.join(MOVES)}")


def collaterals(system: System) -> list[str]:
    return [system.symbol_of(collateral_token(system, s).address) for s in system.collaterals]
