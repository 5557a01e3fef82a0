"""`ape run admin` against a live Anvil: every subcommand sends what it printed, and every refusal sends nothing.

The click group runs in-process (`click.testing.CliRunner`) on the test session's Anvil, with the deployment and a
parameter file written from the system under test. A refusal is checked three ways: a non-zero exit, the message
naming the problem, and the sender's nonce unchanged.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from eth_utils import function_signature_to_4byte_selector

from ala.deploy import deploy_auction
from ala.params import AuctionParams
from tests.integration.admin_helpers import Admin, write_files
from tests.integration.helpers import load_script, params_toml

WAD = 10**18
DAY = 86_400
DEAD = "0x000000000000000000000000000000000000dEaD"


@pytest.fixture(scope="module")
def auction_system(system, project, owner):
    """The shared system with a Dutch-auction house wired, as `[auction]` in a parameter file deploys it."""
    system.params = replace(system.params, auction=AuctionParams())
    system.auction, system.auctions = deploy_auction(
        project, owner, system.params, system.base, system.oracle, system.vault, system.engine
    )
    return system


@pytest.fixture(scope="module")
def admin(auction_system, tmp_path_factory):
    deployment, params = write_files(auction_system, tmp_path_factory.mktemp("admin"))
    return Admin(load_script("admin"), deployment, params)


@pytest.fixture(scope="module", autouse=True)
def _set_up_first(admin, owner, guardian, stranger, lender, borrower, keeper, accounts, project, chain):
    """Every longer-lived fixture the module uses, before the first test's snapshot (ape rebases otherwise)."""


@pytest.fixture
def refused(admin):
    """Run a command that must be refused: non-zero exit, the message, and nothing sent (the nonce unchanged)."""

    def check(*args: str, account, message: str) -> str:
        nonce = account.nonce
        result = admin.run(*args, account=account)
        assert result.exit_code != 0, result.output
        assert message in result.output, result.output
        assert account.nonce == nonce
        return result.output

    return check


def test_pause__guardian_pauses_owner_unpauses(admin, auction_system, owner, guardian, refused):
    vault = auction_system.vault
    vault.set_guardian(guardian, sender=owner)

    out = admin.json("pause", account=guardian)

    assert vault.paused()
    assert out["calls"][0]["changes"] == [{"parameter": "paused", "before": "false", "after": "true"}]
    assert len(out["sent"]) == 1
    refused("pause", account=guardian, message="the vault is already paused: nothing to send")
    refused("unpause", account=guardian, message=f"{guardian.address} is not the owner of LendingVault")
    admin.json("unpause", account=owner)
    assert not vault.paused()


@pytest.fixture
def debt(auction_system, owner, chain, lender, borrower):
    """Somebody owes the vault: threshold changes ramp."""
    from tests.utils.actions import Actions

    actions = Actions(auction_system, owner, chain)
    actions.lend(lender, 100_000)
    actions.post(borrower, "WETH", 10)
    actions.borrow(borrower, 5_000)
    return actions


def test_set_guardian__owner_sets_both_guardians__a_stranger_is_refused(
    admin, auction_system, owner, guardian, stranger, refused
):
    admin.json("set-guardian", guardian.address, "--contract", "vault", account=owner)
    admin.json("set-guardian", guardian.address, "--contract", "oracle", account=owner)

    assert auction_system.vault.guardian() == guardian.address
    assert auction_system.oracle.guardian() == guardian.address
    refused(
        "set-guardian",
        stranger.address,
        "--contract",
        "vault",
        account=stranger,
        message=f"{stranger.address} is not the owner of LendingVault",
    )


