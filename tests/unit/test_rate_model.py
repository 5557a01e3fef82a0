"""KinkedRateModel: bounds at deployment and the kinked rate against an exact model."""

from fractions import Fraction

import ape
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.utils.vault_model import RateModel, contract_annual_rate, exact_annual_rate

WAD = 10**18
PCT = 10**16


@pytest.mark.parametrize(
    "rates, reason",
    [
        ((WAD + 1, 0, 0, WAD // 2), "rate model: base_rate above bound"),
        ((0, 3 * WAD + 1, 0, WAD // 2), "rate model: slope_low above bound"),
        ((0, 0, 10 * WAD + 1, WAD // 2), "rate model: slope_high above bound"),
        ((0, 0, 0, 0), "rate model: kink out of bounds"),
        ((0, 0, 0, WAD), "rate model: kink out of bounds"),
    ],
)
def test_deploy__out_of_bounds__reverts(rates, reason, project, accounts):
    # An account no other test deploys from. After test_queue.py, a failed deployment from the owner came back as
    # eth_abi's InvalidPointer instead of the reason (apparently ape decodes it with what it cached for the
    # would-be address, where an earlier test had deployed another contract).
    deployer = accounts[19]
    with ape.reverts(reason):
        project.KinkedRateModel.deploy(*rates, sender=deployer)


@pytest.mark.parametrize("rates", [(WAD, 3 * WAD, 10 * WAD, WAD - 1), (0, 0, 0, 1)])
def test_deploy__the_edges_of_every_bound__are_accepted(rates, project, owner):
    model = project.KinkedRateModel.deploy(*rates, sender=owner)
    assert (model.base_rate(), model.slope_low(), model.slope_high(), model.kink()) == rates


@pytest.mark.parametrize(
    "utilisation, expected",
    [(0, PCT), (40 * PCT, 3 * PCT), (80 * PCT, 5 * PCT), (90 * PCT, 5 * PCT + 75 * PCT // 2), (WAD, 80 * PCT)],
)
def test_borrow_rate__follows_the_kink(utilisation, expected, project, owner):
    model = project.KinkedRateModel.deploy(PCT, 4 * PCT, 75 * PCT, 80 * PCT, sender=owner)
    assert model.borrow_rate(utilisation) == expected


def test_borrow_rate__utilisation_above_one__quotes_full_utilisation(project, owner):
    model = project.KinkedRateModel.deploy(PCT, 4 * PCT, 75 * PCT, 80 * PCT, sender=owner)
    assert model.borrow_rate(2**256 - 1) == model.borrow_rate(WAD) == 80 * PCT


@pytest.fixture(scope="module")
def extreme_model(project, owner):
    return project.KinkedRateModel.deploy(WAD, 3 * WAD, 10 * WAD, 7 * PCT + 3, sender=owner)


@given(utilisation=st.integers(0, WAD))
def test_borrow_rate__within_one_wei_below_the_exact_rate(extreme_model, utilisation):
    rates = RateModel(WAD, 3 * WAD, 10 * WAD, 7 * PCT + 3)
    quoted = extreme_model.borrow_rate(utilisation)
    assert quoted == contract_annual_rate(utilisation, rates)
    exact = exact_annual_rate(Fraction(utilisation, WAD), rates) * WAD
    assert exact - 1 < quoted <= exact
