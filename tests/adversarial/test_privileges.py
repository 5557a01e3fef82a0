"""Owner, guardian, engine and bid-owner powers: every privileged function, who may call it, and what everyone else
gets. `PRIVILEGES` is the table of record; SECURITY.md prints the same table (a test keeps the two equal).

Both ways: each allowed role's call succeeds (a transaction), and every other role's call reverts with the exact
reason (simulated against the pending block from that role, which is what a transaction would do).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ape
import pytest

from tests.adversarial.conftest import USDA, WAD
from tests.utils.rates import deploy_rate_model

DAY = 86_400
NOT_OWNER = "ownable: caller is not the owner"
NOT_NEW_OWNER = "ownable_2step: caller is not the new owner"
SECURITY_MD = Path(__file__).resolve().parents[2] / "SECURITY.md"

# Every role the sweep tries; "new_owner" is the account ownership has been offered to.
ROLES = ["owner", "new_owner", "guardian", "engine", "keeper", "lender", "borrower", "bidder", "stranger"]


@dataclass(frozen=True)
class Privilege:
    contract: str  # a deployable: PriceOracle, LendingVault, … AuctionSettlement, DutchAuction
    function: str
    args: Any  # market -> the arguments of a call the allowed roles can make
    allowed: tuple[str, ...]
    reason: str  # what every other role gets
    offer_ownership: bool = False  # first offer the contract's ownership to "new_owner"
    notes: str = field(default="", compare=False)
    prepare: Callable[[Any], None] | None = field(default=None, compare=False)  # state the call needs first


def _kick(m) -> None:
    """The engine starts auction 1 on the (unwired) auction house: 1 WETH delivered, 1,000 USDA to raise."""
    m.weth.mint(m.auction, WAD, sender=m.roles["owner"])
    m.auction.kick(m.roles["borrower"], m.weth, WAD, 1_000 * USDA, 1_500 * WAD, sender=m.roles["engine"])


def _wired_auction(m) -> None:
    """The settlement's house wired to the engine, and `other_borrower`'s WBTC (no bids stand for it) at auction."""
    m.system.auctions.set_auction_house(m.system.settled_house, sender=m.roles["owner"])
    m.engine.set_auctions(m.system.auctions, sender=m.roles["owner"])
    m.actions.set_price("WBTC", 20_000)
    m.engine.liquidate(m.roles["other_borrower"], m.wbtc, 2**256 - 1, sender=m.roles["keeper"])
    assert m.system.auctions.auction_of(m.roles["other_borrower"]) == 1


def _fund_incentives(m) -> None:
    m.actions.mint("USDA", m.roles["owner"], 10, m.auction)
    m.auction.fund_incentives(10 * USDA, sender=m.roles["owner"])


def _stray_gold(m) -> None:
    m.gold.mint(m.auction, 10**6, sender=m.roles["owner"])


def _reserve_dust(m) -> None:
    """The engine closes `other_borrower` with a write-off: its WBTC goes to the vault's reserve account."""
    m.vault.settle_liquidation(m.roles["other_borrower"], m.wbtc, 0, m.queue, 0, 0, True, sender=m.roles["engine"])


def _ownership(contract: str) -> list[Privilege]:
    return [
        Privilege(contract, "transfer_ownership", lambda m: (m.roles["new_owner"],), ("owner",), NOT_OWNER),
        Privilege(contract, "accept_ownership", lambda m: (), ("new_owner",), NOT_NEW_OWNER, offer_ownership=True),
    ]


# the note of the auction house's setters of a sale's terms (invariant 12)
TERMS = "shapes the auctions kicked afterwards; running ones keep their terms"

