"""`ala.deploy` sets each asset's oracle quorum from the parameter file (`min_sources`; 0 keeps the oracle's
default, a majority of the feeds), and `SystemParams.check` refuses a quorum its feeds cannot meet."""

from __future__ import annotations

import dataclasses

import pytest


@pytest.fixture(scope="module")
def system_params(system_params):
    """WETH on three feeds with a quorum of three, WBTC on two with the default, GOLD on three with the default."""
    quorum = {"WETH": (3, 3), "WBTC": (2, 0), "GOLD": (3, 0)}
    collaterals = tuple(
        dataclasses.replace(c, mock_feeds=quorum[c.symbol][0], min_sources=quorum[c.symbol][1])
        for c in system_params.collaterals
    )
    return dataclasses.replace(system_params, collaterals=collaterals)


def test_deploy_system__min_sources_from_the_file__or_a_majority(system):
    oracle, tokens = system.oracle, system.tokens
    assert [oracle.min_sources(tokens[s]) for s in ("USDA", "WETH", "WBTC", "GOLD")] == [1, 3, 2, 2]


@pytest.mark.parametrize("feeds, min_sources", [(1, 2), (3, 4), (2, -1)])
def test_params_check__quorum_beyond_the_feeds__refused(system_params, feeds, min_sources):
    weth = dataclasses.replace(system_params.collateral("WETH"), mock_feeds=feeds, min_sources=min_sources)
    params = dataclasses.replace(system_params, collaterals=(weth,))
    with pytest.raises(ValueError, match=f"WETH: min_sources {min_sources} must be within \\[1, {feeds}\\]"):
        params.check()


def test_params_check__four_feeds__refused(system_params):
    weth = dataclasses.replace(system_params.collateral("WETH"), mock_feeds=4)
    with pytest.raises(ValueError, match="WETH: the oracle takes 1 to 3 feeds, not 4"):
        dataclasses.replace(system_params, collaterals=(weth,)).check()
