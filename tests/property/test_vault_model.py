"""LendingVault against exact Python models (tests/utils/vault_model.py), with hypothesis.

Three markets (base asset of 6, 8 and 18 decimals) are deployed once per module; each example picks one and runs
inside `isolated(chain)` (tests/utils/isolation.py), since ape isolates per test, not per example.
"""

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import pytest
from ape import project
from hypothesis import given
from hypothesis import strategies as st

from tests.utils.isolation import isolated
from tests.utils.rates import deploy_rate_model, set_rates
from tests.utils.vault_model import (
    MAX_UINT,
    WAD,
    YEAR,
    InterestModel,
    Limits,
    Position,
    RateModel,
    ceil_frac,
    contract_annual_rate,
    contract_health,
    exact_annual_rate,
    exact_assets,
    exact_health,
    exact_shares,
    floor_frac,
    liquidatable_within,
    rounding_bounds,
)

DAY = 86_400
PCT = WAD // 100
FEED_DECIMALS = 8
DECIMALS = [6, 8, 18]
# symbol -> (decimals, USD price, max_ltv, liq_ltv, risk_factor), as in tests/conftest.py
COLLATERALS = {
    "weth": (18, 2_000, 80 * PCT, 85 * PCT, 10 * PCT),
    "wbtc": (8, 60_000, 70 * PCT, 78 * PCT, 12 * PCT),
    "gold": (6, 2_500, 65 * PCT, 75 * PCT, 5 * PCT),
}
LIQUIDITY = 100_000_000  # whole base tokens lent to every vault
BORROWER_WBTC = 100_000 * 10**8  # posted by both borrowers of the interest test ($6bn: opening limits never bind)


@dataclass
class Market:
    decimals: int
    base: Any
    vault: Any
    engine: Any
    lens: Any

    @property
    def unit(self) -> int:
        return 10**self.decimals


@pytest.fixture(scope="module")
def tokens(project, owner):
    return {
        symbol: project.MockERC20.deploy(symbol.upper(), symbol.upper(), decimals, sender=owner)
        for symbol, (decimals, *_) in COLLATERALS.items()
    }


@pytest.fixture(scope="module")
def bases(project, owner):
    return {decimals: project.MockERC20.deploy("USDA", "USDA", decimals, sender=owner) for decimals in DECIMALS}


@pytest.fixture(scope="module")
def feeds(project, owner, tokens, bases):
    feeds = {}
    for symbol, token in tokens.items():
        usd = COLLATERALS[symbol][1]
        feeds[token.address] = project.MockAggregator.deploy(
            FEED_DECIMALS, symbol, usd * 10**FEED_DECIMALS, sender=owner
        )
    for base in bases.values():
        feeds[base.address] = project.MockAggregator.deploy(FEED_DECIMALS, "USDA", 10**FEED_DECIMALS, sender=owner)
    return feeds


@pytest.fixture(scope="module")
def oracle(project, owner, feeds):
    oracle = project.PriceOracle.deploy(sender=owner)
    for asset, feed in feeds.items():
        oracle.set_feeds(asset, [feed], DAY, 0, sender=owner)
    return oracle


@pytest.fixture(scope="module")
def markets(project, owner, oracle, tokens, bases, lender, borrower, other_borrower, other_lender):
    """One vault (with its risk engine and lens) per base decimals, each with `LIQUIDITY` lent; every actor funded
    and approved for everything."""
    markets = {}
    for decimals, base in bases.items():
        vault = project.LendingVault.deploy(
            base, oracle, deploy_rate_model(owner), "ALA USDA vault", "alaV", sender=owner
        )
        engine = project.LiquidationEngine.deploy(
            vault, project.LiquidationQueue.deploy(base, sender=owner), sender=owner
        )
        vault.set_engine(engine, sender=owner)
        for symbol, token in tokens.items():
            _, _, max_ltv, liq_ltv, risk_factor = COLLATERALS[symbol]
            engine.configure_collateral(token, max_ltv, liq_ltv, risk_factor, sender=owner)
        for account in (lender, other_lender, borrower, other_borrower):
            base.mint(account, 10**12 * 10**decimals, sender=owner)
            base.approve(vault, MAX_UINT, sender=account)
            for token in tokens.values():
                token.mint(account, 10**12 * 10 ** token.decimals(), sender=owner)
                token.approve(vault, MAX_UINT, sender=account)
        vault.deposit(LIQUIDITY * 10**decimals, lender, sender=lender)
        markets[decimals] = Market(decimals, base, vault, engine, project.LiquidationLens.deploy(engine, sender=owner))
    return markets