def test_collateral__liq_ltv_with_debt__prints_the_ramp_it_starts_and_sends(admin, auction_system, owner, debt, chain):
    weth = auction_system.tokens["WETH"]

    result = admin.run("collateral", "WETH", "--liq-ltv", "0.82", account=owner)

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("LiquidationEngine.configure_collateral(")
    assert "  WETH liq_ltv: 0.85 -> 0.82" in lines
    assert any(line.startswith("  ramp WETH liq_ltv: 0.85 -> 0.82 over 1 day, ends about ") for line in lines)
    assert lines[-1].startswith("sent LiquidationEngine.configure_collateral(")
    config = auction_system.engine.collateral_config(weth)
    assert 82 * WAD // 100 < config.liq_ltv <= 85 * WAD // 100  # ramping down from 0.85
    row = next(r for r in admin.json("diff")["rows"] if (r["asset"], r["parameter"]) == ("WETH", "liq_ltv"))
    assert (row["file"], row["chain"], row["differs"]) == ("0.85", "0.82", True)
    assert 0.82 < float(row["in_force"]) <= 0.85 and row["ramp_end"] > chain.blocks.head.timestamp


def test_collateral__ramp_json__ends_a_day_after_the_block(admin, auction_system, owner, debt, chain):
    out = admin.json("collateral", "WETH", "--liq-ltv", "0.83", "--max-ltv", "0.75", account=owner)

    ramp = out["calls"][0]["ramps"][0]
    assert (ramp["parameter"], ramp["start"], ramp["end"]) == ("WETH liq_ltv", "0.85", "0.83")
    block = chain.blocks[out["sent"][0]["block"]]
    assert abs(ramp["ends_at"] - (block.timestamp + DAY)) <= 30
    assert {c["parameter"] for c in out["calls"][0]["changes"]} == {"liq_ltv", "max_ltv"}


