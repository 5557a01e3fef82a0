"""Shared fixtures: named actors, tokens of 6/8/18 decimals, feeds, and hypothesis profiles."""

import os
import sys
from pathlib import Path

# ape-foundry finds anvil only on PATH (bin/anvil wraps the npm binary in node_modules/.bin so that it
# keeps no block states on disk), and ape-vyper finds the pip-installed vyper only on PATH (the
# virtualenv's bin): put both there before ape loads.
for _bin in (Path(__file__).resolve().parent.parent / "bin", Path(sys.executable).parent):
    if str(_bin) not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = f"{_bin}{os.pathsep}{os.environ.get('PATH', '')}"

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from tests.utils.rates import deploy_rate_model  # noqa: E402

settings.register_profile(
    "ci",
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
settings.register_profile(
    "deep",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def owner(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def lender(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def borrower(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def bidder(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def keeper(accounts):
    return accounts[4]


@pytest.fixture(scope="session")
def guardian(accounts):
    return accounts[5]


@pytest.fixture(scope="session")
def stranger(accounts):
    return accounts[6]


@pytest.fixture(scope="session")
def other_bidder(accounts):
    return accounts[7]


@pytest.fixture(scope="session")
def other_borrower(accounts):
    return accounts[8]


@pytest.fixture(scope="session")
def other_lender(accounts):
    return accounts[9]


@pytest.fixture(scope="session")
def engine_account(accounts):
    """Plays the liquidation engine in the vault's and the queue's unit tests."""
    return accounts[10]


# ---------------------------------------------------------------- a market of mock tokens and feeds

WAD = 10**18
FEED_DECIMALS = 8


def _feed(project, owner, price_usd, decimals=FEED_DECIMALS, name="X / USD"):
    return project.MockAggregator.deploy(decimals, name, int(price_usd * 10**decimals), sender=owner)


@pytest.fixture
def make_token(project, owner):
    def make(symbol: str, decimals: int):
        return project.MockERC20.deploy(symbol, symbol, decimals, sender=owner)

    return make


@pytest.fixture
def base_decimals():
    """Decimals of the base asset; modules parametrize this fixture to run with 6, 8 and 18."""
    return 6


@pytest.fixture
def base_token(make_token, base_decimals):
    return make_token("USDA", base_decimals)


@pytest.fixture
def weth(make_token):
    return make_token("WETH", 18)


@pytest.fixture
def wbtc(make_token):
    return make_token("WBTC", 8)


@pytest.fixture
def gold(make_token):
    return make_token("GOLD", 6)


@pytest.fixture
def feeds(project, owner, base_token, weth, wbtc, gold):
    """One 8-decimal feed per asset: base $1, WETH $2,000, WBTC $60,000, GOLD $2,500."""
    return {
        base_token.address: _feed(project, owner, 1, name="USDA / USD"),
        weth.address: _feed(project, owner, 2_000, name="ETH / USD"),
        wbtc.address: _feed(project, owner, 60_000, name="BTC / USD"),
        gold.address: _feed(project, owner, 2_500, name="XAU / USD"),
    }


@pytest.fixture
def oracle(project, owner, feeds):
    oracle = project.PriceOracle.deploy(sender=owner)
    for asset, feed in feeds.items():
        oracle.set_feeds(asset, [feed], 86_400, 0, sender=owner)
    return oracle


@pytest.fixture
def set_price(owner, feeds):
    """Post a new USD price (a float or int) for a token to its feed."""

    def set_price(token, price_usd):
        feeds[token.address].update_answer(round(price_usd * 10**FEED_DECIMALS), sender=owner)

    return set_price


@pytest.fixture
def vault(project, owner, base_token, oracle, weth, wbtc, gold, engine_account):
    """A vault with three collaterals (18, 8 and 6 decimals); `engine_account` plays the engine."""
    vault = project.LendingVault.deploy(
        base_token, oracle, deploy_rate_model(owner), "ALA USDA vault", "alaV", sender=owner
    )
    vault.configure_collateral(weth, 80 * WAD // 100, 85 * WAD // 100, 10 * WAD // 100, sender=owner)
    vault.configure_collateral(wbtc, 70 * WAD // 100, 78 * WAD // 100, 12 * WAD // 100, sender=owner)
    vault.configure_collateral(gold, 65 * WAD // 100, 75 * WAD // 100, 5 * WAD // 100, sender=owner)
    vault.set_engine(engine_account, sender=owner)
    return vault


@pytest.fixture
def fund(owner):
    """Mint `amount` of `token` to `account` and approve `spender` for it."""

    def fund(token, account, amount, spender):
        token.mint(account, amount, sender=owner)
        token.approve(spender, amount, sender=account)

    return fund


# ---------------------------------------------------------------- the whole system, deployed like the scripts do


@pytest.fixture(scope="session")
def system_params():
    """WETH (18 dec), WBTC (8) and GOLD (6) against a 6-decimal base; every bid waits 10 minutes."""
    from decimal import Decimal

    from ala.params import CollateralParams, SystemParams, TokenParams

    def collateral(symbol, decimals, price, max_ltv, liq_ltv, risk_factor):
        return CollateralParams(
            symbol=symbol,
            decimals=decimals,
            price=Decimal(price),
            max_ltv=Decimal(max_ltv),
            liq_ltv=Decimal(liq_ltv),
            risk_factor=Decimal(risk_factor),
            premium_step=Decimal("0.01"),
            max_slot=10,
            waiting_period=600,
            bid_threshold=Decimal(0),
        )

    return SystemParams(
        base=TokenParams(symbol="USDA", decimals=6, price=Decimal(1)),
        collaterals=(
            collateral("WETH", 18, 2_000, "0.80", "0.85", "0.10"),
            collateral("WBTC", 8, 60_000, "0.70", "0.78", "0.12"),
            collateral("GOLD", 6, 2_500, "0.65", "0.75", "0.05"),
        ),
        oracle_max_age=86_400,
    )


@pytest.fixture(scope="module")
def system(project, accounts, chain, system_params):
    from ala.deploy import deploy_system

    return deploy_system(project, accounts[0], system_params, chain)


@pytest.fixture
def actions(system, owner, chain):
    """The moves of lenders, borrowers and bidders in whole tokens, as tests and scripts speak them."""
    from tests.utils.actions import Actions

    return Actions(system, owner, chain)
