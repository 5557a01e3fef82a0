"""Gas of the DutchAuction's kick, take and redo, measured from receipts on a local Anvil.

`measure_auction_gas`: the auction house alone, with an account playing the engine, a 6-decimal base asset and
18-decimal WETH, priced by the project's PriceOracle over mock feeds. `measure_wired_auction_gas`: the whole
system as `ala.deploy` builds it with an auction house wired to the engine, so the liquidation that opens an
auction and the settlement of what it raised are measured too. Each figure is one transaction in the scenario
described by its key; the chain is restored between scenarios. Wallets that receive tokens already hold some (a
fresh balance slot would add 17,100 gas to any transfer), except where a key says otherwise.
"""

from __future__ import annotations

from typing import Any

MAX_UINT = 2**256 - 1
WAD = 10**18
USDA = 10**6
STEP = 90
TAIL = 8_400

SCENARIOS = {
    "kick": "engine starts an auction (lot delivered first; first auction of the collateral)",
    "take_partial": "buys 1 of 10 WETH; the auction keeps running",
    "take_whole_tab": "raises the whole tab; 6 of 10 WETH return to the borrower (holding none before)",
    "take_whole_lot": "buys all 10 WETH, which cannot cover the tab; finished with a shortfall",
    "take_callback": "flash take of 1 WETH through MockTakeCallee (sells to a market, approves, is pulled)",
    "redo_incentive": "after tail: fresh top from two oracle prices, pays tip + chip from the incentive balance",
    "redo_no_incentive": "below cusp: fresh top, no incentive configured",
    "liquidate_opens_auction": "wired engine, no bids: the whole slice (tab 7,500 USDA) goes to a new auction",
    "liquidate_queue_then_auction": "wired engine: one slot raises 3,000 USDA, the rest goes to an auction",
    "take_wired_whole_tab": "wired engine: raises the auction's whole tab (the base goes to the engine)",
    "settle_auction": "books a finished auction's proceeds on the vault (the settlement repays), releases the account",
    "redo_wired": "wired engine: after tail, fresh top from the oracle, no incentive",
}


def _scenarios(chain: Any, results: dict[str, int]) -> Any:
    """`scenario(name, run)`: record the gas of the transaction `run()` returns, then restore the chain."""

    def scenario(name: str, run: Any) -> None:
        snapshot = chain.snapshot()
        try:
            results[name] = int(run().gas_used)
        finally:
            chain.restore(snapshot)

    return scenario


def measure_auction_gas(project: Any, accounts: Any, chain: Any) -> dict[str, int]:
    """Gas used by each scenario of `SCENARIOS`, keyed like it."""
    owner, borrower, taker, keeper, engine, market = (accounts[i] for i in (0, 2, 3, 4, 6, 7))
    base = project.MockERC20.deploy("USDA", "USDA", 6, sender=owner)
    weth = project.MockERC20.deploy("WETH", "WETH", 18, sender=owner)
    oracle = project.PriceOracle.deploy(sender=owner)
    for token, usd in ((base, 1), (weth, 2_000)):
        feed = project.MockAggregator.deploy(8, "X / USD", usd * 10**8, sender=owner)
        oracle.set_feeds(token, [feed], 86_400, 0, sender=owner)
    # the vault only matters to the callback guard: any address stands in for it
    house = project.DutchAuction.deploy(base, oracle, engine, owner, engine, sender=owner)
    callee = project.MockTakeCallee.deploy(house, base, market, sender=owner)

    for who in (taker, market, engine, keeper):
        base.mint(who, 10**15, sender=owner)
        weth.mint(who, 1, sender=owner)
    base.approve(house, MAX_UINT, sender=taker)
    base.approve(callee, MAX_UINT, sender=market)
    base.mint(callee, 1, sender=owner)
    weth.mint(callee, 1, sender=owner)

    def kick(lot: int, tab: int, top: int) -> tuple[int, Any]:
        weth.mint(house, lot, sender=owner)
        tx = house.kick(borrower, weth, lot, tab, top, sender=engine)
        return house.AuctionKicked.from_receipt(tx)[0].auction_id, tx

    results: dict[str, int] = {}
    scenario = _scenarios(chain, results)

    scenario("kick", lambda: kick(10 * WAD, 15_000 * USDA, 1_800 * WAD)[1])

    def take(amount: int, tab: int, through_callee: bool = False) -> Any:
        auction_id, tx = kick(10 * WAD, tab, 1_800 * WAD)
        chain.pending_timestamp = tx.timestamp + 3 * STEP
        if through_callee:
            return callee.buy(auction_id, amount, MAX_UINT, weth, 0, sender=keeper)
        return house.take(auction_id, amount, MAX_UINT, taker, b"", sender=taker)

    scenario("take_partial", lambda: take(WAD, 15_000 * USDA))
    scenario("take_whole_tab", lambda: take(MAX_UINT, 7_000 * USDA))
    scenario("take_whole_lot", lambda: take(MAX_UINT, 30_000 * USDA))
    scenario("take_callback", lambda: take(WAD, 15_000 * USDA, through_callee=True))

    def redo(incentive: bool) -> Any:
        if incentive:
            house.set_incentive(100 * USDA, 10**15, sender=owner)
            base.approve(house, MAX_UINT, sender=keeper)
            house.fund_incentives(10_000 * USDA, sender=keeper)
        auction_id, tx = kick(10 * WAD, 15_000 * USDA, 1_800 * WAD)
        chain.pending_timestamp = tx.timestamp + (TAIL + 1 if incentive else 92 * STEP)
        return house.redo(auction_id, keeper, sender=keeper)

    scenario("redo_incentive", lambda: redo(True))
    scenario("redo_no_incentive", lambda: redo(False))
    return results


