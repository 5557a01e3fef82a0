"""The market the system state machine starts every example from, deployed and funded once per module.

`market` deploys through the shared `system` fixture (ala.deploy.deploy_system), funds every actor over raw
JSON-RPC, freezes block time (Anvil's timestamp interval 0: a view read before a transaction sees the timestamp the
transaction will), and opens positions through the `Driver`, so the model and the chain agree from the first step.
"""

from __future__ import annotations

import time
from fractions import Fraction

import pytest

from tests.stateful.driver import RATE_CHOICES, Driver, Env
from tests.stateful.model import (
    CollateralSpec,
    EngineParams,
    RiskLimits,
    SystemModel,
)
from tests.stateful.summary import RUN_SUMMARY, write_attacker_table
from tests.utils.fast_chain import FastChain, calldata, word, words

MAX_UINT = 2**256 - 1
# GOLD bids skip the waiting period while GOLD's active bids are below this (base units): exercises the
# immediate activation and its same-block rule
GOLD_BID_THRESHOLD = 2_000 * 10**6
# collateral of 0 and 2 decimals, listed by the market fixture (symbol, decimals, USD price, max_ltv, liq_ltv,
# risk_factor): a whole DEED unit is worth more than a whole liquidation's fees (the low-decimal drain)
LOW_DECIMALS = (("DEED", 0, 100, 60, 70, 10), ("BOND", 2, 1_000, 70, 80, 5))


@pytest.fixture(scope="module")
def third_borrower(accounts):
    return accounts[11]


@pytest.fixture(scope="module")
def third_bidder(accounts):
    return accounts[12]


@pytest.fixture(scope="module")
def attacker(accounts):
    return accounts[13]


def _list_low_decimal_collateral(project, system, owner) -> dict[str, tuple]:
    """List DEED (0 decimals) and BOND (2) with one 8-decimal feed each, as the deployment lists any collateral.
    Returns symbol -> (token, feed)."""
    listed = {}
    for symbol, decimals, usd, max_ltv, liq_ltv, risk_factor in LOW_DECIMALS:
        token = project.MockERC20.deploy(symbol, symbol, decimals, sender=owner)
        feed = project.MockAggregator.deploy(8, f"{symbol} / USD", usd * 10**8, sender=owner)
        system.oracle.set_feeds(token, [feed], system.params.oracle_max_age, 0, sender=owner)
        pct = 10**16
        system.engine.configure_collateral(token, max_ltv * pct, liq_ltv * pct, risk_factor * pct, sender=owner)
        system.queue.set_pool_params(token, pct, 10, 600, 0, sender=owner)
        listed[symbol] = (token, feed)
    return listed


def _fast_chain(chain) -> FastChain:
    provider = chain.provider
    uri = getattr(provider, "uri", None) or provider.web3.provider.endpoint_uri
    return FastChain(uri)


