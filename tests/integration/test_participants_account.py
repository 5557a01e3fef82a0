"""`ape run account` against a live Anvil: the report (liquidation prices checked against the lens), add-collateral,
repay, each refusal (one line, exit 1, nonce unchanged), and the errors every participant command shares."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

WAD = 10**18


@pytest.fixture(scope="module", autouse=True)
def actors(owner, lender, borrower, bidder, other_borrower, stranger):
    """Every session-scoped actor requested before the module's snapshot (a later first request rebases it)."""


def refused(cli, account, script, *args, says):
    nonce = account.nonce
    out = cli.run(script, *args, account=account)
    assert out.code == 1, out
    line = out.error_line
    assert says in line, line
    assert account.nonce == nonce
    return line


def set_limits(system, owner, base_rf, max_rr, liq_rr, max_lev, liq_lev):
    """Market limits; with no debt outstanding they apply at once (no ramp)."""
    return system.engine.set_risk_limits(
        *(int(Decimal(x) * WAD) for x in (base_rf, max_rr, liq_rr, max_lev, liq_lev)), sender=owner
    )


def liquidatable_at(system, actions, chain, account, symbol, price) -> bool:
    with chain.isolate():
        actions.set_price(symbol, price)
        return system.lens.liquidatable([account.address])[0]


def check_price(system, actions, chain, account, symbol, price):
    """Liquidatable 0.01% below the solved price, not 0.01% above it."""
    above = (Decimal(str(price)) * Decimal("1.0001")).quantize(Decimal("0.00000001"))
    below = (Decimal(str(price)) * Decimal("0.9999")).quantize(Decimal("0.00000001"))
    assert not liquidatable_at(system, actions, chain, account, symbol, above)
    assert liquidatable_at(system, actions, chain, account, symbol, below)


# ---------------------------------------------------------------- the report


@pytest.mark.parametrize(
    ("limits", "binding", "price"),
    [
        (("0.02", "1.0", "1.5", "10", "15"), "ltv_health", 12_000 / 0.85 / 10),
        (("0.02", "0.5", "0.6", "10", "15"), "risk_ratio", 1_488),
        (("0.02", "1.0", "1.5", "3", "4"), "leverage", 1_600),
    ],
)
def test_show__each_metric_can_bind__price_verified_on_the_lens(
    cli, system, actions, chain, owner, lender, borrower, limits, binding, price
):
    set_limits(system, owner, *limits)
    actions.lend(lender, 1_000_000)
    actions.post(borrower, "WETH", 10)
    actions.borrow(borrower, 12_000)

    out = cli.run("account", "--json", account=borrower)

    assert out.code == 0, out
    r = out.json
    [weth] = r["collaterals"]
    assert weth["binding"] == binding
    assert weth["liquidation_price"] == pytest.approx(price, rel=1e-4)
    assert weth["drop"] == pytest.approx(1 - price / 2_000, rel=1e-3)
    check_price(system, actions, chain, borrower, "WETH", weth["liquidation_price"])


def test_show__two_collaterals__each_price_with_the_other_held(cli, system, actions, chain, lender, borrower):
    actions.lend(lender, 1_000_000)
    actions.post(borrower, "WETH", 10)  # $20,000
    actions.post(borrower, "WBTC", "0.5")  # $30,000
    actions.borrow(borrower, 30_000)

    r = cli.run("account", "--json", account=borrower).json

    rows = {c["symbol"]: c for c in r["collaterals"]}
    assert rows["WETH"]["liquidation_price"] == pytest.approx((30_000 - 23_400) / 0.85 / 10, rel=1e-4)
    assert rows["WBTC"]["liquidation_price"] == pytest.approx((30_000 - 17_000) / 0.78 / 0.5, rel=1e-4)
    for symbol, row in rows.items():
        check_price(system, actions, chain, borrower, symbol, row["liquidation_price"])
    assert r["nearest"]["symbol"] == "WBTC"  # a 44% fall of WBTC, against 61% of WETH
    assert r["debt"].startswith("30000") and r["debt_value"] == pytest.approx(30_000, rel=1e-4)
    assert r["collateral_value"] == pytest.approx(50_000)
    m = r["metrics"]
    assert m["ltv"]["value"] == pytest.approx(0.6, rel=1e-4)
    assert m["ltv"]["opening_limit"] == pytest.approx((16_000 + 21_000) / 50_000)
    assert m["ltv"]["threshold"] == pytest.approx((17_000 + 23_400) / 50_000)
    assert m["health"]["value"] == pytest.approx(40_400 / 30_000, rel=1e-4)
    assert (m["risk_ratio"]["opening_limit"], m["risk_ratio"]["threshold"]) == (1.0, 1.5)
    assert (m["leverage"]["opening_limit"], m["leverage"]["threshold"]) == (10.0, 15.0)
    assert m["leverage"]["value"] == pytest.approx(50_000 / 20_000, rel=1e-3)
    assert not r["liquidatable"] and m["risk_ratio"]["ramp"] is None