def test_collateral__risk_factor_with_debt__ramps_and_diff_shows_target_and_value_in_force(
    admin, auction_system, owner, debt, chain
):
    """risk_factor ramps like liq_ltv: the call prints its ramp, the engine's view shows the value in force, and the
    diff reads the target from the event."""
    weth = auction_system.tokens["WETH"]
    out = admin.json("collateral", "WETH", "--risk-factor", "0.5", account=owner)

    ramp = out["calls"][0]["ramps"][0]
    assert (ramp["parameter"], ramp["start"], ramp["end"]) == ("WETH risk_factor", "0.1", "0.5")
    assert auction_system.engine.collateral_config(weth).risk_factor < WAD // 2  # still ramping up from 0.1
    row = next(r for r in admin.json("diff")["rows"] if (r["asset"], r["parameter"]) == ("WETH", "risk_factor"))
    assert (row["file"], row["chain"], row["differs"]) == ("0.1", "0.5", True)
    assert 0.1 <= float(row["in_force"]) < 0.5 and row["ramp_end"] > chain.blocks.head.timestamp


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("collateral", "FOO", "--liq-ltv", "0.8"), "unknown collateral 'FOO': this deployment lists WETH, WBTC, GOLD"),
        (("collateral", "WETH"), "nothing to change: pass one of --max-ltv, --liq-ltv, --risk-factor"),
        (
            ("collateral", "WETH", "--max-ltv", "0.86"),
            "WETH max_ltv 0.86 must be below liq_ltv 0.85 and below the liq_ltv in force 0.85: "
            "LiquidationEngine.configure_collateral would revert 'engine: max_ltv must be below liq_ltv'",
        ),
        (
            ("collateral", "WETH", "--liq-ltv", "0.98"),
            "WETH liq_ltv 0.98 is out of bounds: LiquidationEngine.configure_collateral takes [0, 0.97] "
            "(the contract would revert 'engine: liq_ltv above bound')",
        ),
        (("collateral", "WETH", "--liq-ltv", "abc"), "liq-ltv 'abc' is not a number"),
        (("collateral", "WETH", "--liq-ltv", "0.85"), "nothing changes: LiquidationEngine.configure_collateral("),
        (
            ("risk-limits", "--liq-leverage", "101"),
            "liq_leverage 101 is out of bounds: LiquidationEngine.set_risk_limits takes [0, 100]",
        ),
        (("risk-limits", "--max-leverage", "16"), "would revert 'engine: bad leverage limits'"),
        (
            ("pool", "WETH", "--max-slot", "101"),
            "max_slot 101 is out of bounds: LiquidationQueue.set_pool_params takes [1, 100]",
        ),
        (("pool", "USDA", "--max-slot", "5"), "unknown collateral 'USDA'"),
        (
            ("fees", "--keeper-fee", "0.06"),
            "keeper_fee 0.06 is out of bounds: LiquidationEngine.set_fees takes [0, 0.05]",
        ),
        (
            ("close-ratio", "0.05"),
            "close_ratio 0.05 is out of bounds: LiquidationEngine.set_close_ratio takes [0.1, 1]",
        ),
        (
            ("dust-value", "10001"),
            "dust_value 10001 is out of bounds: LiquidationEngine.set_dust_value takes [0, 10000]",
        ),
        (
            ("reserve-factor", "0.6"),
            "reserve_factor 0.6 is out of bounds: LendingVault.set_reserve_factor takes [0, 0.5]",
        ),
        (
            ("oracle", "WETH", "--max-age", "30"),
            "max_age 30 is out of bounds: PriceOracle.set_feeds takes [60, 259200]",
        ),
        (("oracle", "DOGE", "--max-age", "600"), "unknown token 'DOGE': this deployment has USDA, WETH, WBTC, GOLD"),
        (
            ("breaker", "WETH", "--tolerance", "0.6", "--delay", "600"),
            "tolerance 0.6 is out of bounds: PriceOracle.set_breaker takes 0 or [0.005, 0.5]",
        ),
        (("breaker", "WETH", "--tolerance", "0.05", "--delay", "30"), "confirmation_delay 30 is out of bounds"),
        (("confirm-price", "WETH"), "WETH's circuit breaker is off: there is no price to confirm"),
        (("confirm-price", "PEPE"), "unknown token 'PEPE'"),
        (
            ("volatility", "WETH", "--lambda", "0.4", "--k", "1", "--min-factor", "0.6"),
            "ewma_lambda 0.4 is out of bounds",
        ),
        (
            ("volatility", "WETH", "--k", "1"),
            "min_factor 0 is out of bounds: PriceOracle.set_volatility_params takes [0.5, 1]",
        ),
        (("withdraw-reserves", "1", "--to", "0x000000000000000000000000000000000000dEaD"), "1 exceeds the reserves 0"),
        (
            ("withdraw-reserve-collateral", "WBTC", "0.5", "--to", "0x000000000000000000000000000000000000dEaD"),
            "0.5 WBTC exceeds the reserve account's 0 (the contract would revert 'vault: exceeds reserve collateral')",
        ),
        (
            ("withdraw-reserves", "0", "--to", "0x000000000000000000000000000000000000dEaD"),
            "amount '0' must be a positive number",
        ),
        (
            ("auction-curve", "--floor", "0.5"),
            "floor 0.5 must be below the cusp 0.4: DutchAuction.set_curve would revert 'auction: floor not below cusp'",
        ),
        (("auction-curve", "--cut", "1"), "cut 1 is out of bounds: DutchAuction.set_curve takes [0.5, 1)"),
        (
            ("auction-reset", "--tail", "100"),
            "tail 100 is out of bounds: DutchAuction.set_reset_rules takes [300, 604800]",
        ),
        (
            ("auction-incentive", "--tip", "1001"),
            "tip 1001 is out of bounds: DutchAuction.set_incentive takes [0, 1000]",
        ),
        (("auction-dust", "10000.5"), "dust 10000.5 is out of bounds: DutchAuction.set_dust takes [0, 10000]"),
        (("withdraw-incentives", "1", "--to", DEAD), "1 exceeds the incentive balance 0"),
        (("sweep", "GOLD", "--to", DEAD), "the auction house holds no GOLD beyond what it owes"),
        (("transfer-ownership", "0x0000000000000000000000000000000000000000"), "the new owner is the zero address"),
        (("accept-ownership",), "as its pending owner"),
        (("unpause",), "the vault is already unpaused: nothing to send"),
    ],
    ids=lambda v: v[0] if isinstance(v, tuple) else None,
)
def test_bad_input__clear_message_and_nothing_sent(args, message, owner, refused):
    refused(*args, account=owner, message=message)