def measure_wired_auction_gas(project: Any, accounts: Any, chain: Any) -> dict[str, int]:
    """The `SCENARIOS` of the auction house wired to the engine: liquidate, take, settle, redo."""
    import dataclasses
    from decimal import Decimal

    from ala.deploy import deploy_system
    from ala.params import AuctionParams, CollateralParams, SystemParams, TokenParams

    owner, lender, borrower, bidder, keeper, taker = (accounts[i] for i in (0, 1, 2, 3, 4, 5))
    weth_params = CollateralParams(
        symbol="WETH", decimals=18, price=Decimal(2_000), max_ltv=Decimal("0.80"), liq_ltv=Decimal("0.85")
    )
    params = SystemParams(
        base=TokenParams(symbol="USDA", decimals=6, price=Decimal(1)),
        collaterals=(weth_params, dataclasses.replace(weth_params, symbol="WBTC", decimals=8, price=Decimal(60_000))),
        oracle_max_age=86_400,
        auction=AuctionParams(),
    )
    system = deploy_system(project, owner, params, chain)
    base, weth, vault, engine, queue, house = (
        system.base,
        system.tokens["WETH"],
        system.vault,
        system.engine,
        system.queue,
        system.auction,
    )
    vault.set_rate_model(project.KinkedRateModel.deploy(0, 0, 0, WAD // 2, sender=owner), sender=owner)
    for who in (lender, bidder, taker, keeper, borrower):
        base.mint(who, 10**13, sender=owner)
        weth.mint(who, 1, sender=owner)
    base.approve(vault, MAX_UINT, sender=lender)
    vault.deposit(1_000_000 * USDA, lender, sender=lender)
    weth.mint(borrower, 10 * WAD, sender=owner)
    weth.approve(vault, MAX_UINT, sender=borrower)
    vault.add_collateral(weth, 10 * WAD, borrower, sender=borrower)
    vault.borrow(15_000 * USDA, borrower, sender=borrower)
    system.feeds["WETH"][0].update_answer(1_700 * 10**8, sender=owner)
    base.approve(house, MAX_UINT, sender=taker)
    base.approve(queue, MAX_UINT, sender=bidder)

    results: dict[str, int] = {}
    scenario = _scenarios(chain, results)

    def opened() -> tuple[int, Any]:
        tx = engine.liquidate(borrower, weth, MAX_UINT, sender=keeper)
        return engine.AuctionOpened.from_receipt(tx)[0].auction_id, tx

    def queue_then_auction() -> Any:
        queue.set_pool_params(weth, 10**16, 10, 600, 10**12, sender=owner)  # below the threshold: active at once
        queue.submit_bid(weth, 3, 3_000 * USDA, sender=bidder)
        return engine.liquidate(borrower, weth, MAX_UINT, sender=keeper)

    def take_whole() -> Any:
        auction_id, _ = opened()
        return house.take(auction_id, MAX_UINT, MAX_UINT, taker, b"", sender=taker)

    def settle() -> Any:
        auction_id, _ = opened()
        house.take(auction_id, MAX_UINT, MAX_UINT, taker, b"", sender=taker)
        return system.auctions.settle_auction(auction_id, sender=keeper)

    def redo() -> Any:
        auction_id, tx = opened()
        chain.pending_timestamp = tx.timestamp + TAIL + 1
        for feed in (*system.feeds["WETH"], *system.feeds["USDA"]):
            feed.update_answer(feed.latestRoundData()[1], sender=owner)
        return house.redo(auction_id, keeper, sender=keeper)

    scenario("liquidate_opens_auction", lambda: opened()[1])
    scenario("liquidate_queue_then_auction", queue_then_auction)
    scenario("take_wired_whole_tab", take_whole)
    scenario("settle_auction", settle)
    scenario("redo_wired", redo)
    return results


def auction_gas_rows(results: dict[str, int]) -> list[tuple[str, str, str]]:
    """(operation, gas, scenario) rows for a rich table."""
    return [(name, f"{results[name]:,}", SCENARIOS[name]) for name in SCENARIOS if name in results]