def test_show__ramping_thresholds__say_where_they_end(cli, system, actions, chain, owner, lender, borrower):
    actions.lend(lender, 1_000_000)
    actions.post(borrower, "WETH", 10)
    actions.borrow(borrower, 12_000)
    weth = system.tokens["WETH"]
    tx = system.engine.configure_collateral(weth, 80 * WAD // 100, 83 * WAD // 100, 10 * WAD // 100, sender=owner)
    limits = set_limits(system, owner, "0.02", "0.5", "0.6", "10", "15")  # with debt outstanding: a day's ramp
    ends_at = chain.blocks[tx.block_number].timestamp + 86_400
    market_ends_at = chain.blocks[limits.block_number].timestamp + 86_400

    r = cli.run("account", "--json", account=borrower).json

    [row] = r["collaterals"]
    assert row["liq_ltv_ramp"]["liq_ltv"] == 0.83 and row["liq_ltv_ramp"]["ends_at"] == ends_at
    assert 0.83 < row["liq_ltv"] <= 0.85
    ramp = r["metrics"]["risk_ratio"]["ramp"]
    assert ramp == {"to": 0.6, "ends_at": market_ends_at}
    assert r["metrics"]["risk_ratio"]["threshold"] > 1.4  # hardly moved yet
    out = cli.run("account", account=borrower)
    assert out.code == 0 and "→ 0.6000 by" in out.out and "→ 83.00% by" in out.out

    actions.wait_out_ramps()
    r = cli.run("account", "--json", account=borrower).json
    assert r["collaterals"][0]["liq_ltv_ramp"] is None and r["metrics"]["risk_ratio"]["ramp"] is None
    assert r["metrics"]["risk_ratio"]["threshold"] == 0.6 and r["collaterals"][0]["binding"] == "risk_ratio"


def test_show__liquidatable_account_and_another_address(cli, system, actions, lender, borrower, stranger):
    actions.lend(lender, 1_000_000)
    actions.post(borrower, "WETH", 10)
    actions.borrow(borrower, 15_000)
    actions.set_price("WETH", 1_700)
    out = cli.run("account", borrower.address, "--json", account=stranger)
    assert out.code == 0
    r = out.json
    assert r["account"] == borrower.address and r["liquidatable"]
    assert r["collaterals"][0]["drop"] < 0  # the price is already below it
    human = cli.run("account", borrower.address)
    assert human.code == 0 and "LIQUIDATABLE" in human.out


def test_show__paused_vault__says_adding_and_repaying_still_work(cli, system, actions, owner, lender, borrower):
    actions.lend(lender, 1_000_000)
    actions.post(borrower, "WETH", 10)
    actions.borrow(borrower, 1_000)
    system.vault.set_paused(True, sender=owner)
    assert cli.run("account", "--json", account=borrower).json["borrowing_paused"]
    actions.mint("WETH", borrower, 1, owner)
    assert cli.run("account", "add-collateral", "WETH", "1", account=borrower).code == 0
    assert cli.run("account", "repay", "100", account=borrower).code == 0


def test_show__bad_address__one_line(cli, borrower):
    refused(cli, borrower, "account", "0x1234", says="'0x1234' is not an address")


# ---------------------------------------------------------------- add-collateral


def test_add_collateral__approves_exactly_and_credits_the_account(cli, system, borrower, give):
    give("WBTC", borrower, 2)
    wbtc = system.tokens["WBTC"]
    nonce = borrower.nonce

    out = cli.run("account", "add-collateral", "WBTC", "1.25", "--json", account=borrower)

    assert out.code == 0, out
    assert out.json["added"] == "1.25" and out.json["approved"] == "1.25" and out.json["balance"] == "1.25"
    assert borrower.nonce == nonce + 2
    assert system.vault.collateral_of(borrower, wbtc) == 125_000_000
    assert wbtc.allowance(borrower, system.vault) == 0


def test_add_collateral__for_another_account(cli, system, borrower, other_borrower, give):
    give("GOLD", borrower, 5)
    out = cli.run("account", "add-collateral", "GOLD", "5", "--for", other_borrower.address, account=borrower)
    assert out.code == 0 and f"added 5 GOLD to {other_borrower.address}" in out.out
    assert system.vault.collateral_of(other_borrower, system.tokens["GOLD"]) == 5 * 10**6


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("DOGE", "1"), "unknown collateral 'DOGE'"),
        (("USDA", "1"), "unknown collateral 'USDA'"),
        (("WETH", "3"), "WETH balance of"),
        (("WETH", "1", "--no-approve"), "WETH allowance of"),
        (("WETH", "1", "--for", "me"), "'me' is not an address"),
        (("WBTC", "0.000000001"), "has more than 8 decimals"),
    ],
)
def test_add_collateral__bad_input__one_line_and_nothing_sent(cli, borrower, give, args, says):
    give("WETH", borrower, 2)
    refused(cli, borrower, "account", "add-collateral", *args, says=says)


