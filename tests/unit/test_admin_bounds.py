"""ala.admin's bounds are the contracts' bounds: for every bound `ala.admin.bounds` mirrors, a value just outside it
is refused in Python naming the bound and the reason, and the contract refuses the same call with that reason; the
value on the bound passes the Python check and the contract does not refuse it for that reason. The cross-parameter
rules are held to their contracts the same way, so neither side can drift from the other unseen."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ala import admin
from ala.cli_common import CommandError, preflight
from ala.deploy import deploy_auction
from ala.params import AuctionParams

WAD = 10**18
BOUNDS = admin.bounds(6)
# in-bound starting points where the chain's own values would hide a bound (breaker off, volatility unconfigured)
VALID = {
    "set_breaker": {"tolerance": WAD // 10, "confirmation_delay": 3_600},
    "set_volatility_params": {"ewma_lambda": 94 * WAD // 100, "k": WAD, "min_factor": WAD // 2},
    # one slot, so a premium step just under 50% is not refused as a top premium of 50% or more
    "set_pool_params": {"max_slot": 1},
}
# the asset each per-asset setter's bounds are tried on: the quorum's bound [1, 3] needs an asset with three feeds
SUBJECT = {"set_min_sources": "GOLD"}


@pytest.fixture(scope="module")
def wired(system, project, owner):
    system.params = replace(system.params, auction=AuctionParams())
    system.auction, system.auctions = deploy_auction(
        project, owner, system.params, system.base, system.oracle, system.vault, system.engine
    )
    gold, first = system.tokens["GOLD"], system.feeds["GOLD"][0]
    more = [
        project.MockAggregator.deploy(first.decimals(), "GOLD / USD", first.latestRoundData()[1], sender=owner)
        for _ in range(2)
    ]
    system.oracle.set_feeds(gold, [first, *more], 86_400, 2 * WAD // 100, sender=owner)
    return system


def _args(system, function: str, values: dict[str, int], symbol: str) -> tuple:
    setter = admin.SETTERS[function]
    ordered = tuple(values[name] for name, _ in setter.parameters)
    if not setter.per_asset:
        return ordered
    asset = system.tokens[symbol]
    if function == "set_feeds":
        return (asset, list(system.oracle.feeds(asset)), *ordered)
    return (asset, *ordered)


def _contract_reason(system, owner, function: str, values: dict[str, int], symbol: str = "") -> str | None:
    """The contract's revert reason for the call from the owner, or None when it would succeed."""
    method = getattr(getattr(system, admin.CONTRACTS[admin.SETTERS[function].contract]), function)
    try:
        preflight(method, *_args(system, function, values, symbol or SUBJECT.get(function, "WETH")), sender=owner)
    except CommandError as exc:
        return str(exc.message).removeprefix("would revert: ")
    return None


def _cases():
    for (function, parameter), b in BOUNDS.items():
        outside = [b.high if b.high_open else b.high + 1]
        if b.low_open:
            outside.append(b.low)
        elif b.low > 0:
            outside.append(b.low - 1)
        for value in outside:
            yield pytest.param(function, parameter, value, id=f"{function}.{parameter}={value}")


@pytest.mark.parametrize(("function", "parameter", "value"), list(_cases()))
def test_bound__value_just_outside__python_and_contract_refuse_with_the_same_reason(
    wired, owner, function, parameter, value
):
    b = BOUNDS[(function, parameter)]
    asset = wired.tokens[SUBJECT.get(function, "WETH")]
    values = {**admin.current(wired, function, asset), **VALID.get(function, {})}
    values[parameter] = value

    with pytest.raises(CommandError) as refused:
        b.check(value, 6)

    assert f"{parameter} " in refused.value.message and b.describe(6) in refused.value.message
    assert f"would revert '{b.reason_for(value)}'" in refused.value.message
    assert _contract_reason(wired, owner, function, values) == b.reason_for(value)


@pytest.mark.parametrize(("function", "parameter"), list(BOUNDS))
def test_bound__value_on_the_bound__passes_python_and_is_not_refused_for_it(wired, owner, function, parameter):
    b = BOUNDS[(function, parameter)]
    asset = wired.tokens[SUBJECT.get(function, "WETH")]
    for value in (b.low + 1 if b.low_open else b.low, b.high - 1 if b.high_open else b.high):
        values = {**admin.current(wired, function, asset), **VALID.get(function, {})}
        values[parameter] = value
        b.check(value, 6)
        assert _contract_reason(wired, owner, function, values) not in (b.reason, b.high_reason)


RULES = [
    ("configure_collateral", "WETH", {"max_ltv": 85 * WAD // 100}),
    ("configure_collateral", "WETH", {"max_ltv": 84 * WAD // 100, "liq_ltv": 83 * WAD // 100}),
    ("set_risk_limits", "", {"max_risk_ratio": 2 * WAD}),
    ("set_risk_limits", "", {"max_risk_ratio": 0}),
    ("set_risk_limits", "", {"max_leverage": WAD}),
    ("set_risk_limits", "", {"max_leverage": 16 * WAD}),
    ("set_pool_params", "WETH", {"premium_step": 5 * WAD // 100}),
    ("set_breaker", "WETH", {"tolerance": 0, "confirmation_delay": 60}),
    ("set_breaker", "WETH", {"tolerance": WAD // 10, "confirmation_delay": 59}),
    ("set_curve", "", {"floor": 4 * WAD // 10}),
    ("set_reset_rules", "", {"cusp": 3 * WAD // 10}),
    # WETH has one feed: a quorum of two is within [1, 3] but above its feed count
    ("set_min_sources", "WETH", {"min_sources": 2}),
]


@pytest.mark.parametrize(("function", "symbol", "overrides"), RULES, ids=[f"{f}-{o}" for f, _, o in RULES])
def test_rule__broken__python_names_the_rule_and_the_contract_reverts_with_its_reason(
    wired, owner, function, symbol, overrides
):
    values = {**admin.current(wired, function, wired.tokens[symbol or "WETH"]), **overrides}

    with pytest.raises(CommandError) as refused:
        admin.setter(wired, function, overrides, symbol)

    reason = refused.value.message.rsplit("would revert '", 1)[1].rstrip("')")
    assert _contract_reason(wired, owner, function, values, symbol or "WETH") == reason
