"""Fixtures of the adversarial suite: a populated market deployed once per module, a fingerprint of every balance
and storage view, and `reverts_and_changes_nothing`, which checks a mined, reverted transaction both ways: its
prestate diff writes no storage and pays nobody, and the fingerprint before equals the fingerprint after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.utils.actions import Actions
from tests.utils.fast_chain import FastChain, calldata

WAD = 10**18
MAX_UINT = 2**256 - 1
USDA = 10**6
GAS = 3_000_000
ZERO = "0x0000000000000000000000000000000000000000"


@dataclass
class Market:
    """The deployed system with a lender, two borrowers (`borrower` underwater), an active bid, a pending bid that
    is due and one that is not."""

    system: Any
    actions: Actions
    roles: dict[str, Any]
    active_bid: int
    pending_bid: int
    due_bid: int

    def __getattr__(self, name: str) -> Any:
        if name in ("weth", "wbtc", "gold"):
            return self.system.tokens[name.upper()]
        if name in ("vault", "queue", "engine", "lens", "oracle", "base", "auction"):
            return getattr(self.system, name)
        raise AttributeError(name)


@pytest.fixture(scope="module")
def market(
    system,
    chain,
    owner,
    guardian,
    lender,
    borrower,
    other_borrower,
    bidder,
    other_bidder,
    keeper,
    stranger,
    accounts,
):
    actions = Actions(system, owner, chain)
    system.vault.set_guardian(guardian, sender=owner)
    actions.lend(lender, 1_000_000)
    actions.post(borrower, "WETH", 10)
    actions.borrow(borrower, 15_000)
    actions.post(other_borrower, "WBTC", 1)
    actions.borrow(other_borrower, 20_000)
    active_bid = actions.bid(bidder, "WETH", 0, 50_000)
    due_bid = actions.submit(other_bidder, "WETH", 2, 10_000)
    # interest builds reserves, and WETH falls: `borrower` becomes liquidatable, `other_borrower` stays healthy
    chain.pending_timestamp += 30 * 86_400
    actions.refresh_feeds()
    system.vault.accrue_interest(sender=keeper)
    actions.set_price("WETH", 1_700)
    pending_bid = actions.submit(other_bidder, "WETH", 3, 20_000)
    # approvals a stranger might exploit: none; the lender and bidders approved what they use
    engine = accounts.impersonate_account(system.engine.address)
    chain.provider.set_balance(system.engine.address, 10**20)
    roles = {
        "owner": owner,
        "guardian": guardian,
        "engine": engine,
        "lender": lender,
        "borrower": borrower,
        "other_borrower": other_borrower,
        "bidder": bidder,
        "other_bidder": other_bidder,
        "keeper": keeper,
        "stranger": stranger,
    }
    return Market(system, actions, roles, active_bid, pending_bid, due_bid)


def fingerprint(fast: FastChain, market: Market, extra: tuple[str, ...] = ()) -> tuple:
    """Every token balance of every actor and contract, and the storage views of all four contracts."""
    s = market.system
    holders = [a.address for a in market.roles.values()] + [s.vault.address, s.queue.address, s.engine.address]
    holders += list(extra)
    tokens = [t.address for t in s.tokens.values()] + [s.vault.address]
    calls = [(t, calldata("balanceOf(address)", h)) for t in tokens for h in holders]
    vault_views = [
        "cash()",
        "reserves()",
        "total_debt()",
        "total_scaled_debt()",
        "totalAssets()",
        "totalSupply()",
        "total_bad_debt()",
        "borrow_index()",
        "last_accrual()",
        "reserve_factor()",
        "rate_model()",
        "paused()",
        "guardian()",
        "engine()",
        "owner()",
        "pending_owner()",
        "collateral_assets()",
    ]
    calls += [(s.vault.address, calldata(v)) for v in vault_views]
    for token in s.collaterals.values():
        calls.append((s.engine.address, calldata("collateral_config(address)", token.address)))
        calls.append((s.vault.address, calldata("total_collateral(address)", token.address)))
        calls.append((s.queue.address, calldata("pool_params(address)", token.address)))
        calls.append((s.queue.address, calldata("pending_pool_terms(address)", token.address)))
        calls.append((s.queue.address, calldata("min_bid(address)", token.address)))
        calls.append((s.queue.address, calldata("total_active(address)", token.address)))
        for slot in range(11):
            calls.append((s.queue.address, calldata("slot_info(address,uint256)", token.address, slot)))
        calls.append((s.oracle.address, calldata("feeds(address)", token.address)))
        calls.append((s.oracle.address, calldata("max_age(address)", token.address)))
        calls.append((s.oracle.address, calldata("max_spread(address)", token.address)))
        calls.append((s.oracle.address, calldata("min_sources(address)", token.address)))
        for account in (market.roles["borrower"], market.roles["stranger"]):
            calls.append((s.vault.address, calldata("collateral_of(address,address)", account.address, token.address)))
    for account in market.roles.values():
        calls.append((s.vault.address, calldata("debt_of(address)", account.address)))
        calls.append((s.vault.address, calldata("scaled_debt_of(address)", account.address)))
    for bid_id in range(1, s.queue.next_bid_id() + 1):
        calls.append((s.queue.address, calldata("bid_info(uint256)", bid_id)))
    calls += [
        (s.queue.address, calldata("next_bid_id()")),
        (s.queue.address, calldata("engine()")),
        (s.queue.address, calldata("owner()")),
        (s.queue.address, calldata("pending_owner()")),
        (s.engine.address, calldata("risk_limits()")),
        (s.engine.address, calldata("close_ratio()")),
        (s.engine.address, calldata("dust_value()")),
        (s.engine.address, calldata("keeper_fee()")),
        (s.engine.address, calldata("protocol_fee()")),
        (s.engine.address, calldata("owner()")),
        (s.engine.address, calldata("pending_owner()")),
        (s.oracle.address, calldata("owner()")),
        (s.oracle.address, calldata("pending_owner()")),
    ]
    return tuple(fast.calls(calls))


def revert_checker(fast: FastChain, read_state):
    """`check(reason, caller, method, *args)`: `method(*args)` sent by `caller` must be mined and revert with exactly
    `reason`; its prestate diff may only show the sender's nonce and gas, and `read_state()` (balances and storage
    views) must read the same before and after. Block time is frozen meanwhile, so interest cannot move a view.
    (Raw JSON-RPC: ape's revert path costs ~0.6 s a call, this ~20 ms; the reason comes from the node's trace of the
    mined transaction, to the character.)"""

    def check(reason: str, caller, method, *args) -> None:
        fast.freeze_time()
        try:
            before = read_state()
            data = "0x" + bytes(method.encode_input(*args)).hex()
            receipt = fast.send(caller.address, method.contract.address, data, gas=GAS)
            assert int(receipt["status"], 16) == 0, "the call succeeded"
            assert fast.failure_reason(receipt) == reason
            diff = fast.state_diff(receipt)
            sender = receipt["from"].lower()
            for address, post in diff["post"].items():
                assert "storage" not in post and "code" not in post, f"the reverted transaction wrote to {address}"
                if address.lower() not in (sender, ZERO):
                    assert set(post) <= {"balance"}, f"the reverted transaction changed {address}"
            assert read_state() == before, "a balance or storage view changed"
        finally:
            fast.unfreeze_time()

    return check


@pytest.fixture
def reverts_and_changes_nothing(fast, market):
    """`revert_checker` over every balance and storage view of the populated market."""
    return revert_checker(fast, lambda: fingerprint(fast, market))