# ---------------------------------------------------------------- repay


@pytest.fixture
def in_debt(actions, lender, borrower):
    actions.lend(lender, 1_000_000)
    actions.post(borrower, "WETH", 10)
    actions.borrow(borrower, 12_000)


def test_repay__part_then_all(cli, system, borrower, give, in_debt):
    give("USDA", borrower, 100)  # the interest
    out = cli.run("account", "repay", "2,000", "--json", account=borrower)
    assert out.code == 0, out
    assert out.json["repaid"] == "2000" and out.json["approved"] == "2000"
    assert Decimal(out.json["remaining"]) == pytest.approx(10_000, rel=1e-4)

    out = cli.run("account", "repay", "--all", "--json", account=borrower)

    assert out.code == 0, out
    assert out.json["remaining"] == "0" and system.vault.debt_of(borrower) == 0
    assert Decimal(out.json["approved"]) >= Decimal(out.json["repaid"])  # the debt and a few minutes of interest


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("20,000",), "is more than the debt of 12,000.0"),
        (("--all",), "USDA balance of"),
        (("500", "--no-approve"), "USDA allowance of"),
        ((), "give an AMOUNT to repay, or --all"),
        (("5", "--all"), "give an AMOUNT to repay, or --all"),
        (("5", "--for", "0xnope"), "'0xnope' is not an address"),
    ],
)
def test_repay__bad_input__one_line_and_nothing_sent(cli, system, owner, borrower, in_debt, args, says):
    system.base.transfer(owner, 10**6, sender=borrower)  # 11,999 left of the 12,000 borrowed
    refused(cli, borrower, "account", "repay", *args, says=says)


def test_repay__no_debt__one_line(cli, stranger, give):
    give("USDA", stranger, 100)
    refused(cli, stranger, "account", "repay", "10", says=f"{stranger.address} owes nothing")


# ---------------------------------------------------------------- what every participant command shares


def test_missing_deployment__one_line(cli, borrower, tmp_path):
    nonce = borrower.nonce
    out = cli.run("account", account=borrower, deployment=tmp_path / "nowhere.json")
    assert out.code == 1 and "no deployment recorded at" in out.error_line and "ape run deploy" in out.error_line
    assert borrower.nonce == nonce


def test_deployment_of_another_chain__one_line(cli, system, bidder, tmp_path):
    data = system.to_json("ethereum:local")
    data["vault"] = "0x" + "12" * 20
    path = tmp_path / "elsewhere.json"
    path.write_text(json.dumps(data))
    out = cli.run("bid", "list", account=bidder, deployment=path)
    assert out.code == 1 and "is not on this chain (no code at the vault" in out.error_line


def test_unknown_account_alias__one_line(cli):
    out = cli.run("bid", "submit", "WETH", "1", "10", "--account", "nobody")
    assert out.code == 1 and "no ape account named 'nobody'" in out.error_line
