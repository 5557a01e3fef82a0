"""Re-entrancy through token callbacks: the base asset and the collateral are MockReentrantToken, which calls a
configurable target with configurable calldata in the middle of every transfer (as an ERC-777 hook or a malicious
token would). Every contract is `# pragma nonreentrancy on`:

- strict mode (a failed callback reverts the transfer): the whole operation reverts and nothing changes;
- lenient mode (the callback's outcome is recorded and the transfer goes on): the re-entrant call itself was
  refused by the lock (it failed with empty revert data, the lock's signature), and the operation did exactly what
  it does without a callback, once.

A control shows the harness works: a callback into a contract that is NOT mid-call goes through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.adversarial.conftest import MAX_UINT, USDA, WAD, revert_checker
from tests.utils.fast_chain import calldata
from tests.utils.rates import deploy_rate_model


@dataclass
class ReentrantMarket:
    base: Any
    weth: Any
    oracle: Any
    vault: Any
    queue: Any
    engine: Any
    weth_feed: Any
    bid: int


@pytest.fixture(scope="module")
def rm(project, chain, owner, lender, borrower, other_borrower, bidder, keeper):
    """A system whose base asset and collateral both call back: a lender, an underwater `borrower`, a healthy
    `other_borrower` and an active bid."""
    base = project.MockReentrantToken.deploy("USD re-entrant", "USDR", 6, sender=owner)
    weth = project.MockReentrantToken.deploy("WETH re-entrant", "WETR", 18, sender=owner)
    base_feed = project.MockAggregator.deploy(8, "USDR / USD", 10**8, sender=owner)
    weth_feed = project.MockAggregator.deploy(8, "WETR / USD", 2_000 * 10**8, sender=owner)
    oracle = project.PriceOracle.deploy(sender=owner)
    oracle.set_feeds(base, [base_feed], 86_400, 0, sender=owner)
    oracle.set_feeds(weth, [weth_feed], 86_400, 0, sender=owner)
    vault = project.LendingVault.deploy(base, oracle, deploy_rate_model(owner), "ALA USDR vault", "alaR", sender=owner)
    queue = project.LiquidationQueue.deploy(base, sender=owner)
    engine = project.LiquidationEngine.deploy(vault, queue, sender=owner)
    vault.set_engine(engine, sender=owner)
    queue.set_engine(engine, sender=owner)
    engine.configure_collateral(weth, 80 * WAD // 100, 85 * WAD // 100, WAD // 10, sender=owner)
    queue.set_pool_params(weth, WAD // 100, 10, 600, 0, sender=owner)
    for account in (lender, borrower, other_borrower, bidder):
        for token in (base, weth):
            token.mint(account, 10**30, sender=owner)
            token.approve(vault, MAX_UINT, sender=account)
            token.approve(queue, MAX_UINT, sender=account)
    vault.deposit(100_000 * USDA, lender, sender=lender)
    vault.add_collateral(weth, 10 * WAD, borrower, sender=borrower)
    vault.borrow(15_000 * USDA, borrower, sender=borrower)
    vault.add_collateral(weth, 10 * WAD, other_borrower, sender=other_borrower)
    vault.borrow(1_000 * USDA, other_borrower, sender=other_borrower)
    tx = queue.submit_bid(weth, 0, 50_000 * USDA, sender=bidder)
    bid = queue.BidSubmitted.from_receipt(tx)[0].bid_id
    chain.pending_timestamp += 600
    queue.activate_bids([bid], sender=keeper)
    base_feed.update_answer(10**8, sender=owner)
    weth_feed.update_answer(1_700 * 10**8, sender=owner)  # health 0.963: liquidatable
    return ReentrantMarket(base, weth, oracle, vault, queue, engine, weth_feed, bid)


@pytest.fixture
def check(fast, rm, owner, lender, borrower, bidder, keeper):
    actors = [owner, lender, borrower, bidder, keeper]

    def read_state():
        calls = [
            (t.address, calldata("balanceOf(address)", h))
            for t in (rm.base, rm.weth, rm.vault)
            for h in [a.address for a in actors] + [rm.vault.address, rm.queue.address, rm.engine.address]
        ]
        calls += [
            (rm.vault.address, calldata(v))
            for v in (
                "cash()",
                "reserves()",
                "total_debt()",
                "total_scaled_debt()",
                "totalSupply()",
                "total_bad_debt()",
            )
        ]
        calls += [
            (rm.vault.address, calldata("collateral_of(address,address)", borrower.address, rm.weth.address)),
            (rm.vault.address, calldata("scaled_debt_of(address)", borrower.address)),
            (rm.queue.address, calldata("bid_info(uint256)", rm.bid)),
            (rm.queue.address, calldata("slot_info(address,uint256)", rm.weth.address, 0)),
            (rm.queue.address, calldata("total_active(address)", rm.weth.address)),
            (rm.queue.address, calldata("next_bid_id()")),
        ]
        return tuple(fast.calls(calls))

    return revert_checker(fast, read_state)


def _scenarios(rm, lender, borrower, other_borrower, bidder, keeper):
    """name -> (token that calls back, operation (method, args, caller), callback target, callback calldata)."""
    vault, queue, engine, weth = rm.vault, rm.queue, rm.engine, rm.weth
    return {
        # the vault, re-entered in the middle of its own transfers
        "deposit_reenters_vault_deposit": (
            rm.base,
            (vault.deposit, (1_000 * USDA, lender), lender),
            vault,
            calldata("deposit(uint256,address)", 1, lender.address),
        ),
        "redeem_reenters_vault_redeem": (
            rm.base,
            (vault.redeem, (10**15, lender, lender), lender),
            vault,
            calldata("redeem(uint256,address,address)", 10**15, lender.address, lender.address),
        ),
        "add_collateral_reenters_vault_remove_collateral": (
            rm.weth,
            (vault.add_collateral, (weth, WAD, borrower), borrower),
            vault,
            calldata("remove_collateral(address,uint256,address)", weth.address, WAD, borrower.address),
        ),
        "borrow_reenters_vault_borrow": (
            rm.base,
            (vault.borrow, (USDA, other_borrower), other_borrower),
            vault,
            calldata("borrow(uint256,address)", USDA, other_borrower.address),
        ),
        "repay_reenters_vault_accrue_interest": (
            rm.base,
            (vault.repay, (USDA, borrower), borrower),
            vault,
            calldata("accrue_interest()"),
        ),
        # the queue, re-entered in the middle of its own transfers
        "submit_bid_reenters_queue_retract_bid": (
            rm.base,
            (queue.submit_bid, (weth, 1, 1_000 * USDA), bidder),
            queue,
            calldata("retract_bid(uint256,uint256)", rm.bid, MAX_UINT),
        ),
        "retract_bid_reenters_queue_retract_bid": (
            rm.base,
            (queue.retract_bid, (rm.bid, 10 * USDA), bidder),
            queue,
            calldata("retract_bid(uint256,uint256)", rm.bid, 10 * USDA),
        ),
        # the engine: the keeper's cut is paid in the middle of `liquidate` (queue.fill -> base.transfer)
        "liquidate_reenters_engine_liquidate": (
            rm.base,
            (engine.liquidate, (borrower, weth, MAX_UINT), keeper),
            engine,
            calldata("liquidate(address,address,uint256)", borrower.address, weth.address, MAX_UINT),
        ),
        "liquidate_reenters_queue_retract_bid": (
            rm.base,
            (engine.liquidate, (borrower, weth, MAX_UINT), keeper),
            queue,
            calldata("retract_bid(uint256,uint256)", rm.bid, MAX_UINT),
        ),
        "liquidate_reenters_vault_settle_liquidation": (
            rm.weth,  # the seized collateral moves vault -> queue inside settle_liquidation
            (engine.liquidate, (borrower, weth, MAX_UINT), keeper),
            vault,
            calldata("accrue_interest()"),
        ),
    }


SCENARIOS = [
    "deposit_reenters_vault_deposit",
    "redeem_reenters_vault_redeem",
    "add_collateral_reenters_vault_remove_collateral",
    "borrow_reenters_vault_borrow",
    "repay_reenters_vault_accrue_interest",
    "submit_bid_reenters_queue_retract_bid",
    "retract_bid_reenters_queue_retract_bid",
    "liquidate_reenters_engine_liquidate",
    "liquidate_reenters_queue_retract_bid",
    "liquidate_reenters_vault_settle_liquidation",
]


@pytest.mark.parametrize("name", SCENARIOS)
def test_reentrant_token__strict_callback_into_a_locked_contract__reverts_and_changes_nothing(
    name, rm, check, owner, lender, borrower, other_borrower, bidder, keeper
):
    token, (method, args, caller), target, data = _scenarios(rm, lender, borrower, other_borrower, bidder, keeper)[name]
    token.set_callback(target, data, True, sender=owner)
    check("mock: callback failed", caller, method, *args)


@pytest.mark.parametrize("name", SCENARIOS)
def test_reentrant_token__lenient_callback_into_a_locked_contract__is_refused_and_the_operation_runs_once(
    name, rm, chain, fast, owner, lender, borrower, other_borrower, bidder, keeper
):
    token, (method, args, caller), target, data = _scenarios(rm, lender, borrower, other_borrower, bidder, keeper)[name]
    actors = (lender, borrower, other_borrower, bidder, keeper)
    fast.freeze_time()  # both runs at one timestamp: interest cannot tell them apart
    try:
        # the same operation without a callback, for reference
        snapshot = chain.snapshot()
        reference = _effects(rm, lambda: method(*args, sender=caller), *actors)
        chain.restore(snapshot)
        token.set_callback(target, data, False, sender=owner)
        effects = _effects(rm, lambda: method(*args, sender=caller), *actors)
    finally:
        fast.unfreeze_time()

    assert token.callbacks() >= 1
    assert not token.last_success(), "the re-entrant call went through"
    assert token.last_result() == b"", "the re-entrant call failed for another reason than the lock"
    assert effects == reference, "the operation did something else than without the callback"


def test_reentrant_token__callback_into_a_contract_not_in_a_call__goes_through(rm, owner, lender):
    """Control: during a deposit the queue is not mid-call, so a callback into it runs (and the vault's would not)."""
    rm.base.set_callback(rm.queue, calldata("activate_bids(uint256[])", []), False, sender=owner)
    rm.vault.deposit(1_000 * USDA, lender, sender=lender)
    assert rm.base.last_success()
    rm.base.set_callback(rm.vault, calldata("accrue_interest()"), False, sender=owner)
    rm.vault.deposit(1_000 * USDA, lender, sender=lender)
    assert not rm.base.last_success()


def _effects(rm, operation, *actors) -> tuple:
    """Every balance and position the scenarios touch, after `operation`."""
    operation()
    holders = [*actors, rm.vault, rm.queue, rm.engine]
    return (
        tuple(t.balanceOf(h) for t in (rm.base, rm.weth, rm.vault) for h in holders),
        rm.vault.cash(),
        rm.vault.total_debt(),
        rm.vault.reserves(),
        tuple(rm.vault.collateral_of(a, rm.weth) for a in actors),
        tuple(rm.queue.bid_info(i) for i in range(1, rm.queue.next_bid_id())),
    )
