"""`ape run bid` against a live Anvil: every subcommand, every refusal (one line, exit 1, nonce unchanged)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

MAX_UINT = 2**256 - 1


@pytest.fixture(scope="module", autouse=True)
def actors(lender, bidder, other_bidder, other_borrower, keeper):
    """Every session-scoped actor requested before the module's snapshot (a later first request rebases it)."""


def refused(cli, account, script, *args, says, as_sender=True):
    """The command fails with one line containing `says`, and `account` sent nothing."""
    nonce = account.nonce
    out = cli.run(script, *args, account=account if as_sender else None)
    assert out.code == 1, out
    line = out.error_line
    assert says in line, line
    assert account.nonce == nonce
    return line


@pytest.fixture
def liquidatable(actions, system, lender, other_borrower):
    """An account of 10 WETH owing 15,000 USDA, made liquidatable by WETH at $1,700; returns a function that
    liquidates it (the keeper's move)."""
    actions.lend(lender, 1_000_000)
    actions.post(other_borrower, "WETH", 10)
    actions.borrow(other_borrower, 15_000)

    def crash_and_liquidate(keeper):
        actions.set_price("WETH", 1_700)
        assert system.lens.liquidatable([other_borrower.address]) == [True]
        system.engine.liquidate(other_borrower, system.tokens["WETH"], MAX_UINT, sender=keeper)

    return crash_and_liquidate


# ---------------------------------------------------------------- submit


def test_submit__approves_exactly_the_bid_and_lists_it_waiting(cli, system, bidder, give):
    give("USDA", bidder, 50_000)
    assert system.base.allowance(bidder, system.queue) == 0
    nonce = bidder.nonce

    out = cli.run("bid", "submit", "WETH", "2", "1,000.5", "--json", account=bidder)

    assert out.code == 0, out
    r = out.json
    assert r["amount"] == "1000.5" and r["approved"] == "1000.5" and not r["immediate"]
    assert bidder.nonce == nonce + 2  # approve, submit
    assert system.base.allowance(bidder, system.queue) == 0  # exactly what the bid took
    assert system.base.balanceOf(bidder) == (50_000 - Decimal("1000.5")) * 10**6
    [row] = cli.run("bid", "list", "--json", account=bidder).json
    assert row["id"] == r["bid_id"] and row["slot"] == 2 and row["premium"] == 0.02
    assert row["remaining"] == "1000.5" and row["bought"] == "0" and row["claimable"] == "0"
    assert row["state"] == "waiting" and row["activates_at"] == r["activates_at"]
    assert 0 < row["activates_in"] <= 600


def test_submit__allowance_already_enough__sends_the_bid_alone(cli, system, bidder, give):
    give("USDA", bidder, 5_000)
    system.base.approve(system.queue, 5_000 * 10**6, sender=bidder)
    nonce = bidder.nonce

    out = cli.run("bid", "submit", "GOLD", "0", "2,000", "--json", account=bidder)

    assert out.code == 0 and out.json["approved"] == "0"
    assert bidder.nonce == nonce + 1
    assert system.base.allowance(bidder, system.queue) == 3_000 * 10**6


def test_submit__human_output_names_bid_and_activation(cli, bidder, give):
    give("USDA", bidder, 5_000)
    out = cli.run("bid", "submit", "weth", "1", "500", account=bidder)
    assert out.code == 0
    assert "approved the queue for 500 USDA" in out.out
    assert "bid 1: 500 USDA on WETH slot 1" in out.out and "activates 20" in out.out


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("DOGE", "2", "1,000"), "unknown collateral 'DOGE': this deployment lists WETH, WBTC, GOLD"),
        (("USDA", "2", "1,000"), "unknown collateral 'USDA'"),
        (("WETH", "11", "1,000"), "slot 11 is not a slot of WETH: slots go from 0 to 10"),
        (("WETH", "2", "1,0x0"), "amount '1,0x0' is not a number"),
        (("WETH", "2", "0"), "amount '0' must be a positive number"),
        (("WETH", "2", "1.0000001"), "amount '1.0000001' has more than 6 decimals"),
        (("WETH", "2", "60,000"), "below the 60,000.0000 the bid needs"),
        (("WETH", "2", "1,000", "--no-approve"), "allowance of"),
    ],
)
def test_submit__bad_input__one_line_and_nothing_sent(cli, bidder, give, args, says):
    give("USDA", bidder, 50_000)
    refused(cli, bidder, "bid", "submit", *args, says=says)