@pytest.fixture(scope="module")
def market(
    project,
    system,
    chain,
    owner,
    guardian,
    keeper,
    stranger,
    lender,
    other_lender,
    borrower,
    other_borrower,
    third_borrower,
    bidder,
    other_bidder,
    third_bidder,
    attacker,
):
    fast = _fast_chain(chain)
    low_decimals = _list_low_decimal_collateral(project, system, owner)
    gold = system.tokens["GOLD"]
    params = system.queue.pool_params(gold)
    system.queue.set_pool_params(
        gold, params.premium_step, params.max_slot, params.waiting_period, GOLD_BID_THRESHOLD, sender=owner
    )
    system.vault.set_guardian(guardian, sender=owner)

    env = Env(
        base=system.base.address,
        tokens={
            **{symbol: token.address for symbol, token in system.tokens.items()},
            **{symbol: token.address for symbol, (token, _) in low_decimals.items()},
        },
        feeds={
            **{symbol: [f.address for f in feeds] for symbol, feeds in system.feeds.items()},
            **{symbol: [feed.address] for symbol, (_, feed) in low_decimals.items()},
        },
        oracle=system.oracle.address,
        vault=system.vault.address,
        queue=system.queue.address,
        engine=system.engine.address,
        lens=system.lens.address,
        owner=owner.address,
        guardian=guardian.address,
        keeper=keeper.address,
        donor=stranger.address,
        lenders=[lender.address, other_lender.address],
        borrowers=[borrower.address, other_borrower.address, third_borrower.address],
        bidders=[bidder.address, other_bidder.address, third_bidder.address],
        rate_models={rates: project.KinkedRateModel.deploy(*rates, sender=owner).address for rates in RATE_CHOICES},
        attacker=attacker.address,
    )
    base_symbol = system.params.base.symbol

    # every actor holds plenty of every token and has approved the vault and the queue
    decimals = {
        symbol: int(word(fast.calls([(token, calldata("decimals()"))])[0])) for symbol, token in env.tokens.items()
    }
    for holder in {env.keeper, env.donor, env.attacker, *env.lenders, *env.borrowers, *env.bidders}:
        for symbol, token in env.tokens.items():
            amount = 10**15 if symbol == base_symbol else 10**6 * 10 ** decimals[symbol]
            fast.transact(env.owner, token, calldata("mint(address,uint256)", holder, amount))
            for spender in (env.vault, env.queue):
                fast.transact(holder, token, calldata("approve(address,uint256)", spender, MAX_UINT))

    model = _model_from_chain(fast, env, system, base_symbol)
    fast.freeze_time()
    number, timestamp = fast.head()
    model.now, model.block = timestamp, number + 1
    driver = Driver(fast, env, model)
    _open_positions(driver, env)
    try:
        yield driver
    finally:
        fast.unfreeze_time()


def _model_from_chain(fast: FastChain, env: Env, system, base_symbol: str) -> SystemModel:
    vault, queue, engine = env.vault, env.queue, env.engine
    collaterals = {}
    for symbol in [c.symbol for c in system.params.collaterals] + [c[0] for c in LOW_DECIMALS]:
        token = env.tokens[symbol]
        config, pool, decimals = fast.calls(
            [
                (engine, calldata("collateral_config(address)", token)),
                (queue, calldata("pool_params(address)", token)),
                (token, calldata("decimals()")),
            ]
        )
        max_ltv, liq_ltv, risk_factor, _, _ = words(config)
        step, max_slot, wait, threshold = words(pool)
        collaterals[symbol] = CollateralSpec(
            symbol, token, word(decimals), max_ltv, liq_ltv, risk_factor, step, max_slot, wait, threshold
        )
    (rate_model,) = fast.calls([(vault, calldata("rate_model()"))])
    rate_model = "0x" + rate_model[-40:]
    reads = fast.calls(
        [
            (engine, calldata("risk_limits()")),
            (rate_model, calldata("base_rate()")),
            (vault, calldata("reserve_factor()")),
            (engine, calldata("close_ratio()")),
            (engine, calldata("dust_value()")),
            (engine, calldata("keeper_fee()")),
            (engine, calldata("protocol_fee()")),
            (vault, calldata("borrow_index()")),
            (vault, calldata("last_accrual()")),
            (system.base.address, calldata("decimals()")),
        ]
    )
    limits = RiskLimits(*words(reads[0]))
    model = SystemModel(
        base_symbol=base_symbol,
        base_address=env.base,
        base_decimals=word(reads[9]),
        collaterals=collaterals,
        limits=limits,
        engine=EngineParams(word(reads[3]), word(reads[4]), word(reads[5]), word(reads[6])),
        reserve_factor=word(reads[2]),
        rate_model=tuple(
            word(r)
            for r in [
                reads[1],
                *fast.calls([(rate_model, calldata(f"{view}()")) for view in ("slope_low", "slope_high", "kink")]),
            ]
        ),
        addresses={"vault": vault, "queue": queue, "engine": engine},
        index=word(reads[7]),
        last_accrual=word(reads[8]),
    )
    for symbol, feeds in env.feeds.items():
        rounds = [words(r) for r in fast.calls([(f, calldata("latestRoundData()")) for f in feeds])]
        answers = {r[1] for r in rounds}
        assert len(answers) == 1 and len(feeds) == 1, "the model prices one feed per asset"
        model.answers[symbol] = answers.pop()
        model.updated_at[symbol] = rounds[0][3]
        (max_age,) = fast.calls([(env.oracle, calldata("max_age(address)", env.tokens[symbol]))])
        model.max_age[symbol] = word(max_age)
    for symbol, token in env.tokens.items():
        results = fast.calls([(token, calldata("balanceOf(address)", h)) for h in env.holders])
        model.balances[symbol] = {h: word(r) for h, r in zip(env.holders, results, strict=True)}
    return model


