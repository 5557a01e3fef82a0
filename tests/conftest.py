"""Shared fixtures: named actors, tokens of 6/8/18 decimals, feeds, and hypothesis profiles."""

import os
import sys
from pathlib import Path

# ape-foundry finds anvil only on PATH (the npm package puts it in node_modules/.bin), and ape-vyper
# finds the pip-installed vyper only on PATH (the virtualenv's bin): put both there before ape loads.
for _bin in (Path(__file__).resolve().parent.parent / "node_modules" / ".bin", Path(sys.executable).parent):
    if str(_bin) not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = f"{_bin}{os.pathsep}{os.environ.get('PATH', '')}"

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

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
