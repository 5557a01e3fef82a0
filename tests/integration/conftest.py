"""Fixtures for the keeper against a live Anvil: a funded market, keepers in-process and as processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.helpers import KeeperProcess, Market, open_borrowers, write_deployment
from tests.utils.actions import Actions
from tests.utils.clock import tick_per_block, wall_clock

N_BORROWERS = 36


@pytest.fixture(scope="module", autouse=True)
def moving_clock(chain):
    """The keeper polls a live chain while time passes: these tests run on the wall clock, the rest of the suite on
    one second per block (tests/utils/clock.py)."""
    wall_clock(chain.provider.make_request)
    yield
    tick_per_block(chain.provider.make_request)


@pytest.fixture(scope="module")
def system(project, accounts, chain, system_params):
    """The shared system with a Chainlink-style proxy in front of every feed, as on mainnet: the proxies emit
    nothing, so the keeper must follow the aggregators behind them."""
    from ala.deploy import deploy_system

    return deploy_system(project, accounts[0], system_params, chain, feed_proxies=True)


@pytest.fixture(scope="module")
def market(system, owner, chain, accounts):
    """A lender, 36 borrowers from 45% to 99% of max LTV over WETH/WBTC/GOLD, active bids in slots 0 and 2."""
    actions = Actions(system, owner, chain)
    lender, bidder = accounts[1], accounts[3]
    actions.lend(lender, 5_000_000)
    borrowers = open_borrowers(actions, chain, accounts, "b", N_BORROWERS)
    bid_ids = [actions.submit(bidder, s, slot, 400_000) for s in ("WETH", "WBTC", "GOLD") for slot in (0, 2)]
    actions.activate(bid_ids)
    assert not system.lens.liquidatable(borrowers).count(True)
    return Market(system=system, actions=actions, borrowers=borrowers, bid_ids=bid_ids)


@pytest.fixture
def rpc_url(chain) -> str:
    return chain.provider.uri


@pytest.fixture
def deployment(system, tmp_path) -> Path:
    return write_deployment(system, tmp_path / "deployment.json")


@pytest.fixture
def keeper_key(keeper) -> str:
    return keeper.private_key


@pytest.fixture
def second_keeper_key(accounts) -> str:
    return accounts[11].private_key


@pytest.fixture
def make_keeper(system, tmp_path, rpc_url, keeper_key):
    """In-process keepers (`make_keeper(**config overrides)`), started and always shut down."""
    from ala.keeper import Keeper, KeeperConfig

    made = []

    def make(**overrides):
        overrides.setdefault("db_path", str(tmp_path / f"keeper{len(made)}.sqlite"))
        overrides.setdefault("rpc_url", rpc_url)
        overrides.setdefault("private_key", keeper_key)
        overrides.setdefault("poll_interval", 0.1)
        keeper = Keeper(KeeperConfig.from_deployment(system.to_json("ethereum:local"), **overrides))
        keeper.startup()
        made.append(keeper)
        return keeper

    yield make
    for keeper in made:
        if keeper.store is not None:
            keeper.shutdown(grace=0)


@pytest.fixture
def keeper_process(tmp_path, rpc_url, deployment, keeper_key):
    """`keeper_process(name, *cli args, key=..., rpc_url=...)`: a keeper subprocess, killed at teardown."""
    started = []

    def start(name: str, *args: str, key: str | None = None, url: str | None = None) -> KeeperProcess:
        proc = KeeperProcess(tmp_path, name, url or rpc_url, deployment, key or keeper_key, *args).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()


# ---------------------------------------------------------------- the participant commands (bid, account, watch)


@pytest.fixture
def cli(system, accounts, chain, tmp_path):
    """`cli.run("bid", "list", "--json", account=bidder)`: a participant command in-process against this Anvil."""
    from tests.integration.participants import Participants

    return Participants(system, accounts, chain, tmp_path)


@pytest.fixture
def give(system, owner, fast):
    """`give(symbol, account, whole tokens)`: mint with no allowance to anyone who matters (setup, raw transactions)."""
    from decimal import Decimal

    def give(symbol, account, amount):
        token = system.tokens[symbol]
        raw = int(Decimal(str(amount)) * 10 ** token.decimals())
        fast.mint_and_approve(owner, token, account, raw, owner, allowance=0)
        return raw

    return give
