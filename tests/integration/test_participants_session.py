"""A bidder's and a borrower's session from end to end, as the README's "Taking part" tells it (`-s` prints it):
the bidder submits and lists, the borrower reads his liquidation price, the price crosses it, the keeper
liquidates, the bidder claims; `watch --once` before and after."""

from __future__ import annotations

from decimal import Decimal

import pytest


@pytest.fixture(scope="module", autouse=True)
def actors(owner, lender, borrower, bidder, keeper):
    """Every session-scoped actor requested before the module's snapshot (a later first request rebases it)."""


def test_session__bid_borrow_crash_liquidate_claim(
    cli, system, actions, chain, lender, borrower, bidder, give, make_keeper
):
    def step(title, script, *args, account=None, code=0):
        out = cli.run(script, *args, account=account)
        print(f"\n$ ape run {script} {' '.join(args)}" + (f" --account {cli.alias(account)}" if account else ""))
        print(out.out + out.err, end="")
        assert out.code == code, (title, out)
        return out

    actions.lend(lender, 1_000_000)
    give("USDA", bidder, 30_000)
    give("WETH", borrower, 10)

    # the bidder's first session
    step("submit", "bid", "submit", "WETH", "1", "20,000", account=bidder)
    step("list", "bid", "list", account=bidder)
    step("pools", "bid", "pools", "WETH", "--size", "8,000")
    chain.pending_timestamp = chain.blocks.head.timestamp + 601
    chain.mine()
    step("activate", "bid", "activate", "--all-due", account=bidder)

    # the borrower's first session
    step("add", "account", "add-collateral", "WETH", "10", account=borrower)
    system.vault.borrow(15_000 * 10**6, borrower, sender=borrower)
    report = step("show", "account", "--json", account=borrower).json
    step("show", "account", account=borrower)
    price = Decimal(str(report["collaterals"][0]["liquidation_price"]))
    step("watch before", "watch", "--once")

    # the price crosses the liquidation price
    actions.set_price("WETH", (price * Decimal("0.99")).quantize(Decimal("0.01")))
    step("watch crossed", "watch", "--once", code=1)
    assert system.lens.liquidatable([borrower.address]) == [True]

    keeper = make_keeper()
    done = keeper.run_once()
    print(f"\n(keeper) liquidations mined: {done.liquidations_mined}")
    assert done.liquidations_mined >= 1
    assert system.lens.liquidatable([borrower.address]) == [False]

    listed = step("list after", "bid", "list", "--json", account=bidder).json
    assert Decimal(listed[0]["claimable"]) > 0
    step("list after", "bid", "list", account=bidder)
    weth = system.tokens["WETH"]
    before = weth.balanceOf(bidder)
    step("claim", "bid", "claim", "--all", account=bidder)
    assert weth.balanceOf(bidder) - before == Decimal(listed[0]["claimable"]) * 10**18
    step("account after", "account", account=borrower)
    step("watch after", "watch", "--once")
