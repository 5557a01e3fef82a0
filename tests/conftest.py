"""Shared fixtures: named actors, tokens of 6/8/18 decimals, feeds, hypothesis profiles, the suite's clock.

The market fixtures (tokens, feeds, oracle, vault) are module-scoped: deployed once per module (and per base-decimals
value), while ape's per-test snapshot gives every test the chain as the module fixtures left it. A module that
parametrizes `base_decimals` does so with `scope="module"`, so that pytest groups its tests by decimals.
"""

import json
import os
import sys
import time
from pathlib import Path

# ape-foundry finds anvil only on PATH (bin/anvil wraps the npm binary in node_modules/.bin so that it
# keeps no block states on disk), and ape-vyper finds the pip-installed vyper only on PATH (the
# virtualenv's bin): put both there before ape loads.
for _bin in (Path(__file__).resolve().parent.parent / "bin", Path(sys.executable).parent):
    if str(_bin) not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = f"{_bin}{os.pathsep}{os.environ.get('PATH', '')}"

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from tests.utils.clock import tick_per_block  # noqa: E402
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

SLOWEST = 15  # tests listed at the end of a run

# `make test` runs two xdist workers with `--dist loadscope`: a module runs whole, in its own order, on one worker,
# and modules are handed out in collection order. The longest modules (seconds of test time in a full run) come
# first, so that the short ones fill in at the end and both workers finish together.
LONGEST_FIRST = (
    "tests/unit/test_vault.py",
    "tests/stateful/test_fallbacks.py",
    "tests/stateful/test_system.py",
    "tests/property/test_vault_model.py",
    "tests/integration/test_keeper.py",
    "tests/unit/test_dutch_auction.py",
    "tests/property/test_queue_precision.py",
    "tests/property/test_queue_model.py",
    "tests/unit/test_queue.py",
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(LONGEST_FIRST)))  # stable: keeps the rest


@pytest.fixture(scope="session")
def fast(chain):
    """Raw JSON-RPC to the test node (tests/utils/fast_chain.py), for setup that is not itself under test."""
    from tests.utils.fast_chain import FastChain

    return FastChain.of(chain)


@pytest.fixture(scope="session", autouse=True)
def fast_reverts():
    """Skip what ape does for every reverted transaction beyond reading its reason: printing the call trace and
    mapping it back to source lines (one to several seconds per revert). `ape.reverts(reason)` needs neither.
    `ALA_TEST_TRACES=1` keeps them, to debug a revert nobody expected."""
    if os.environ.get("ALA_TEST_TRACES") == "1":
        yield
        return
    from ape.exceptions import TransactionError
    from ape_foundry.trace import AnvilTransactionTrace

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AnvilTransactionTrace, "show", lambda self, *args, **kwargs: None)
        patch.setattr(TransactionError, "source_traceback", property(lambda self: None, lambda self, value: None))
        yield


@pytest.fixture(scope="session", autouse=True)
def block_clock(chain, fast):
    """One second per block for the whole session (tests/utils/clock.py): no test sees the wall clock. Also builds
    `fast` before any module snapshot: a session fixture first requested later makes ape rebase the chain."""
    tick_per_block(fast.request)