PRIVILEGES: list[Privilege] = [
    Privilege(
        "PriceOracle", "set_feeds", lambda m: (m.weth, [m.system.feeds["WETH"][0]], DAY, 0), ("owner",), NOT_OWNER
    ),
    Privilege(
        "PriceOracle",
        "set_min_sources",
        lambda m: (m.weth, 1),
        ("owner",),
        NOT_OWNER,
        notes="within [1, feed count], and met at once",
    ),
    Privilege("PriceOracle", "remove_asset", lambda m: (m.gold,), ("owner",), NOT_OWNER),
    Privilege("PriceOracle", "set_guardian", lambda m: (m.roles["guardian"],), ("owner",), NOT_OWNER),
    Privilege("PriceOracle", "set_breaker", lambda m: (m.weth, WAD // 10, 3_600), ("owner",), NOT_OWNER),
    Privilege(
        "PriceOracle",
        "set_volatility_params",
        lambda m: (m.weth, 94 * WAD // 100, WAD, WAD // 2),
        ("owner",),
        NOT_OWNER,
    ),
    *_ownership("PriceOracle"),
    Privilege("LendingVault", "set_rate_model", lambda m: (m.system.vault.rate_model(),), ("owner",), NOT_OWNER),
    Privilege("LendingVault", "set_reserve_factor", lambda m: (10**17,), ("owner",), NOT_OWNER),
    Privilege("LendingVault", "withdraw_reserves", lambda m: (1, m.roles["owner"]), ("owner",), NOT_OWNER),
    Privilege(
        "LendingVault",
        "withdraw_reserve_collateral",
        lambda m: (m.wbtc, 1, m.roles["owner"]),
        ("owner",),
        NOT_OWNER,
        notes="the collateral of accounts closed with a write-off",
        prepare=_reserve_dust,
    ),
    Privilege(
        "LendingVault",
        "set_engine",
        lambda m: (m.roles["stranger"],),
        ("owner",),
        NOT_OWNER,
        notes="once; then 'vault: engine already set'",
    ),
    Privilege("LendingVault", "set_guardian", lambda m: (m.roles["stranger"],), ("owner",), NOT_OWNER),
    Privilege(
        "LendingVault", "set_paused(true)", lambda m: (True,), ("owner", "guardian"), "vault: not guardian or owner"
    ),
    Privilege("LendingVault", "set_paused(false)", lambda m: (False,), ("owner",), NOT_OWNER),
    Privilege(
        "LendingVault",
        "prepare_liquidation",
        lambda m: (m.roles["borrower"],),
        ("engine",),
        "vault: caller is not the engine",
    ),
    Privilege(
        "LendingVault",
        "list_collateral",
        lambda m: (m.unlisted,),
        ("engine",),
        "vault: caller is not the engine",
        notes="the engine lists what its owner configures",
    ),
    Privilege(
        "LendingVault",
        "settle_liquidation",
        lambda m: (m.roles["other_borrower"], m.wbtc, 0, m.queue, 0, 0, True),
        ("engine",),
        "vault: caller is not the engine",
    ),
    *_ownership("LendingVault"),
    Privilege(
        "LiquidationQueue",
        "set_engine",
        lambda m: (m.roles["stranger"],),
        ("owner",),
        NOT_OWNER,
        notes="once; then 'queue: engine already set'",
    ),
    Privilege(
        "LiquidationQueue",
        "set_pool_params",
        lambda m: (m.weth, WAD // 100, 10, 600, 0),
        ("owner",),
        NOT_OWNER,
        notes="a new premium_step/max_slot waits max(1 day, waiting_period) before it applies to standing bids",
    ),
    Privilege("LiquidationQueue", "set_min_bid", lambda m: (m.weth, 100 * USDA), ("owner",), NOT_OWNER),
    Privilege(
        "LiquidationQueue",
        "fill",
        lambda m: (m.weth, 1_700 * WAD, WAD, USDA, WAD, m.roles["keeper"], 0, m.vault),
        ("engine",),
        "queue: caller is not the engine",
        notes="pays the base to a receiver the engine names",
    ),
    Privilege(
        "LiquidationQueue",
        "retract_bid",
        lambda m: (m.active_bid, USDA),
        ("bidder",),
        "queue: not bid owner",
        notes="bidder: the bid's owner",
    ),
    Privilege(
        "LiquidationQueue",
        "claim",
        lambda m: ([m.active_bid],),
        ("bidder",),
        "queue: not bid owner",
        notes="bidder: the bid's owner",
    ),
    *_ownership("LiquidationQueue"),
    Privilege(
        "LiquidationEngine",
        "configure_collateral",
        lambda m: (m.weth, 8 * WAD // 10, 85 * WAD // 100, WAD // 10),
        ("owner",),
        NOT_OWNER,
    ),
    Privilege(
        "LiquidationEngine",
        "set_risk_limits",
        lambda m: (2 * 10**16, WAD, 3 * WAD // 2, 10 * WAD, 15 * WAD),
        ("owner",),
        NOT_OWNER,
    ),
    Privilege("LiquidationEngine", "set_close_ratio", lambda m: (WAD // 2,), ("owner",), NOT_OWNER),
    Privilege("LiquidationEngine", "set_dust_value", lambda m: (10 * WAD,), ("owner",), NOT_OWNER),
    Privilege("LiquidationEngine", "set_fees", lambda m: (5 * 10**15, 5 * 10**15), ("owner",), NOT_OWNER),
    Privilege(
        "LiquidationEngine",
        "set_auctions",
        lambda m: (m.system.auctions,),
        ("owner",),
        NOT_OWNER,
        notes="once; then 'engine: auctions already set'",
    ),
    *_ownership("LiquidationEngine"),
    Privilege(
        "AuctionSettlement",
        "settle_account",
        lambda m: (m.roles["borrower"],),
        ("engine",),
        "auctions: not engine",
        notes="books what the account's auction raised (at the start of a liquidation)",
    ),
    Privilege(
        "AuctionSettlement",
        "set_auction_house",
        lambda m: (m.system.settled_house,),
        ("owner",),
        NOT_OWNER,
        notes="once; then 'auctions: auction house already set'",
    ),
    Privilege(
        "AuctionSettlement",
        "yank_auction",
        lambda m: (1,),
        ("owner",),
        NOT_OWNER,
        notes="ends a running auction; the unsold lot goes back to the account's collateral in the ledger",
        prepare=_wired_auction,
    ),
    *_ownership("AuctionSettlement"),
    Privilege(
        "DutchAuction",
        "kick",
        lambda m: (m.roles["borrower"], m.weth, WAD, 1_000 * USDA, 1_500 * WAD),
        ("engine",),
        "auction: not engine",
        prepare=lambda m: m.weth.mint(m.auction, WAD, sender=m.roles["owner"]),
    ),
    Privilege(
        "DutchAuction", "yank", lambda m: (1, m.roles["owner"]), ("engine",), "auction: not engine", prepare=_kick
    ),
    Privilege(
        "DutchAuction", "set_curve", lambda m: (99 * WAD // 100, 90, 3 * WAD // 10), ("owner",), NOT_OWNER, notes=TERMS
    ),
    Privilege(
        "DutchAuction",
        "set_reset_rules",
        lambda m: (8_400, 4 * WAD // 10, 11 * WAD // 10),
        ("owner",),
        NOT_OWNER,
        notes=TERMS,
    ),
    Privilege("DutchAuction", "set_incentive", lambda m: (USDA, 10**15), ("owner",), NOT_OWNER),
    Privilege("DutchAuction", "set_dust", lambda m: (10 * USDA,), ("owner",), NOT_OWNER, notes=TERMS),
    Privilege(
        "DutchAuction",
        "withdraw_incentives",
        lambda m: (USDA, m.roles["owner"]),
        ("owner",),
        NOT_OWNER,
        prepare=_fund_incentives,
    ),
    Privilege(
        "DutchAuction",
        "sweep",
        lambda m: (m.gold, m.roles["owner"]),
        ("owner",),
        NOT_OWNER,
        notes="only tokens beyond what running auctions hold",
        prepare=_stray_gold,
    ),
    *_ownership("DutchAuction"),
]

ATTRIBUTE = {
    "PriceOracle": "oracle",
    "LendingVault": "vault",
    "LiquidationQueue": "queue",
    "LiquidationEngine": "engine",
    "AuctionSettlement": "auctions",
    "DutchAuction": "auction",
}


def _id(p: Privilege) -> str:
    return f"{p.contract}.{p.function}"


@pytest.fixture(scope="module")
def roles(market, accounts, project, owner):
    market.roles["new_owner"] = accounts[13]
    # a token the engine has not listed (the vault's listing hook is the engine's alone)
    market.unlisted = project.MockERC20.deploy("NEW", "NEW", 18, sender=owner)
    # an auction house whose engine is the `engine` role (its own privileges), and the engine's auction settlement
    # with a house of its own, neither wired yet (wiring them is one of the owner's powers)
    s = market.system
    s.auction = project.DutchAuction.deploy(s.base, s.oracle, s.engine, s.vault, s.engine, sender=owner)
    s.auctions = project.AuctionSettlement.deploy(s.engine, sender=owner)
    s.settled_house = project.DutchAuction.deploy(s.base, s.oracle, s.auctions, s.vault, s.auctions, sender=owner)
    return market.roles


def _method(market, privilege: Privilege):
    return getattr(getattr(market.system, ATTRIBUTE[privilege.contract]), privilege.function.split("(")[0])


def _prepare(market, roles, privilege: Privilege):
    if privilege.prepare is not None:
        privilege.prepare(market)
    if privilege.offer_ownership:
        contract = getattr(market.system, ATTRIBUTE[privilege.contract])
        contract.transfer_ownership(roles["new_owner"], sender=roles["owner"])


@pytest.mark.parametrize(
    ("privilege", "role"),
    [(p, r) for p in PRIVILEGES for r in p.allowed],
    ids=[f"{_id(p)}-{r}" for p in PRIVILEGES for r in p.allowed],
)
def test_privileged_function__allowed_role__succeeds(privilege, role, market, roles, project, owner):
    _prepare(market, roles, privilege)
    method = _method(market, privilege)
    if privilege.function == "set_engine" and privilege.contract == "LendingVault":
        # the wired vault's engine is set for good: a fresh vault shows the owner's one call
        fresh = project.LendingVault.deploy(
            market.base, market.oracle, deploy_rate_model(owner), "fresh", "F", sender=owner
        )
        method = fresh.set_engine
    elif privilege.function == "set_engine":
        fresh = project.LiquidationQueue.deploy(market.base, sender=owner)
        method = fresh.set_engine
    tx = method(*privilege.args(market), sender=roles[role])
    assert tx.status == 1


@pytest.mark.parametrize("privilege", PRIVILEGES, ids=[_id(p) for p in PRIVILEGES])
def test_privileged_function__every_other_role__reverts_with_the_exact_reason(privilege, market, roles, fast):
    _prepare(market, roles, privilege)
    method = _method(market, privilege)
    data = "0x" + bytes(method.encode_input(*privilege.args(market))).hex()
    others = [r for r in ROLES if r not in privilege.allowed]
    outcomes = fast.try_calls([(roles[r].address, method.contract.address, data) for r in others])
    got = {role: (ok, reason) for role, (ok, reason) in zip(others, outcomes, strict=True)}
    assert got == {role: (False, privilege.reason) for role in others}
    # and the allowed roles' calls are valid here too (so the refusals above are about the caller alone)
    allowed = fast.try_calls([(roles[r].address, method.contract.address, data) for r in privilege.allowed])
    if privilege.function != "set_engine":  # set once on the wired system: the owner's call is refused too
        assert all(ok for ok, _ in allowed), allowed


def test_set_engine__vault_engine_already_set__even_the_owner_reverts(market, owner):
    with ape.reverts("vault: engine already set"):
        market.vault.set_engine(owner, sender=owner)


def test_set_engine__queue_engine_already_set__even_the_owner_reverts(market, owner):
    """The queue's engine is set once, like the vault's: the owner cannot repoint `fill` to take the bids."""
    with ape.reverts("queue: engine already set"):
        market.queue.set_engine(owner, sender=owner)
    assert market.queue.engine() == market.engine.address


def test_set_paused__guardian_pauses__opening_paths_stop_and_exits_and_repayments_go_on(
    market, guardian, owner, lender, borrower, other_borrower
):
    vault, weth, wbtc = market.vault, market.weth, market.wbtc
    market.actions.mint("USDA", borrower, 1_000, vault)
    market.actions.mint("WETH", borrower, 1, vault)
    market.actions.mint("USDA", lender, 1_000, vault)
    vault.set_paused(True, sender=guardian)
    for call, args, who in [
        (vault.deposit, (USDA, lender), lender),
        (vault.mint, (10**6, lender), lender),
        (vault.borrow, (USDA, other_borrower), other_borrower),
        (vault.remove_collateral, (wbtc, 1, other_borrower), other_borrower),
    ]:
        with ape.reverts("vault: paused"):
            call(*args, sender=who)
    # never paused: adding collateral, repaying, and lenders leaving
    vault.add_collateral(weth, WAD, borrower, sender=borrower)
    vault.repay(USDA, borrower, sender=borrower)
    vault.withdraw(USDA, lender, lender, sender=lender)
    vault.redeem(10**12, lender, lender, sender=lender)
    with ape.reverts(NOT_OWNER):
        vault.set_paused(False, sender=guardian)
    vault.set_paused(False, sender=owner)
    vault.deposit(USDA, lender, sender=lender)


def security_md_rows() -> list[tuple[str, str, str, str]]:
    """(contract, function, who may call, everyone else gets) rows of SECURITY.md's privilege table."""
    rows = []
    for line in SECURITY_MD.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0] in ATTRIBUTE:
            rows.append((cells[0], cells[1].strip("`"), cells[2], cells[3].strip("`")))
    return rows


def test_security_md__privilege_table__is_the_tested_table():
    expected = [(p.contract, p.function, ", ".join(p.allowed), p.reason) for p in PRIVILEGES]
    assert security_md_rows() == expected
    assert not [r for r in security_md_rows() if re.search(r"\s{2,}", r[2])]


def privilege_table_markdown() -> str:
    """The markdown SECURITY.md carries (printed by `python -m tests.adversarial.test_privileges`)."""
    lines = ["| contract | function | who may call | everyone else gets | notes |", "|---|---|---|---|---|"]
    for p in PRIVILEGES:
        lines.append(f"| {p.contract} | `{p.function}` | {', '.join(p.allowed)} | `{p.reason}` | {p.notes} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(privilege_table_markdown())