@pytest.mark.parametrize(
    "args",
    [
        ("collateral", "WETH", "--risk-factor", "0.2"),
        ("risk-limits", "--max-leverage", "9"),
        ("pool", "WETH", "--max-slot", "5"),
        ("fees", "--keeper-fee", "0.01"),
        ("close-ratio", "0.4"),
        ("dust-value", "20"),
        ("reserve-factor", "0.2"),
        ("oracle", "WETH", "--max-age", "7200"),
        ("breaker", "WETH", "--tolerance", "0.05", "--delay", "600"),
        ("volatility", "WETH", "--lambda", "0.9", "--k", "1", "--min-factor", "0.6"),
        ("auction-dust", "20"),
        ("pause",),
        ("transfer-ownership", "0x000000000000000000000000000000000000dEaD"),
    ],
    ids=lambda v: v[0],
)
def test_not_the_owner__refused_before_sending(args, stranger, refused):
    refused(*args, account=stranger, message=f"{stranger.address} is not ")


@pytest.mark.parametrize(
    ("args", "view", "expected"),
    [
        (("risk-limits", "--max-leverage", "9"), lambda s: s.engine.risk_limits().max_leverage, 9 * WAD),
        (
            # the new max_slot is queued for the standing bids (a day's notice); the threshold applies at once
            ("pool", "WETH", "--max-slot", "5", "--bid-threshold", "1000"),
            lambda s: (
                s.queue.pending_pool_terms(s.tokens["WETH"]).max_slot,
                s.queue.pool_params(s.tokens["WETH"]).max_slot,
                s.queue.pool_params(s.tokens["WETH"]).bid_threshold,
            ),
            (5, 10, 1_000 * 10**6),
        ),
        (("min-bid", "WBTC", "250"), lambda s: s.queue.min_bid(s.tokens["WBTC"]), 250 * 10**6),
        (
            ("fees", "--keeper-fee", "0.01"),
            lambda s: (s.engine.keeper_fee(), s.engine.protocol_fee()),
            (10**16, 5 * 10**15),
        ),
        (("close-ratio", "0.4"), lambda s: s.engine.close_ratio(), 4 * WAD // 10),
        (("dust-value", "20"), lambda s: s.engine.dust_value(), 20 * WAD),
        (("reserve-factor", "0.2"), lambda s: s.vault.reserve_factor(), 2 * WAD // 10),
        (("oracle", "WETH", "--max-age", "7200"), lambda s: s.oracle.max_age(s.tokens["WETH"]), 7_200),
        (
            ("volatility", "WETH", "--lambda", "0.9", "--k", "1", "--min-factor", "0.6"),
            lambda s: tuple(s.oracle.volatility_params(s.tokens["WETH"])),
            (9 * WAD // 10, WAD, 6 * WAD // 10),
        ),
        (
            ("auction-curve", "--cut", "0.98", "--step", "60"),
            lambda s: (s.auction.cut(), s.auction.step(), s.auction.floor()),
            (98 * WAD // 100, 60, 3 * WAD // 10),
        ),
        (
            ("auction-reset", "--tail", "7200", "--buf", "1.2"),
            lambda s: (s.auction.tail(), s.auction.cusp(), s.auction.buf()),
            (7_200, 4 * WAD // 10, 12 * WAD // 10),
        ),
        (
            ("auction-incentive", "--tip", "5", "--chip", "0.001"),
            lambda s: (s.auction.tip(), s.auction.chip()),
            (5 * 10**6, 10**15),
        ),
        (("auction-dust", "20"), lambda s: s.auction.dust(), 20 * 10**6),
    ],
    ids=lambda v: v[0] if isinstance(v, tuple) and isinstance(v[0], str) else None,
)
def test_setter__owner__sends_what_it_printed(admin, auction_system, owner, args, view, expected):
    out = admin.json(*args, account=owner)

    assert view(auction_system) == expected
    assert [s["call"] for s in out["sent"]] == [c_title(c) for c in out["calls"]]
    assert out["calls"][0]["changes"], out


def c_title(call: dict) -> str:
    return f"{call['contract']}.{call['function']}({', '.join(call['args'])})"


def test_risk_limits__with_debt__ramps_the_thresholds__without__takes_effect_at_once(
    admin, auction_system, owner, chain, lender, borrower
):
    at_once = admin.run("risk-limits", "--liq-risk-ratio", "1.4", "--json", account=owner)
    assert at_once.exit_code == 0, at_once.output
    assert '"note": "nobody owes the vault: the thresholds take effect at once"' in at_once.output
    assert auction_system.engine.risk_limits().liq_risk_ratio == 14 * WAD // 10

    from tests.utils.actions import Actions

    actions = Actions(auction_system, owner, chain)
    actions.lend(lender, 100_000)
    actions.post(borrower, "WETH", 10)
    actions.borrow(borrower, 5_000)
    out = admin.json("risk-limits", "--liq-risk-ratio", "1.2", "--liq-leverage", "12", account=owner)

    ramps = {r["parameter"]: (r["start"], r["end"]) for r in out["calls"][0]["ramps"]}
    assert ramps == {"liq_risk_ratio": ("1.4", "1.2"), "liq_leverage": ("15", "12")}
    limits = auction_system.engine.risk_limits()
    assert 12 * WAD // 10 < limits.liq_risk_ratio <= 14 * WAD // 10 and 12 * WAD < limits.liq_leverage <= 15 * WAD


def test_breaker__on_trip_confirm_off(admin, auction_system, owner, guardian, stranger, keeper, chain, refused):
    from tests.utils.actions import Actions

    oracle, weth = auction_system.oracle, auction_system.tokens["WETH"]
    actions = Actions(auction_system, owner, chain)
    admin.json("set-guardian", guardian.address, "--contract", "oracle", account=owner)
    admin.json("breaker", "WETH", "--tolerance", "0.05", "--delay", "600", account=owner)
    assert (oracle.tolerance(weth), oracle.confirmation_delay(weth)) == (5 * WAD // 100, 600)
    refused("confirm-price", "WETH", account=guardian, message="WETH's circuit breaker is not tripped")
    oracle.poke(weth, sender=keeper)
    actions.set_price("WETH", 1_800)
    oracle.poke(weth, sender=keeper)
    assert oracle.breaker_status(weth).tripped

    refused("confirm-price", "WETH", account=stranger, message=f"{stranger.address} is not the owner")
    out = admin.json("confirm-price", "WETH", account=guardian)

    assert out["calls"][0]["changes"] == [{"parameter": "last accepted price", "before": "2000", "after": "1800"}]
    assert not oracle.breaker_status(weth).tripped and not oracle.liquidations_paused(weth)
    admin.json("breaker", "WETH", "--off", account=owner)
    assert oracle.tolerance(weth) == 0


def test_min_sources__gold_on_three_feeds__owner_sets_the_quorum_and_a_max_age_change_keeps_it(
    admin, auction_system, owner, project, refused
):
    oracle, gold = auction_system.oracle, auction_system.tokens["GOLD"]
    first = auction_system.feeds["GOLD"][0]
    answer, decimals = first.latestRoundData()[1], first.decimals()
    more = [project.MockAggregator.deploy(decimals, "GOLD / USD", answer, sender=owner) for _ in range(2)]
    oracle.set_feeds(gold, [*oracle.feeds(gold), *more], 86_400, 2 * WAD // 100, sender=owner)
    assert oracle.min_sources(gold) == 2  # set_feeds: a majority of three

    refused(
        "min-sources",
        "WETH",
        "2",
        account=owner,
        message="WETH min_sources 2 is above its 1 feed(s): PriceOracle.set_min_sources would revert "
        "'oracle: min_sources out of bounds'",
    )
    refused(
        "min-sources",
        "GOLD",
        "4",
        account=owner,
        message="GOLD min_sources 4 is out of bounds: PriceOracle.set_min_sources takes [1, 3]",
    )
    refused("min-sources", "GOLD", "2", account=owner, message="nothing changes")

    raised = admin.json("min-sources", "GOLD", "3", account=owner)
    assert raised["calls"][0]["changes"] == [{"parameter": "min_sources", "before": "2", "after": "3"}]
    assert oracle.min_sources(gold) == 3

    # set_feeds resets the quorum to a majority: the command restores it in the same run
    aged = admin.json("oracle", "GOLD", "--max-age", "7200", account=owner)
    assert [c["function"] for c in aged["calls"]] == ["set_feeds", "set_min_sources"]
    assert len(aged["sent"]) == 2
    assert (oracle.max_age(gold), oracle.min_sources(gold)) == (7_200, 3)

    # the parameter file asks for the default (a majority): diff shows it, apply sets it
    rows = {(r["asset"], r["parameter"]): r for r in admin.json("diff")["rows"]}
    assert (rows[("GOLD", "min_sources")]["file"], rows[("GOLD", "min_sources")]["chain"]) == ("2", "3")
    applied = admin.json("apply", "--yes", account=owner)
    # set_feeds alone: it resets the quorum to the majority the file asks for
    assert [c["function"] for c in applied["calls"]] == ["set_feeds"]
    assert (oracle.max_age(gold), oracle.min_sources(gold)) == (86_400, 2)
    assert admin.json("diff")["differences"] == 0


def test_withdraw_reserves__interest_booked__owner_takes_part_of_it(admin, auction_system, owner, chain, debt):
    vault = auction_system.vault
    chain.mine(timestamp=chain.blocks.head.timestamp + 365 * DAY)
    vault.accrue_interest(sender=owner)
    reserves = vault.reserves()
    assert reserves > 10**6
    receiver = "0x000000000000000000000000000000000000dEaD"

    out = admin.json("withdraw-reserves", "1", "--to", receiver, account=owner)

    assert auction_system.base.balanceOf(receiver) == 10**6
    assert out["calls"][0]["changes"][0]["parameter"] == "reserves"
    assert vault.reserves() >= reserves - 10**6


def test_set_rate_model__owner_points_the_vault_at_a_new_model(admin, auction_system, owner, project):
    model = project.KinkedRateModel.deploy(0, 5 * 10**16, 10**18, 9 * WAD // 10, sender=owner)

    out = admin.json("set-rate-model", model.address, account=owner)

    assert auction_system.vault.rate_model() == model.address
    assert out["calls"][0]["changes"][0]["after"] == model.address


def test_ownership__two_steps_to_a_multisig__every_contract(admin, auction_system, owner, accounts, refused):
    multisig = accounts[13]
    contracts = [
        "PriceOracle",
        "LendingVault",
        "LiquidationQueue",
        "LiquidationEngine",
        "AuctionSettlement",
        "DutchAuction",
    ]

    offered = admin.json("transfer-ownership", multisig.address, account=owner)

    assert [c["contract"] for c in offered["calls"]] == contracts
    assert {r["pending_owner"] for r in admin.json("owners")} == {multisig.address}
    proposal = admin.json("accept-ownership", "--calldata", multisig.address)
    assert [p["to"] for p in proposal] == [
        getattr(auction_system, a).address for a in ("oracle", "vault", "queue", "engine", "auctions", "auction")
    ]
    assert {p["data"] for p in proposal} == {"0x" + function_signature_to_4byte_selector("accept_ownership()").hex()}
    refused(
        "accept-ownership",
        account=owner,
        message=f"no contract of this deployment has {owner.address} as its pending owner",
    )

    accepted = admin.json("accept-ownership", account=multisig)

    assert len(accepted["sent"]) == 6
    assert {(r["owner"], r["pending_owner"]) for r in admin.json("owners")} == {(multisig.address, ZERO)}
    refused(
        "fees",
        "--keeper-fee",
        "0.01",
        account=owner,
        message=f"{owner.address} is not the owner of LiquidationEngine ({multisig.address})",
    )
    admin.json("fees", "--keeper-fee", "0.01", account=multisig)


ZERO = "0x0000000000000000000000000000000000000000"


def _changed(params):
    """A parameter file that moves something on every contract, a liquidation threshold among them."""
    weth, wbtc, gold = params.collaterals
    return replace(
        params,
        collaterals=(
            replace(weth, liq_ltv=Decimal("0.83"), max_ltv=Decimal("0.78")),
            replace(wbtc, risk_factor=Decimal("0.15"), min_bid=Decimal("50")),
            replace(gold, premium_step=Decimal("0.02"), waiting_period=1200, bid_threshold=Decimal("2500")),
        ),
        oracle_max_age=7_200,
        liq_risk_ratio=Decimal("1.4"),
        max_leverage=Decimal("8"),
        reserve_factor=Decimal("0.15"),
        close_ratio=Decimal("0.6"),
        dust_value=Decimal("25"),
        keeper_fee=Decimal("0.004"),
        auction=replace(
            params.auction, cut=Decimal("0.98"), floor=Decimal("0.5"), cusp=Decimal("0.6"), tip=Decimal("3")
        ),
    )


def test_diff_apply_diff__changed_parameter_file__no_difference_after_apply(
    admin, auction_system, owner, debt, tmp_path
):
    assert admin.json("diff")["differences"] == 0
    same = admin.run("diff")
    assert same.output.strip() == "no difference: the chain holds every parameter of the file"
    changed = tmp_path / "changed.toml"
    changed.write_text(params_toml(_changed(auction_system.params)))

    before = admin.json("diff", params=changed)
    shown = {
        (r["contract"], r["asset"], r["parameter"]): (r["file"], r["chain"]) for r in before["rows"] if r["differs"]
    }
    assert shown[("LiquidationEngine", "WETH", "liq_ltv")] == ("0.83", "0.85")
    assert shown[("PriceOracle", "GOLD", "max_age")] == ("7200", "86400")
    assert shown[("DutchAuction", "", "floor")] == ("0.5", "0.3")
    assert shown[("LiquidationQueue", "WBTC", "min_bid")] == ("50", "0")
    assert before["differences"] == len(shown) == 21

    nonce = owner.nonce
    dry = admin.run("apply", params=changed, account=owner)
    assert dry.exit_code == 0, dry.output
    assert "call(s) not sent: pass --yes to send them" in dry.output
    assert "  ramp WETH liq_ltv: 0.85 -> 0.83 over 1 day, ends about " in dry.output
    assert owner.nonce == nonce
    plan = admin.json("apply", params=changed, account=owner)
    functions = [c["function"] for c in plan["calls"]]
    assert functions.index("set_reset_rules") < functions.index("set_curve")  # the cusp goes up before the floor
    assert plan["sent"] == [] and owner.nonce == nonce

    applied = admin.json("apply", "--yes", params=changed, account=owner)

    assert len(applied["sent"]) == len(applied["calls"]) == owner.nonce - nonce
    after = admin.run("diff", params=changed).output.splitlines()
    assert after[0] == "no difference: the chain holds every parameter of the file"
    # the thresholds are on their way (a risk_factor ramps like a liq_ltv) and GOLD's premium step is queued for its
    # standing bids: the chain holds the file's values as targets, and says so
    assert [line.split(" in force ")[0] for line in after[1:]] == [
        "ramp running: WETH liq_ltv",
        "ramp running: WBTC risk_factor",
        "queued: GOLD premium_step",
        "ramp running: liq_risk_ratio",
    ]
    assert after[3].split(", becomes ")[1].startswith("0.02 at ")
    assert after[1].split(", moving to ")[1].startswith("0.83 until ")
    assert admin.json("diff", params=changed)["differences"] == 0


def test_apply__stranger__refused_and_nothing_sent(admin, auction_system, stranger, tmp_path, refused):
    changed = tmp_path / "changed.toml"
    changed.write_text(params_toml(replace(auction_system.params, keeper_fee=Decimal("0.004"))))
    nonce = stranger.nonce

    result = admin.run("apply", "--yes", params=changed, account=stranger)

    assert result.exit_code != 0 and f"{stranger.address} is not the owner of LiquidationEngine" in result.output
    assert stranger.nonce == nonce


def test_apply__rate_model_differs__reported_not_applied(admin, auction_system, owner, tmp_path):
    changed = tmp_path / "changed.toml"
    changed.write_text(params_toml(replace(auction_system.params, slope_low=Decimal("0.05"))))

    out = admin.json("apply", "--yes", params=changed, account=owner)

    assert out["calls"] == [] and out["sent"] == []
    assert out["not_applied"] == [
        "KinkedRateModel slope_low: no setter; deploy a KinkedRateModel with the file's values and run "
        "`admin set-rate-model ADDRESS`"
    ]


def test_diff__threshold_ramp__target_shown_for_a_day_then_the_value_in_force(admin, owner, debt, chain):
    """Targets come from the last day's logs: 23 hours into the ramp the target and the value in force both show;
    25 hours in, the ramp has ended and the chain's value is the one in force."""
    sent = admin.json("collateral", "WETH", "--liq-ltv", "0.83", account=owner)["sent"][0]
    start = chain.blocks[sent["block"]].timestamp

    def weth_liq_ltv() -> dict:
        return next(r for r in admin.json("diff")["rows"] if (r["asset"], r["parameter"]) == ("WETH", "liq_ltv"))

    chain.mine(timestamp=start + 23 * 3_600)
    row = weth_liq_ltv()
    assert (row["file"], row["chain"], row["ramp_end"]) == ("0.85", "0.83", start + DAY)
    assert 0.83 < float(row["in_force"]) < 0.84
    chain.mine(timestamp=start + 25 * 3_600)
    row = weth_liq_ltv()
    assert (row["chain"], "ramp_end" in row) == ("0.83", False)


def test_withdraw_incentives_and_sweep__owner_takes_the_balance_and_stray_tokens(
    admin, auction_system, owner, debt, stranger, refused
):
    house, gold = auction_system.auction, auction_system.tokens["GOLD"]
    debt.mint("USDA", owner, 10, house)
    house.fund_incentives(10 * 10**6, sender=owner)
    gold.mint(house, 3 * 10**6, sender=owner)
    refused("sweep", "GOLD", "--to", DEAD, account=stranger, message=f"{stranger.address} is not the owner")

    taken = admin.json("withdraw-incentives", "4", "--to", DEAD, account=owner)
    swept = admin.json("sweep", "GOLD", "--to", DEAD, account=owner)

    assert house.incentive_balance() == 6 * 10**6 and auction_system.base.balanceOf(DEAD) == 4 * 10**6
    assert taken["calls"][0]["changes"] == [{"parameter": "incentive_balance", "before": "10", "after": "6"}]
    assert gold.balanceOf(DEAD) == 3 * 10**6 and gold.balanceOf(house) == 0
    assert swept["calls"][0]["changes"] == [{"parameter": "stray balance", "before": "3", "after": "0"}]