def pytest_sessionstart(session):
    session.config._ala_started = time.monotonic()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The slowest tests (setup + call + teardown) and the run's wall time, so that a slowdown shows at once.

    `make test` runs in two parts (the parallel suite, then the tests marked `alone`); with `ALA_TEST_TIMES` naming a
    file, each part adds its times there and the summary covers every part so far."""
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller reports for the whole run
    seconds: dict[str, float] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) in ("setup", "call", "teardown"):
                seconds[report.nodeid] = seconds.get(report.nodeid, 0.0) + report.duration
    if not seconds:
        return
    wall = time.monotonic() - config._ala_started
    if path := os.environ.get("ALA_TEST_TIMES"):
        earlier = json.loads(Path(path).read_text()) if Path(path).exists() else {"seconds": {}, "wall": 0.0}
        seconds = {**earlier["seconds"], **seconds}
        wall += earlier["wall"]
        Path(path).write_text(json.dumps({"seconds": seconds, "wall": wall}))
    terminalreporter.section(f"slowest {SLOWEST} tests (setup + call + teardown)")
    for nodeid, spent in sorted(seconds.items(), key=lambda item: -item[1])[:SLOWEST]:
        terminalreporter.write_line(f"{spent:8.2f}s  {nodeid}")
    terminalreporter.write_line(
        f"total: {len(seconds)} tests, {sum(seconds.values()):.0f} s of test time, {wall:.0f} s wall clock"
    )


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
    """Plays the liquidation engine in the queue's and the auction house's unit tests."""
    return accounts[10]


# ---------------------------------------------------------------- a market of mock tokens and feeds

WAD = 10**18
FEED_DECIMALS = 8


def _feed(project, owner, price_usd, decimals=FEED_DECIMALS, name="X / USD"):
    return project.MockAggregator.deploy(decimals, name, int(price_usd * 10**decimals), sender=owner)


def _token(project, owner, symbol: str, decimals: int):
    return project.MockERC20.deploy(symbol, symbol, decimals, sender=owner)


@pytest.fixture
def make_token(project, owner):
    def make(symbol: str, decimals: int):
        return _token(project, owner, symbol, decimals)

    return make


@pytest.fixture(scope="module")
def base_decimals():
    """Decimals of the base asset; modules parametrize this fixture to run with 6, 8 and 18."""
    return 6


@pytest.fixture(scope="module")
def base_token(project, owner, base_decimals):
    return _token(project, owner, "USDA", base_decimals)


@pytest.fixture(scope="module")
def weth(project, owner):
    return _token(project, owner, "WETH", 18)


@pytest.fixture(scope="module")
def wbtc(project, owner):
    return _token(project, owner, "WBTC", 8)


@pytest.fixture(scope="module")
def gold(project, owner):
    return _token(project, owner, "GOLD", 6)


@pytest.fixture(scope="module")
def feeds(project, owner, base_token, weth, wbtc, gold):
    """One 8-decimal feed per asset: base $1, WETH $2,000, WBTC $60,000, GOLD $2,500."""
    return {
        base_token.address: _feed(project, owner, 1, name="USDA / USD"),
        weth.address: _feed(project, owner, 2_000, name="ETH / USD"),
        wbtc.address: _feed(project, owner, 60_000, name="BTC / USD"),
        gold.address: _feed(project, owner, 2_500, name="XAU / USD"),
    }


@pytest.fixture(scope="module")
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


@pytest.fixture(scope="module")
def vault(project, owner, base_token, oracle, weth, wbtc, gold):
    """A vault with three collaterals (18, 8 and 6 decimals), listed by a real risk engine (`engine`)."""
    vault = project.LendingVault.deploy(
        base_token, oracle, deploy_rate_model(owner), "ALA USDA vault", "alaV", sender=owner
    )
    queue = project.LiquidationQueue.deploy(base_token, sender=owner)
    engine = project.LiquidationEngine.deploy(vault, queue, sender=owner)
    vault.set_engine(engine, sender=owner)
    engine.configure_collateral(weth, 80 * WAD // 100, 85 * WAD // 100, 10 * WAD // 100, sender=owner)
    engine.configure_collateral(wbtc, 70 * WAD // 100, 78 * WAD // 100, 12 * WAD // 100, sender=owner)
    engine.configure_collateral(gold, 65 * WAD // 100, 75 * WAD // 100, 5 * WAD // 100, sender=owner)
    return vault


@pytest.fixture(scope="module")
def engine(project, vault):
    """The vault's risk engine: risk parameters, thresholds and opening checks."""
    return project.LiquidationEngine.at(vault.engine())


@pytest.fixture(scope="module")
def lens(project, owner, engine):
    """Health and liquidation views over the vault and its engine."""
    return project.LiquidationLens.deploy(engine, sender=owner)


@pytest.fixture(scope="module")
def engine_signer(accounts, chain, vault):
    """The engine's own address as a signer, so the tests call the vault's raw engine hooks as the engine does."""
    signer = accounts[vault.engine()]
    chain.set_balance(signer.address, 10**21)
    return signer


@pytest.fixture
def fund(owner, fast):
    """Mint `amount` of `token` to `account` and approve `spender` for it (raw transactions: setup, not a test)."""

    def fund(token, account, amount, spender):
        fast.mint_and_approve(owner, token, account, amount, spender)

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
