"""`ape run watch` against a live Anvil: the ranking, the volatility column, the exit code, the live refresh."""

from __future__ import annotations

import json
import math
import threading

import pytest

WAD = 10**18


@pytest.fixture(scope="module", autouse=True)
def actors(owner, lender, borrower, other_borrower, stranger):
    """Every session-scoped actor requested before the module's snapshot (a later first request rebases it)."""


@pytest.fixture
def borrowers(actions, lender, borrower, other_borrower, stranger):
    """Three accounts of 10 WETH ($20,000) owing 8,000, 15,000 and 12,000 USDA; liquidatable below $941, $1,765 and
    $1,412 (LTV health binds)."""
    actions.lend(lender, 1_000_000)
    for account, debt in ((borrower, 8_000), (other_borrower, 15_000), (stranger, 12_000)):
        actions.post(account, "WETH", 10)
        actions.borrow(account, debt)
    return [other_borrower.address, stranger.address, borrower.address]  # nearest first


def test_watch_once__ranks_by_distance__exit_0(cli, borrowers):
    out = cli.run("watch", "--once", "--json")

    assert out.code == 0, out
    s = out.json
    assert [r["account"] for r in s["accounts"]] == borrowers
    assert s["borrowers"] == 3 and s["liquidatable"] == 0
    first = s["accounts"][0]
    assert first["collateral"] == "WETH" and first["binding"] == "ltv_health"
    assert first["distance"] == pytest.approx(1 - 15_000 / 0.85 / 10 / 2_000, rel=1e-4)
    assert first["sigmas"] is None  # no volatility estimate yet: nothing has poked the oracle


def test_watch_once__an_account_liquidatable__first_and_exit_1(cli, actions, borrowers):
    actions.set_price("WETH", 1_700)
    out = cli.run("watch", "--once", "--json")
    assert out.code == 1
    s = out.json
    assert s["liquidatable"] == 1
    assert s["accounts"][0]["account"] == borrowers[0] and s["accounts"][0]["liquidatable"]
    assert s["accounts"][0]["distance"] == 0
    human = cli.run("watch", "--once")
    assert human.code == 1 and "LIQUIDATABLE" in human.out and "1 liquidatable" in human.out


def test_watch_once__sigmas_of_one_hours_move_from_the_oracle(cli, system, actions, chain, borrowers):
    weth = system.tokens["WETH"]
    # a round a minute, each seen by a poke: more rounds than the 12 the estimate reads back
    for price in (2_000, 2_040, 1_990, 2_030) * 4:
        chain.pending_timestamp = chain.blocks.head.timestamp + 60
        actions.set_price("WETH", price)
        system.oracle.poke(weth, sender=actions.owner)
    volatility = system.oracle.volatility(weth) / WAD
    assert volatility > 0

    s = cli.run("watch", "--once", "--json").json

    v = s["volatility"]["WETH"]
    assert v["measured"] and v["observation_seconds"] == pytest.approx(60, abs=1.5)
    hourly = volatility * math.sqrt(3600 / v["observation_seconds"])
    assert v["hourly"] == pytest.approx(hourly)
    first = s["accounts"][0]
    assert first["sigmas"] == pytest.approx(first["distance"] / hourly)
    forced = cli.run("watch", "--once", "--json", "--observation-seconds", "3600").json
    assert forced["accounts"][0]["sigmas"] == pytest.approx(first["distance"] / volatility)


def test_watch__live__refreshes_on_a_new_block(cli, fast, borrowers):
    """`--refreshes 1` stops after the first new block; a block mined meanwhile by someone else is what it waits for."""
    timer = threading.Timer(1.0, lambda: fast.request("evm_mine", []))
    timer.start()
    try:
        out = cli.run("watch", "--json", "--interval", "0.2", "--refreshes", "1")
    finally:
        timer.cancel()
    assert out.code == 0, out
    first, second = (json.loads(line) for line in out.out.splitlines())
    assert second["block"] > first["block"]
    assert [r["account"] for r in second["accounts"]] == borrowers