# ---------------------------------------------------------------- activate


def test_activate__not_due_then_all_due__activates_own_due_bids(cli, system, actions, chain, bidder, other_bidder):
    mine = [actions.submit(bidder, "WETH", slot, 1_000) for slot in (0, 3)]
    theirs = actions.submit(other_bidder, "WETH", 0, 1_000)

    refused(cli, bidder, "bid", "activate", str(mine[0]), says=f"bid {mine[0]} is not due: it activates at")
    chain.pending_timestamp += 601
    chain.mine()
    assert [r["state"] for r in cli.run("bid", "list", "--json", account=bidder).json] == ["due", "due"]
    out = cli.run("bid", "activate", "--all-due", "--json", account=bidder)

    assert out.code == 0, out
    assert out.json["activated"] == mine
    assert not system.queue.bid_info(mine[0]).pending and not system.queue.bid_info(mine[1]).pending
    assert system.queue.bid_info(theirs).pending  # someone else's is theirs to activate
    assert [r["state"] for r in cli.run("bid", "list", "--json", account=bidder).json] == ["active", "active"]
    out = cli.run("bid", "activate", "--all-due", account=bidder)
    assert out.code == 0 and "no bid of yours is due" in out.out


def test_activate__named_bid_of_anyone__is_permissionless(cli, system, actions, chain, bidder, other_bidder):
    theirs = actions.submit(other_bidder, "WBTC", 1, 1_000)
    chain.pending_timestamp += 601
    chain.mine()
    out = cli.run("bid", "activate", str(theirs), account=bidder)
    assert out.code == 0 and f"activated {theirs}" in out.out
    assert not system.queue.bid_info(theirs).pending


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("99",), "no bid 99: ids go up to 1"),
        (("1",), "bid 1 is already active"),
        ((), "name the bids to activate, or pass --all-due"),
        (("1", "--all-due"), "name the bids to activate, or pass --all-due"),
    ],
)
def test_activate__bad_input__one_line_and_nothing_sent(cli, actions, bidder, args, says):
    actions.bid(bidder, "WETH", 0, 1_000)  # bid 1, active
    refused(cli, bidder, "bid", "activate", *args, says=says)


# ---------------------------------------------------------------- retract


def test_retract__part_then_the_rest__bid_is_gone(cli, system, actions, bidder):
    bid_id = actions.bid(bidder, "WETH", 2, 1_000)
    before = system.base.balanceOf(bidder)

    out = cli.run("bid", "retract", str(bid_id), "400", "--json", account=bidder)
    assert out.code == 0, out
    assert out.json["retracted"] == "400" and out.json["remaining"] == "600"
    out = cli.run("bid", "retract", str(bid_id), account=bidder)
    assert out.code == 0 and "retracted 600 USDA, 0 USDA left" in out.out

    assert system.base.balanceOf(bidder) == before + 1_000 * 10**6
    assert cli.run("bid", "list", "--json", account=bidder).json == []


def test_retract__waiting_bid__returns_it(cli, system, actions, bidder):
    bid_id = actions.submit(bidder, "GOLD", 4, 700)
    out = cli.run("bid", "retract", str(bid_id), "--json", account=bidder)
    assert out.code == 0 and out.json["retracted"] == "700"
    assert int(system.queue.bid_info(bid_id).owner, 16) == 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("7",), "no bid 7: ids go up to 1"),
        (("1", "1,000.01"), "bid 1 has 1,000.0000 USDA left; cannot retract 1,000.0100"),
        (("1", "lots"), "amount 'lots' is not a number"),
    ],
)
def test_retract__bad_input__one_line_and_nothing_sent(cli, actions, bidder, args, says):
    actions.bid(bidder, "WETH", 0, 1_000)
    refused(cli, bidder, "bid", "retract", *args, says=says)