def _open_positions(driver: Driver, env: Env) -> None:
    """Lenders, three borrowers at (or near) their max LTV, one of them already liquidatable, and bids over several
    slots of every collateral."""
    units = {s: c.unit for s, c in driver.model.collaterals.items()}
    usd = 10**driver.model.base_decimals
    lender, other_lender = env.lenders
    first, second, third = env.borrowers
    bidder, other_bidder, third_bidder = env.bidders
    driver.deposit(lender, 2_000_000 * usd)
    driver.deposit(other_lender, 500_000 * usd)
    driver.add_collateral(first, "WETH", 100 * units["WETH"])
    driver.borrow(first, 160_000 * usd)
    driver.add_collateral(second, "WBTC", 3 * units["WBTC"])
    driver.add_collateral(second, "GOLD", 20 * units["GOLD"])
    driver.borrow(second, 158_000 * usd)
    driver.add_collateral(third, "GOLD", 50 * units["GOLD"])
    driver.add_collateral(third, "WETH", 5 * units["WETH"])
    driver.add_collateral(third, "DEED", 100 * units["DEED"])
    driver.add_collateral(second, "BOND", 5 * units["BOND"])
    driver.borrow(third, 89_000 * usd)
    driver.submit_bid(bidder, "GOLD", 0, 1_000 * usd)  # below GOLD's threshold: active at once
    for who, symbol, slot, amount in [
        (bidder, "WETH", 0, 40_000),
        (other_bidder, "WETH", 2, 100_000),
        (third_bidder, "WETH", 5, 80_000),
        (bidder, "WBTC", 1, 60_000),
        (other_bidder, "WBTC", 4, 90_000),
        (third_bidder, "GOLD", 0, 30_000),
        (other_bidder, "GOLD", 3, 60_000),
        (bidder, "DEED", 0, 3_000),
        (other_bidder, "DEED", 2, 5_000),
        (third_bidder, "BOND", 1, 4_000),
    ]:
        driver.submit_bid(who, symbol, slot, amount * usd)
    driver.advance_time(max(c.waiting_period for c in driver.model.collaterals.values()))
    for bid_id, bid in sorted(driver.model.bids.items()):
        if bid.pending:
            driver.activate_bid(bid_id, env.keeper)
    assert all(not b.pending for b in driver.model.bids.values())
    assert sum((b.deposit for b in driver.model.bids.values()), Fraction(0)) > 0
    # WETH slips 8%: every example starts with the first borrower liquidatable (health ~0.98)
    driver.set_price("WETH", driver.model.answers["WETH"] * 92 // 100)
    assert driver.model.health(first).liquidatable
    assert not driver.model.health(second).liquidatable and not driver.model.health(third).liquidatable


def pytest_terminal_summary(terminalreporter):
    if not RUN_SUMMARY["steps"]:
        return
    steps, seconds = RUN_SUMMARY["steps"], RUN_SUMMARY["seconds"]
    if not seconds and "started" in RUN_SUMMARY:  # the test failed before recording its time
        seconds = time.monotonic() - RUN_SUMMARY["started"]
    terminalreporter.write_sep("=", "system state machine")
    rate = 60 * steps / max(seconds, 1e-9)
    terminalreporter.write_line(
        f"{RUN_SUMMARY['examples']} examples, {steps} steps in {seconds:.1f} s = {rate:,.0f} steps/min"
    )
    for key, count in sorted(RUN_SUMMARY["stats"].items()):
        terminalreporter.write_line(f"  {key}: {count}")
    write_attacker_table(terminalreporter.write_line, RUN_SUMMARY)