def freeze(chain):
    """The next block lands at the head's timestamp: what views read now is what the transaction sees."""
    chain.pending_timestamp = chain.blocks.head.timestamp


def answers(low_usd, high_usd):
    """Feed answers (8 decimals) between two USD prices."""
    return st.integers(low_usd * 10**FEED_DECIMALS, high_usd * 10**FEED_DECIMALS)


# ---------------------------------------------------------------- risk metrics


@given(
    decimals=st.sampled_from(DECIMALS),
    amounts=st.tuples(
        st.one_of(st.just(0), st.integers(1, 1_000 * 10**18)),  # WETH, 18 decimals
        st.one_of(st.just(0), st.integers(1, 50 * 10**8)),  # WBTC, 8 decimals
        st.one_of(st.just(0), st.integers(1, 10_000 * 10**6)),  # GOLD, 6 decimals
    ),
    opening=st.tuples(answers(1, 10_000), answers(100, 200_000), answers(100, 5_000)),
    base_answer=st.integers(95 * 10**6, 105 * 10**6),
    borrowed_permille=st.integers(0, 1_000),
    moves_pct=st.tuples(st.integers(1, 300), st.integers(1, 300), st.integers(1, 300), st.integers(90, 110)),
)
def test_risk_metrics__match_the_exact_model_within_rounding(
    markets, tokens, feeds, oracle, owner, borrower, stranger, chain, decimals, amounts, opening, base_answer,
    borrowed_permille, moves_pct,
):  # fmt: skip
    market = markets[decimals]
    vault = market.vault
    limits = Limits(*market.engine.risk_limits())
    assets = list(tokens.values())
    with isolated(chain):
        for token, answer in zip(assets, opening, strict=True):
            feeds[token.address].update_answer(answer, sender=owner)
        feeds[market.base.address].update_answer(base_answer, sender=owner)
        for token, amount in zip(assets, amounts, strict=True):
            if amount:
                vault.add_collateral(token, amount, borrower, sender=borrower)

        # borrow a share of the LTV capacity (the binding opening limit for this market's parameters)
        positions = [position(vault, oracle, borrower, token) for token in assets]
        base_price = oracle.price(market.base)
        capacity = sum(p.amount * p.price // 10**p.decimals * p.max_ltv // WAD for p in positions)
        debt = min(capacity * borrowed_permille // 1_000 * market.unit // base_price, vault.available_liquidity())
        if debt:
            opening_health = contract_health(positions, debt, base_price, decimals, limits)
            assert opening_health.debt_value <= capacity
            assert opening_health.risk_ratio <= limits.max_risk_ratio
            assert opening_health.leverage <= limits.max_leverage
            vault.borrow(debt, borrower, sender=borrower)

        # then the prices move
        for token, answer, move in zip([*assets, market.base], [*opening, base_answer], moves_pct, strict=True):
            feeds[token.address].update_answer(max(1, answer * move // 100), sender=owner)
        positions = [position(vault, oracle, borrower, token) for token in assets]
        base_price = oracle.price(market.base)
        on_chain = market.lens.account_health(borrower)
        debt = vault.debt_of(borrower)  # what was borrowed, plus the seconds of interest since

        # the vault's integer formulas, replayed, to the last wei
        assert tuple(on_chain) == astuple(contract_health(positions, debt, base_price, decimals, limits))
        # the exact metrics, within the rounding of every input, on the protocol's side
        bounds = rounding_bounds(positions, debt, base_price, decimals, limits)
        exact = exact_health(positions, debt, base_price, decimals, limits)
        for metric, interval in bounds.items():
            assert getattr(on_chain, metric) in interval, (metric, getattr(on_chain, metric), interval)
        assert on_chain.collateral_value <= exact.collateral_value
        assert on_chain.debt_value >= exact.debt_value
        assert on_chain.health <= exact.health
        assert on_chain.leverage >= exact.leverage
        if on_chain.collateral_value > on_chain.debt_value:
            # and the risk ratio is never below the exact ratio of the values it is computed from
            weighted = sum(Fraction(p.amount * p.price // 10**p.decimals * p.risk_factor, WAD) for p in positions)
            risk = weighted + Fraction(on_chain.debt_value * limits.base_risk_factor, WAD)
            assert on_chain.risk_ratio >= risk * WAD / (on_chain.collateral_value - on_chain.debt_value)
        verdict = liquidatable_within(bounds, debt, limits)
        if verdict is not None:
            assert on_chain.liquidatable == verdict == exact.liquidatable
        # the batch view and the engine's snapshot agree with the single view
        assert market.lens.accounts_health([borrower.address, stranger.address]) == [
            on_chain,
            (0, 0, MAX_UINT, MAX_UINT, MAX_UINT, False),
        ]
        snapshot = market.lens.liquidation_snapshot(borrower, tokens["weth"])
        assert (snapshot.liquidatable, snapshot.debt, snapshot.debt_value) == (
            on_chain.liquidatable,
            debt,
            on_chain.debt_value,
        )


def position(vault, oracle, account, token) -> Position:
    config = project.LiquidationEngine.at(vault.engine()).collateral_config(token)
    return Position(
        vault.collateral_of(account, token),
        oracle.price(token),
        token.decimals(),
        config.max_ltv,
        config.liq_ltv,
        config.risk_factor,
    )


def astuple(health) -> tuple:
    return (
        health.collateral_value,
        health.debt_value,
        health.health,
        health.risk_ratio,
        health.leverage,
        health.liquidatable,
    )


# ---------------------------------------------------------------- interest


@pytest.fixture(scope="module")
def borrowers(markets, tokens, borrower, other_borrower):
    """Both borrowers post so much WBTC in every market that no opening limit binds."""
    for market in markets.values():
        for account in (borrower, other_borrower):
            market.vault.add_collateral(tokens["wbtc"], BORROWER_WBTC, account, sender=account)
    return [borrower, other_borrower]


STEP = st.tuples(
    st.sampled_from(["borrow", "borrow", "repay", "repay_all", "accrue", "deposit"]),
    st.integers(0, 1),  # which borrower
    st.integers(1, 1_000),  # per mille of what the action may take
    st.integers(0, 120 * DAY),  # seconds before the action
)


@given(
    decimals=st.sampled_from(DECIMALS),
    model=st.builds(
        RateModel,
        base_rate=st.integers(0, 10 * PCT),
        slope_low=st.integers(0, 30 * PCT),
        slope_high=st.integers(0, 300 * PCT),
        kink=st.integers(50 * PCT, 95 * PCT),
    ),
    reserve_factor=st.integers(0, 50 * PCT),
    first=st.integers(1, 1_000),
    steps=st.lists(STEP, min_size=1, max_size=6),
)
def test_interest__follows_the_exact_model_within_a_unit_per_accrual(
    markets, borrowers, tokens, feeds, owner, lender, chain, decimals, model, reserve_factor, first, steps
):
    market = markets[decimals]
    vault, unit = market.vault, market.unit
    with isolated(chain):
        set_rates(vault, owner, model.base_rate, model.slope_low, model.slope_high, model.kink)
        tx = vault.set_reserve_factor(reserve_factor, sender=owner)
        exact = InterestModel(model, reserve_factor, last_accrual=tx.timestamp, cash=vault.cash())

        # the first borrow opens the debt every step then accrues on
        plan = [("borrow", 0, first, 0), *steps]
        for action, who, permille, wait in plan:
            account = borrowers[who]
            chain.pending_timestamp = chain.blocks.head.timestamp + wait
            if action == "borrow":
                # the oracle's answers must stay fresh (max age one day): re-post them at the borrow's time
                for asset in (tokens["wbtc"], market.base):
                    feeds[asset.address].update_answer(feeds[asset.address].latestAnswer(), sender=owner)
                freeze(chain)
            # the rate the next accrual charges: the kinked model at the vault's utilisation, rounded down
            utilisation = vault.utilisation()
            rate = vault.borrow_rate()
            exact_rate = exact_annual_rate(Fraction(utilisation, WAD), model) * WAD
            assert rate == contract_annual_rate(utilisation, model)
            assert exact_rate - 1 < rate <= exact_rate
            if action == "borrow":
                amount = vault.available_liquidity() * permille // 1_000
                if amount == 0:
                    continue
                tx = vault.borrow(amount, account, sender=account)
                exact.accrue(tx.timestamp, utilisation)
                exact.borrow(account.address, amount)
            elif action in ("repay", "repay_all"):
                if vault.scaled_debt_of(account) == 0:
                    continue
                requested = MAX_UINT if action == "repay_all" else max(1, vault.debt_of(account) * permille // 1_000)
                tx = vault.repay(requested, account, sender=account)
                repaid = vault.Repaid.from_receipt(tx)[0]
                exact.accrue(tx.timestamp, utilisation)
                exact.repay(account.address, repaid.amount, full=repaid.remaining == 0)
            elif action == "accrue":
                tx = vault.accrue_interest(sender=owner)
                exact.accrue(tx.timestamp, utilisation)
            else:
                tx = vault.deposit(LIQUIDITY * unit * permille // 1_000, lender, sender=lender)
                exact.accrue(tx.timestamp, utilisation)
                exact.deposit(LIQUIDITY * unit * permille // 1_000)

            # the views read at the block of this accrual, so no interest is pending; each within the model's slack
            assert vault.last_accrual() == tx.timestamp
            assert vault.cash() == exact.cash
            assert abs(vault.borrow_index() - exact.index) <= exact.index_slack
            for holder in borrowers:
                owed = exact.debts.get(holder.address, 0)
                assert abs(vault.debt_of(holder) - owed) <= exact.slack_of(holder.address), (holder, float(owed))
            assert abs(vault.total_debt() - exact.total_debt) <= exact.total_debt_slack
            assert abs(vault.reserves() - exact.reserves) <= exact.reserves_slack


# ---------------------------------------------------------------- ERC-4626 rounding


@pytest.fixture(scope="module")
def collateralised(markets, tokens, borrower):
    for market in markets.values():
        market.vault.add_collateral(tokens["wbtc"], 1_000_000 * 10**8, borrower, sender=borrower)


@given(
    decimals=st.sampled_from(DECIMALS),
    borrowed_permille=st.integers(0, 990),
    wait=st.integers(0, 3 * YEAR),
    second_lender=st.one_of(st.just(0), st.integers(1, 10**9)),
    assets=st.one_of(st.integers(1, 10**4), st.integers(1, 10**12).map(lambda micro: -micro)),
    shares=st.one_of(st.integers(1, 10**4), st.integers(1, 10**12).map(lambda micro: -micro)),
)
def test_erc4626__previews_never_favour_the_caller_and_round_trips_never_gain(
    markets, collateralised, tokens, feeds, owner, borrower, other_lender, stranger, chain, decimals,
    borrowed_permille, wait, second_lender, assets, shares,
):  # fmt: skip
    market = markets[decimals]
    vault, base = market.vault, market.base
    # a positive draw is a raw amount (a few units); a negative one counts millionths of a whole token
    assets = assets if assets > 0 else -assets * market.unit // 10**6 or 1
    shares = shares if shares > 0 else -shares * market.unit
    with isolated(chain):
        if borrowed_permille:
            vault.borrow(vault.available_liquidity() * borrowed_permille // 1_000, borrower, sender=borrower)
        if wait:
            chain.pending_timestamp = chain.blocks.head.timestamp + wait
            vault.accrue_interest(sender=owner)
        if second_lender:
            vault.deposit(second_lender * market.unit // 1_000, other_lender, sender=other_lender)

        freeze(chain)
        total_assets, supply = vault.totalAssets(), vault.totalSupply()
        # previewDeposit / previewRedeem round down, previewMint / previewWithdraw round up: never the caller's way
        assert vault.previewDeposit(assets) == floor_frac(exact_shares(assets, total_assets, supply))
        assert vault.previewRedeem(shares) == floor_frac(exact_assets(shares, total_assets, supply))
        assert vault.previewMint(shares) == ceil_frac(exact_assets(shares, total_assets, supply))
        assert vault.previewWithdraw(assets) == ceil_frac(exact_shares(assets, total_assets, supply))

        # deposit then redeem at the same timestamp: never more back than was put in
        base.mint(stranger, assets, sender=owner)
        base.approve(vault, MAX_UINT, sender=stranger)
        freeze(chain)
        expected = vault.previewDeposit(assets)
        if expected == 0:
            return  # worth less than a share unit: the deposit reverts (unit-tested)
        minted = vault.deposit(assets, stranger, sender=stranger).return_value
        assert minted == expected
        freeze(chain)
        back = vault.previewRedeem(minted)
        assert back <= assets
        # (reserves may have outgrown the cash at high utilisation: then nothing can leave, which is no gain either)
        if 0 < back <= vault.available_liquidity():
            assert vault.redeem(minted, stranger, stranger, sender=stranger).return_value == back

        # mint then withdraw what was paid: burns at least the shares minted
        freeze(chain)
        cost = vault.previewMint(shares)
        base.mint(stranger, cost, sender=owner)
        freeze(chain)
        paid = vault.mint(shares, stranger, sender=stranger).return_value
        assert paid == cost
        freeze(chain)
        assert vault.previewWithdraw(paid) >= shares