def test_retract__someone_elses_bid__refused(cli, actions, bidder, other_bidder):
    bid_id = actions.bid(bidder, "WETH", 0, 1_000)
    refused(
        cli,
        other_bidder,
        "bid",
        "retract",
        str(bid_id),
        says=f"bid {bid_id} belongs to {bidder.address}, not to {other_bidder.address}",
    )


def test_retract__spent_bid__nothing_left(cli, actions, bidder, keeper, liquidatable):
    bid_id = actions.bid(bidder, "WETH", 0, 1_000)  # less than the liquidation needs: spent whole
    liquidatable(keeper)
    refused(cli, bidder, "bid", "retract", str(bid_id), says=f"bid {bid_id} has no USDA left to retract")


# ---------------------------------------------------------------- claim and list after a liquidation


def test_claim__after_a_liquidation__pays_what_list_showed(cli, system, actions, bidder, keeper, liquidatable):
    bid_id = actions.bid(bidder, "WETH", 0, 20_000)
    liquidatable(keeper)
    [row] = cli.run("bid", "list", "--json", account=bidder).json
    assert row["state"] == "active" and Decimal(row["remaining"]) < 20_000
    assert Decimal(row["claimable"]) > 0 and row["bought"] == row["claimable"]
    weth = system.tokens["WETH"]
    before = weth.balanceOf(bidder)

    out = cli.run("bid", "claim", "--all", "--json", account=bidder)

    assert out.code == 0, out
    assert out.json["claimed"] == [{"bid_id": bid_id, "collateral": "WETH", "amount": row["claimable"]}]
    assert weth.balanceOf(bidder) - before == Decimal(row["claimable"]) * 10**18
    [after] = cli.run("bid", "list", "--json", account=bidder).json
    assert after["claimable"] == "0" and after["bought"] == row["bought"]  # bought counts what was claimed
    out = cli.run("bid", "claim", "--all", account=bidder)
    assert out.code == 0 and "nothing to claim" in out.out


@pytest.mark.parametrize(
    ("who", "args", "says"),
    [
        ("bidder", ("5",), "no bid 5: ids go up to 2"),
        ("bidder", ("2",), "bid 2 has nothing to claim"),
        ("other_bidder", ("1",), "bid 1 belongs to"),
        ("bidder", (), "name the bids to claim, or pass --all"),
    ],
)
def test_claim__bad_input__one_line_and_nothing_sent(
    cli, actions, bidder, other_bidder, keeper, liquidatable, who, args, says
):
    actions.bid(bidder, "WETH", 0, 20_000)  # bid 1: buys in the liquidation
    actions.bid(bidder, "WBTC", 0, 1_000)  # bid 2: buys nothing
    liquidatable(keeper)
    refused(cli, {"bidder": bidder, "other_bidder": other_bidder}[who], "bid", "claim", *args, says=says)


# ---------------------------------------------------------------- connecting as a user does


def test_list__connecting_to_the_node_by_url__reads_the_same_chain(cli, actions, bidder):
    bid_id = actions.submit(bidder, "WETH", 5, 300)
    out = cli.run("bid", "list", "--json", account=bidder, connect=True)
    assert out.code == 0, out
    assert [r["id"] for r in out.json] == [bid_id]


# ---------------------------------------------------------------- pools


def test_pools__per_slot_takes_add_up_to_preview_fill(cli, system, actions, bidder, other_bidder):
    actions.bid(bidder, "WETH", 0, 1_000)
    actions.bid(other_bidder, "WETH", 2, 5_000)
    actions.submit(bidder, "WETH", 1, 800)  # waiting: pending, takes nothing

    out = cli.run("bid", "pools", "WETH", "--size", "3,000", "--json")

    assert out.code == 0, out
    r = out.json
    slots = {s["slot"]: s for s in r["slots"]}
    assert sorted(slots) == [0, 1, 2]
    assert (slots[0]["active"], slots[0]["takes"]) == ("1000", "1000")
    assert (slots[1]["pending"], slots[1]["takes"]) == ("800", "0")
    assert (slots[2]["active"], slots[2]["takes"]) == ("5000", "2000")
    weth = system.tokens["WETH"]
    preview = system.queue.preview_fill(
        weth,
        system.oracle.price(weth),
        system.oracle.price(system.base),
        3_000 * 10**6,
        2**255,
        system.engine.keeper_fee(),
    )
    assert r["raised"] == "3000" and Decimal(r["raised"]) * 10**6 == preview.raised
    assert sum(Decimal(s["gives"]) for s in r["slots"]) * 10**18 == preview.collateral
    assert Decimal(slots[2]["gives"]) > Decimal(slots[0]["gives"])  # twice the base at a 2% lower price
    assert r["short"] == "0" and slots[2]["premium"] == 0.02 and slots[2]["price"] == pytest.approx(1_960)


def test_pools__larger_than_the_pools__says_how_short(cli, actions, bidder):
    actions.bid(bidder, "GOLD", 3, 1_000)
    out = cli.run("bid", "pools", "GOLD", "--size", "2,500")
    assert out.code == 0
    # the queue quotes whole collateral units (GOLD's micro-units): the slot's last 0.000325 USDA buys no unit
    assert "raises 999.999675 for 0.412371" in out.out
    assert "the pools are 1500.000325 USDA short of a 2500 USDA liquidation" in out.out


@pytest.mark.parametrize(
    ("args", "says"),
    [(("DOGE",), "unknown collateral 'DOGE'"), (("WETH", "--size", "-1"), "size '-1' must be a positive number")],
)
def test_pools__bad_input__one_line(cli, bidder, args, says):
    refused(cli, bidder, "bid", "pools", *args, says=says, as_sender=False)


def test_submit__json__stdout_holds_the_json_alone_while_ape_logs_info(cli, bidder, give):
    """Ape logs every confirmed transaction at INFO on stdout; `--json` must leave stdout to the JSON."""
    from ape.logging import LogLevel, logger

    give("USDA", bidder, 1_000)
    before = logger.level
    logger.set_level(LogLevel.INFO)
    try:
        out = cli.run("bid", "submit", "WETH", "0", "100", "--json", account=bidder)
    finally:
        logger.set_level(before)
    assert out.code == 0, out
    assert json.loads(out.out)["amount"] == "100"


# ---------------------------------------------------------------- the pool's minimum bid and queued terms


def test_submit__below_the_minimum_bid__one_line_names_the_minimum(cli, system, owner, bidder, give):
    system.queue.set_min_bid(system.tokens["WETH"], 100 * 10**6, sender=owner)
    give("USDA", bidder, 1_000)
    refused(cli, bidder, "bid", "submit", "WETH", "0", "99.5", says="99.5 is below WETH's minimum bid of 100")
    assert cli.run("bid", "submit", "WETH", "0", "100", account=bidder).code == 0


def test_retract__part_leaving_less_than_the_minimum__one_line_says_retract_all(cli, system, owner, bidder, give):
    system.queue.set_min_bid(system.tokens["WETH"], 100 * 10**6, sender=owner)
    give("USDA", bidder, 1_000)
    bid_id = cli.run("bid", "submit", "WETH", "0", "150", "--json", account=bidder).json["bid_id"]
    refused(cli, bidder, "bid", "retract", str(bid_id), "60", says="below the minimum bid of 100")
    assert cli.run("bid", "retract", str(bid_id), account=bidder).code == 0  # the whole bid may always go


def test_pools__minimum_and_queued_terms__are_shown(cli, system, owner):
    weth = system.tokens["WETH"]
    params = system.queue.pool_params(weth)
    system.queue.set_min_bid(weth, 100 * 10**6, sender=owner)
    system.queue.set_pool_params(weth, 2 * params.premium_step, params.max_slot, params.waiting_period, 0, sender=owner)
    out = cli.run("bid", "pools", "WETH", "--json")
    assert out.code == 0
    queued = system.queue.pending_pool_terms(weth)
    assert out.json["min_bid"] == "100"
    assert out.json["pending_terms"] == {
        "premium_step": 2 * params.premium_step / 10**18,
        "max_slot": params.max_slot,
        "effective_at": queued.effective_at,
    }
    text = cli.run("bid", "pools", "WETH").out
    assert "smallest bid: 100 USDA" in text and "queued: premium step 2.00%, max slot 10" in text
