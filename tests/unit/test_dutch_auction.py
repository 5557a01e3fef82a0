"""DutchAuction: kick, the stair-step price curve, take (partial, whole, dust rule, flash callback), redo rules
and incentive bounds, yank, views, admin bounds, incentive balance and sweep.

`engine_account` plays the liquidation engine: it kicks auctions (the lot is minted to the auction house first, as
the engine's transfer would deliver it) and receives the base raised (it is the beneficiary).
Views run in the latest block, so a view at time `t` mines a block at `t`; a transaction at `t` sets the pending
timestamp. Hypothesis examples snapshot and restore the chain themselves (`chain.isolate()` swallows exceptions).
"""

from fractions import Fraction

import ape
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.utils.auction_model import WAD, Curve, contract_take, mul_div

MAX_UINT = 2**256 - 1
ZERO = "0x0000000000000000000000000000000000000000"
# stands in for the vault: the auction house only needs its address (the callback guard)
VAULT = "0x000000000000000000000000000000000000A017"
# default parameters of a fresh auction house
CUT, STEP, FLOOR = 99 * 10**16, 90, 3 * 10**17
TAIL, CUSP, BUF = 8_400, 4 * 10**17, 11 * 10**17
MIN_CUSP = WAD // 10
# USD prices of the conftest feeds
USD = {"USDA": 1, "WETH": 2_000, "WBTC": 60_000, "GOLD": 2_500}


# ------------------------------------------------------------------------------------------------ fixtures


def with_base_decimals(*values):
    """Run a test with a base asset of each of these decimals (a test without the mark runs with 6)."""

    def mark(test):
        test.base_decimals = values
        return test

    return mark


def pytest_generate_tests(metafunc):
    """The market is module-scoped, so the base asset's decimals are a module-scoped parameter: pytest runs the
    tests of one value together and deploys the market once per value."""
    if "base_decimals" in metafunc.fixturenames:
        values = getattr(metafunc.function, "base_decimals", (6,))
        metafunc.parametrize("base_decimals", values, ids=[str(v) for v in values], indirect=True, scope="module")


@pytest.fixture(scope="session")
def taker(accounts):
    return accounts[11]


@pytest.fixture(scope="session")
def market(accounts):
    """Buys collateral for base inside a flash taker's callback."""
    return accounts[12]


@pytest.fixture(scope="module")
def base_decimals(request):
    return request.param


@pytest.fixture(scope="module")
def house(project, owner, base_token, oracle, engine_account):
    return project.DutchAuction.deploy(base_token, oracle, engine_account, VAULT, engine_account, sender=owner)


@pytest.fixture(scope="module", autouse=True)
def deployed(house, base_token, oracle, weth, wbtc, gold, owner, borrower, taker, keeper, engine_account):
    """Build every module-scoped fixture before the first test: one requested late makes ape rebase the chain."""


@pytest.fixture
def collaterals(weth, wbtc, gold):
    return {"WETH": weth, "WBTC": wbtc, "GOLD": gold}


@pytest.fixture
def unit(base_token):
    return 10 ** base_token.decimals()


@pytest.fixture
def kick(house, engine_account, owner):
    """Deliver `lot` of `token` to the house and kick; returns (auction id, receipt)."""

    def kick(account, token, lot, tab, top):
        token.mint(house, lot, sender=owner)
        tx = house.kick(account, token, lot, tab, top, sender=engine_account)
        return house.AuctionKicked.from_receipt(tx)[0].auction_id, tx

    return kick


@pytest.fixture
def pay(base_token, house, owner):
    """Give `who` `amount` base and approve the house for it."""

    def pay(who, amount):
        base_token.mint(who, amount, sender=owner)
        base_token.approve(house, MAX_UINT, sender=who)

    return pay


def started(house, auction_id):
    return house.auction_info(auction_id).started_at


def view_at(chain, t):
    chain.mine(timestamp=t)


def whole(token, amount):
    return int(Fraction(str(amount)) * 10 ** token.decimals())


# ------------------------------------------------------------------------------------------------ kick


def test_kick__engine__starts_an_auction_at_the_start_price(house, kick, borrower, weth, unit):
    auction_id, tx = kick(borrower, weth, 10 * WAD, 15_000 * unit, 1_800 * WAD)
    event = house.AuctionKicked.from_receipt(tx)[0]
    assert (event.auction_id, event.account, event.collateral) == (1, borrower.address, weth.address)
    assert (event.lot, event.tab, event.top) == (10 * WAD, 15_000 * unit, 1_800 * WAD)
    info = house.auction_info(auction_id)
    assert (info.account, info.collateral, info.lot, info.tab, info.due, info.raised, info.top) == (
        borrower.address,
        weth.address,
        10 * WAD,
        15_000 * unit,
        15_000 * unit,
        0,
        1_800 * WAD,
    )
    assert info.started_at == tx.timestamp and not info.finished
    assert house.auction_price(auction_id) == 1_800 * WAD
    assert house.auction_status(auction_id) == (False, 1_800 * WAD, 10 * WAD, 15_000 * unit)
    assert (house.held(weth), house.next_auction_id(), house.running_auctions()) == (10 * WAD, 2, 1)


def test_kick__stranger__reverts_not_engine(house, borrower, weth, stranger, owner):
    weth.mint(house, WAD, sender=owner)
    with ape.reverts("auction: not engine"):
        house.kick(borrower, weth, WAD, 1, WAD, sender=stranger)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("account", ZERO, "auction: zero account"),
        ("collateral", ZERO, "auction: zero collateral"),
        ("collateral", "base", "auction: collateral is base"),
        ("lot", 0, "auction: zero lot"),
        ("tab", 0, "auction: zero tab"),
        ("top", 0, "auction: zero price"),
        # each is packed in 128 bits
        ("lot", 2**128, "auction: amount too large"),
        ("tab", 2**128, "auction: amount too large"),
        ("top", 2**128, "auction: price too large"),
        ("lot", 2 * WAD, "auction: lot not received"),
    ],
)
def test_kick__bad_arguments__revert_with_their_reason(
    house, engine_account, owner, borrower, weth, base_token, field, value, reason
):
    weth.mint(house, WAD, sender=owner)
    args = {"account": borrower, "collateral": weth, "lot": WAD, "tab": 1_000, "top": WAD}
    args[field] = base_token if value == "base" else value
    with ape.reverts(reason):
        house.kick(args["account"], args["collateral"], args["lot"], args["tab"], args["top"], sender=engine_account)


def test_kick__largest_amounts__are_stored_exactly(house, kick, borrower, weth):
    largest = 2**128 - 1
    auction_id, _ = kick(borrower, weth, largest, largest, largest)
    info = house.auction_info(auction_id)
    assert (info.lot, info.tab, info.due, info.top, info.raised) == (largest, largest, largest, largest, 0)
    assert house.auction_price(auction_id) == largest


def test_kick__collateral_with_more_than_18_decimals__reverts(project, house, engine_account, owner, borrower):
    odd = project.MockFeeToken.deploy(19, sender=owner)
    odd.mint(house, 10**19, sender=owner)
    with ape.reverts("auction: decimals above 18"):
        house.kick(borrower, odd, 10**19, 1, WAD, sender=engine_account)


def test_kick__lot_already_held_for_another_auction__does_not_count(house, kick, engine_account, borrower, weth):
    kick(borrower, weth, WAD, 1_000, WAD)
    # the house holds 1 WETH, but it belongs to auction 1
    with ape.reverts("auction: lot not received"):
        house.kick(borrower, weth, WAD, 1_000, WAD, sender=engine_account)


# ------------------------------------------------------------------------------------------------ price curve


def test_auction_price__steps_down_by_cut_every_step_until_the_floor(house, kick, borrower, weth, chain, unit):
    top = 1_800 * WAD
    auction_id, tx = kick(borrower, weth, 10 * WAD, 15_000 * unit, top)
    curve = Curve(CUT, STEP, FLOOR)
    t0 = tx.timestamp
    for elapsed in (1, STEP - 1, STEP, STEP + 1, 2 * STEP, 10 * STEP + 7, 100 * STEP, 119 * STEP, 120 * STEP):
        view_at(chain, t0 + elapsed)
        assert house.auction_price(auction_id) == curve.price(top, elapsed), elapsed
    assert curve.price(top, STEP) == top * CUT // WAD  # exact: one step of 1%
    # 0.99^120 = 0.2994 < 30%: the floor holds from then on
    assert house.auction_price(auction_id) == top * FLOOR // WAD
    view_at(chain, t0 + 6 * 86_400)
    assert house.auction_price(auction_id) == top * FLOOR // WAD


@given(
    cut=st.integers(WAD // 2, WAD - 1),
    step=st.integers(1, 3_600),
    floor=st.integers(0, CUSP - 1),
    top=st.integers(1, 2**128 - 1),
    elapsed=st.integers(0, 7 * 86_400),
)
def test_auction_price__matches_the_model_at_any_time(
    house, kick, owner, borrower, weth, chain, cut, step, floor, top, elapsed
):
    snapshot = chain.snapshot()
    try:
        house.set_curve(cut, step, floor, sender=owner)
        auction_id, tx = kick(borrower, weth, WAD, 1_000, top)
        view_at(chain, tx.timestamp + elapsed)
        price = house.auction_price(auction_id)
        curve = Curve(cut, step, floor)
        assert price == curve.price(top, elapsed)
        # never below the exact curve, and above it by at most the rounding of one ceiling per multiplication
        # the rounded-up power exceeds the exact one by at most 2**(bits of the exponent + 1) wei
        exact = curve.exact_price(top, elapsed)
        assert exact <= price <= exact + Fraction(top * 2 ** ((elapsed // step).bit_length() + 1), WAD) + 1
    finally:
        chain.restore(snapshot)


def test_auction_status__needs_redo_after_tail_and_below_cusp(house, kick, borrower, weth, chain, unit, owner):
    auction_id, tx = kick(borrower, weth, WAD, 1_000 * unit, 1_800 * WAD)
    # 0.99^91 = 0.4007 >= cusp, 0.99^92 = 0.3967 < cusp
    view_at(chain, tx.timestamp + 91 * STEP)
    assert house.auction_status(auction_id)[0] is False
    view_at(chain, tx.timestamp + 92 * STEP)
    needs_redo, price, lot, tab = house.auction_status(auction_id)
    assert needs_redo and price == Curve(CUT, STEP, FLOOR).price(1_800 * WAD, 92 * STEP)
    assert (lot, tab) == (WAD, 1_000 * unit)
    # with a cusp below the floor's reach, only the tail counts: not at `tail`, one second after it (new terms
    # shape the auctions kicked after them)
    house.set_curve(CUT, STEP, 0, sender=owner)
    house.set_reset_rules(TAIL, MIN_CUSP, BUF, sender=owner)
    auction_id, tx = kick(borrower, weth, WAD, 1_000 * unit, 1_800 * WAD)
    view_at(chain, tx.timestamp + TAIL)
    assert house.auction_status(auction_id)[0] is False
    view_at(chain, tx.timestamp + TAIL + 1)
    assert house.auction_status(auction_id)[0] is True


# ------------------------------------------------------------------------------------------------ take


@with_base_decimals(6, 8, 18)
@pytest.mark.parametrize("symbol", ["WETH", "WBTC", "GOLD"])
def test_take__whole_lot_worth_less_than_the_tab__sells_out_and_reports_the_shortfall(
    house, kick, pay, collaterals, symbol, base_token, borrower, taker, engine_account, chain, unit, base_decimals
):
    token = collaterals[symbol]
    lot = whole(token, 3)
    top = USD[symbol] * WAD * 9 // 10
    tab = 10 * USD[symbol] * unit  # 3 tokens at 90% of the price cannot raise this
    auction_id, tx = kick(borrower, token, lot, tab, top)
    price = Curve(CUT, STEP, FLOOR).price(top, 5 * STEP + 3)
    bought, owe = contract_take(price, MAX_UINT, tab, lot, 10 * unit, base_decimals, token.decimals())
    assert bought == lot
    pay(taker, owe)
    raised_before = base_token.balanceOf(engine_account)
    chain.pending_timestamp = tx.timestamp + 5 * STEP + 3

    tx = house.take(auction_id, MAX_UINT, price, taker, b"", sender=taker)

    taken = house.AuctionTaken.from_receipt(tx)[0]
    assert (taken.price, taken.bought, taken.owe, taken.tab, taken.lot) == (price, lot, owe, tab - owe, 0)
    assert owe == mul_div(lot, price * unit, 10 ** token.decimals() * WAD, True)
    finished = house.AuctionFinished.from_receipt(tx)[0]
    assert (finished.raised, finished.shortfall, finished.returned) == (owe, tab - owe, 0)
    assert token.balanceOf(taker) == lot and token.balanceOf(house) == 0 and house.held(token) == 0
    assert base_token.balanceOf(engine_account) - raised_before == owe
    assert base_token.balanceOf(taker) == 0
    info = house.auction_info(auction_id)
    assert info.finished and (info.raised, info.tab, info.lot) == (owe, tab - owe, 0)
    assert house.running_auctions() == 0
    assert house.auction_price(auction_id) == 0
    assert house.auction_status(auction_id) == (False, 0, 0, 0)


@with_base_decimals(6, 8, 18)
@pytest.mark.parametrize("symbol", ["WETH", "WBTC", "GOLD"])
def test_take__whole_tab__returns_the_leftover_collateral_to_the_account(
    house, kick, pay, collaterals, symbol, base_token, borrower, taker, engine_account, chain, unit, base_decimals
):
    token = collaterals[symbol]
    lot = whole(token, 10)
    top = USD[symbol] * WAD
    tab = 4 * USD[symbol] * unit + 12_345  # about 4 of the 10 tokens
    auction_id, tx = kick(borrower, token, lot, tab, top)
    price = top * CUT // WAD
    bought, owe = contract_take(price, MAX_UINT, tab, lot, 10 * unit, base_decimals, token.decimals())
    assert owe == tab and bought < lot
    pay(taker, owe)
    chain.pending_timestamp = tx.timestamp + STEP

    tx = house.take(auction_id, MAX_UINT, price, taker, b"", sender=taker)

    assert house.AuctionTaken.from_receipt(tx)[0].bought == bought
    finished = house.AuctionFinished.from_receipt(tx)[0]
    assert (finished.raised, finished.shortfall, finished.returned) == (tab, 0, lot - bought)
    assert token.balanceOf(borrower) == lot - bought
    assert token.balanceOf(taker) == bought
    assert token.balanceOf(house) == 0 and house.held(token) == 0
    assert base_token.balanceOf(engine_account) == tab
    # the taker paid at least the value of what it got, at most one base unit more (rounding)
    assert bought * price * unit <= owe * 10 ** token.decimals() * WAD
    assert (bought + 1) * price * unit > owe * 10 ** token.decimals() * WAD
    info = house.auction_info(auction_id)
    assert info.finished and (info.raised, info.tab, info.lot) == (tab, 0, lot - bought)


@with_base_decimals(6, 18)
def test_take__partial__keeps_the_auction_running(
    house, kick, pay, base_token, borrower, taker, engine_account, wbtc, unit, chain, base_decimals
):
    auction_id, kicked = kick(borrower, wbtc, 2 * 10**8, 100_000 * unit, 60_000 * WAD)
    pay(taker, 100_000 * unit)
    chain.pending_timestamp = kicked.timestamp + 10
    tx = house.take(auction_id, 10**7, 60_000 * WAD, taker, b"", sender=taker)  # 0.1 WBTC
    assert house.AuctionTaken.from_receipt(tx)[0].owe == 6_000 * unit
    assert not house.AuctionFinished.from_receipt(tx)
    info = house.auction_info(auction_id)
    assert (info.lot, info.tab, info.raised, info.finished) == (19 * 10**7, 94_000 * unit, 6_000 * unit, False)
    assert house.held(wbtc) == 19 * 10**7 and wbtc.balanceOf(taker) == 10**7
    assert base_token.balanceOf(engine_account) == 6_000 * unit
    # a second taker later, at a lower price
    chain.pending_timestamp = kicked.timestamp + 3 * STEP
    price = Curve(CUT, STEP, FLOOR).price(60_000 * WAD, 3 * STEP)
    tx = house.take(auction_id, 10**7, price, taker, b"", sender=taker)
    assert house.AuctionTaken.from_receipt(tx)[0].owe == mul_div(10**7, price * unit, 10**8 * WAD, True)


def test_take__value_not_a_whole_base_unit__the_taker_pays_the_unit_rounded_up(
    house, kick, pay, borrower, taker, weth, unit, chain
):
    """The round numbers elsewhere divide exactly; here they do not, so rounding `owe` down would show."""
    pay(taker, 10_000 * unit)
    auction_id, kicked = kick(borrower, weth, 10 * WAD, 100_000 * unit, 1_234_567_891 * WAD // 10**6)
    price = 1_234_567_891 * WAD // 10**6
    chain.pending_timestamp = kicked.timestamp + 1
    tx = house.take(auction_id, 3, price, taker, b"", sender=taker)  # 3 wei of WETH: far below one base unit
    taken = house.AuctionTaken.from_receipt(tx)[0]
    assert (taken.price, taken.bought, taken.owe) == (price, 3, 1)
    amount = 123_456_789_123_456_789
    tx = house.take(auction_id, amount, price, taker, b"", sender=taker)
    taken = house.AuctionTaken.from_receipt(tx)[0]
    exact = Fraction(amount * price * unit, 10**18 * WAD)
    assert exact.denominator != 1 and taken.owe == -(-exact.numerator // exact.denominator)


def test_take__partial_that_would_leave_dust__is_reduced_to_leave_exactly_dust(
    house, kick, pay, borrower, taker, weth, unit
):
    dust = house.dust()
    assert dust == 10 * unit
    auction_id, _ = kick(borrower, weth, 10 * WAD, 2_005 * unit, 1_000 * WAD)
    pay(taker, 10_000 * unit)
    # 2 WETH would leave a 5 USDA tab: the purchase is cut to leave 10 USDA
    tx = house.take(auction_id, 2 * WAD, 1_000 * WAD, taker, b"", sender=taker)
    taken = house.AuctionTaken.from_receipt(tx)[0]
    assert (taken.owe, taken.tab) == (1_995 * unit, dust)
    assert taken.bought == 1_995 * unit * 10**18 * WAD // (1_000 * WAD * unit)
    # the dust tab can only go whole now
    with ape.reverts("auction: no partial purchase"):
        house.take(auction_id, WAD // 1_000, 1_000 * WAD, taker, b"", sender=taker)
    tx = house.take(auction_id, WAD, 1_000 * WAD, taker, b"", sender=taker)
    assert house.AuctionFinished.from_receipt(tx)[0].shortfall == 0


def test_take__tab_at_most_dust__partial_reverts_whole_passes(house, kick, pay, borrower, taker, weth, unit):
    auction_id, _ = kick(borrower, weth, WAD, 10 * unit, 1_000 * WAD)
    pay(taker, 10 * unit)
    with ape.reverts("auction: no partial purchase"):
        house.take(auction_id, WAD // 1_000, 1_000 * WAD, taker, b"", sender=taker)
    tx = house.take(auction_id, WAD, 1_000 * WAD, taker, b"", sender=taker)
    assert house.AuctionTaken.from_receipt(tx)[0].owe == 10 * unit


def test_take__partial_leaving_at_least_dust__is_not_reduced(house, kick, pay, borrower, taker, weth, unit):
    auction_id, _ = kick(borrower, weth, 10 * WAD, 2_010 * unit, 1_000 * WAD)
    pay(taker, 10_000 * unit)
    tx = house.take(auction_id, 2 * WAD, 1_000 * WAD, taker, b"", sender=taker)
    taken = house.AuctionTaken.from_receipt(tx)[0]
    assert (taken.bought, taken.owe, taken.tab) == (2 * WAD, 2_000 * unit, 10 * unit)


def test_take__price_above_max__reverts(house, kick, pay, borrower, taker, weth, unit, chain):
    auction_id, tx = kick(borrower, weth, WAD, 1_000 * unit, 1_800 * WAD)
    pay(taker, 10_000 * unit)
    chain.pending_timestamp = tx.timestamp + STEP
    price = 1_800 * WAD * CUT // WAD
    with ape.reverts("auction: too expensive"):
        house.take(auction_id, WAD, price - 1, taker, b"", sender=taker)
    chain.pending_timestamp = tx.timestamp + STEP
    tx = house.take(auction_id, WAD, price, taker, b"", sender=taker)
    assert house.AuctionTaken.from_receipt(tx)[0].price == price


@given(
    amount=st.integers(1, 20 * 10**8),
    elapsed=st.integers(0, 200 * STEP),
    tab=st.integers(1, 10**12),
    lot=st.integers(1, 10 * 10**8),
)
def test_take__any_amount_and_time__matches_the_model_and_conserves_tokens(
    house, kick, pay, base_token, borrower, taker, engine_account, wbtc, chain, amount, elapsed, tab, lot
):
    snapshot = chain.snapshot()
    try:
        price = Curve(CUT, STEP, FLOOR).price(54_000 * WAD, elapsed)
        try:
            bought, owe = contract_take(price, amount, tab, lot, house.dust(), 6, 8)
        except ValueError as reason:
            auction_id, tx = kick(borrower, wbtc, lot, tab, 54_000 * WAD)
            chain.pending_timestamp = tx.timestamp + elapsed
            with ape.reverts(str(reason)):
                house.take(auction_id, amount, price, taker, b"", sender=taker)
            return
        pay(taker, owe)
        # the kick is the last transaction before the take, so the take comes exactly `elapsed` after it
        auction_id, tx = kick(borrower, wbtc, lot, tab, 54_000 * WAD)
        chain.pending_timestamp = tx.timestamp + elapsed
        tx = house.take(auction_id, amount, price, taker, b"", sender=taker)
        assert house.AuctionTaken.from_receipt(tx)[0].bought == bought
        info = house.auction_info(auction_id)
        assert (info.raised, info.finished) == (owe, bought == lot or owe == tab)
        # every collateral unit is with the taker, the borrower (leftover) or still held for the auction
        assert wbtc.balanceOf(taker) + wbtc.balanceOf(borrower) + wbtc.balanceOf(house) == lot
        assert wbtc.balanceOf(house) == house.held(wbtc) == (0 if info.finished else lot - bought)
        assert base_token.balanceOf(engine_account) == owe
        assert owe == tab or bought == lot or tab - owe >= house.dust()
    finally:
        chain.restore(snapshot)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("amount", 0, "auction: zero amount"),
        ("receiver", ZERO, "auction: zero receiver"),
        ("receiver", "house", "auction: receiver is the auction"),
        ("auction_id", 0, "auction: unknown auction"),
        ("auction_id", 2, "auction: unknown auction"),
    ],
)
def test_take__bad_arguments__revert_with_their_reason(house, kick, borrower, taker, weth, field, value, reason):
    kick(borrower, weth, WAD, 1_000, WAD)
    args = {"auction_id": 1, "amount": WAD, "receiver": taker}
    args[field] = house if value == "house" else value
    with ape.reverts(reason):
        house.take(args["auction_id"], args["amount"], MAX_UINT, args["receiver"], b"", sender=taker)


def test_take__finished_auction__reverts(house, kick, pay, borrower, taker, weth):
    auction_id, _ = kick(borrower, weth, WAD, 1_000, WAD)
    pay(taker, 10**6)
    house.take(auction_id, WAD, MAX_UINT, taker, b"", sender=taker)
    with ape.reverts("auction: finished"):
        house.take(auction_id, WAD, MAX_UINT, taker, b"", sender=taker)


def test_take__taker_cannot_pay__reverts_and_keeps_the_lot(house, kick, borrower, taker, weth, unit):
    auction_id, _ = kick(borrower, weth, WAD, 1_000 * unit, 1_000 * WAD)
    with ape.reverts("erc20: insufficient allowance"):
        house.take(auction_id, WAD, MAX_UINT, taker, b"", sender=taker)
    assert weth.balanceOf(house) == WAD and house.auction_info(auction_id).lot == WAD


# ------------------------------------------------------------------------------------------------ flash take


@pytest.fixture
def flash_taker(project, owner, house, base_token, market):
    callee = project.MockTakeCallee.deploy(house, base_token, market, sender=owner)
    base_token.mint(market, 10**30, sender=owner)
    base_token.approve(callee, MAX_UINT, sender=market)
    return callee


@with_base_decimals(6, 8, 18)
def test_take__with_callback__taker_sells_in_the_callback_and_pays(
    house, kick, flash_taker, base_token, borrower, keeper, market, engine_account, weth, unit, chain, base_decimals
):
    auction_id, tx = kick(borrower, weth, 5 * WAD, 6_000 * unit, 1_800 * WAD)
    chain.pending_timestamp = tx.timestamp + 2 * STEP
    price = Curve(CUT, STEP, FLOOR).price(1_800 * WAD, 2 * STEP)
    bought, owe = contract_take(price, 2 * WAD, 6_000 * unit, 5 * WAD, 10 * unit, base_decimals, 18)
    assert base_token.balanceOf(flash_taker) == 0  # no base of its own

    tx = flash_taker.buy(auction_id, 2 * WAD, price, weth, 0, sender=keeper)

    taken = house.AuctionTaken.from_receipt(tx)[0]
    assert (taken.taker, taken.receiver) == (flash_taker.address, flash_taker.address)
    assert (taken.bought, taken.owe) == (bought, owe)
    assert (flash_taker.last_sender(), flash_taker.last_owe(), flash_taker.last_bought()) == (
        flash_taker.address,
        owe,
        bought,
    )
    assert weth.balanceOf(market) == bought  # sold in the callback
    assert base_token.balanceOf(engine_account) == owe
    assert base_token.balanceOf(flash_taker) == 0 and weth.balanceOf(flash_taker) == 0


def test_take__callback_without_payment__reverts_and_keeps_the_lot(
    house, kick, flash_taker, base_token, borrower, keeper, market, weth, unit
):
    auction_id, _ = kick(borrower, weth, WAD, 1_000 * unit, 1_000 * WAD)
    base_token.approve(flash_taker, 0, sender=market)
    with ape.reverts("erc20: insufficient allowance"):
        flash_taker.buy(auction_id, WAD, MAX_UINT, weth, 0, sender=keeper)
    assert weth.balanceOf(house) == WAD and house.auction_info(auction_id).lot == WAD


@pytest.mark.parametrize("mode", [1, 2], ids=["take", "view"])
def test_take__callback_reentering_the_auction__is_locked_out(
    house, kick, flash_taker, borrower, keeper, weth, unit, mode
):
    auction_id, _ = kick(borrower, weth, 5 * WAD, 6_000 * unit, 1_000 * WAD)
    assert house.auction_price(auction_id) == 1_000 * WAD  # the same call succeeds outside a take
    flash_taker.buy(auction_id, WAD, MAX_UINT, weth, mode, sender=keeper)
    assert flash_taker.reentry_attempted()
    assert not flash_taker.reentry_succeeded()
    assert house.auction_info(auction_id).lot == 4 * WAD  # the outer take went through alone


@pytest.mark.parametrize("callee", ["engine", "vault", "beneficiary", "base", "collateral", "oracle"])
def test_take__callback_to_a_trusted_address__reverts(
    house, kick, pay, borrower, taker, weth, base_token, oracle, engine_account, callee
):
    auction_id, _ = kick(borrower, weth, WAD, 1_000, WAD)
    pay(taker, 10**6)
    receiver = {
        "engine": engine_account.address,
        "vault": VAULT,
        "beneficiary": house.beneficiary(),
        "base": base_token.address,
        "collateral": weth.address,
        "oracle": oracle.address,
    }[callee]
    with ape.reverts("auction: forbidden callee"):
        house.take(auction_id, WAD, MAX_UINT, receiver, b"\x01", sender=taker)
    # without data there is no callback, and any receiver may get the collateral
    house.take(auction_id, WAD, MAX_UINT, VAULT, b"", sender=taker)


# ------------------------------------------------------------------------------------------------ redo


@pytest.fixture
def funded(house, pay, owner, unit):
    """An incentive balance of 5,000 base, a 100-base tip and a 0.1% chip."""
    pay(owner, 5_000 * unit)
    house.fund_incentives(5_000 * unit, sender=owner)
    house.set_incentive(100 * unit, 10**15, sender=owner)
    return house


def test_redo__fresh_auction__reverts_cannot_reset(house, kick, borrower, keeper, weth, chain):
    auction_id, tx = kick(borrower, weth, WAD, 1_000, 1_800 * WAD)
    chain.pending_timestamp = tx.timestamp + 91 * STEP  # above cusp, before tail
    with ape.reverts("auction: cannot reset"):
        house.redo(auction_id, keeper, sender=keeper)


@with_base_decimals(6, 18)
@pytest.mark.parametrize("symbol", ["WETH", "WBTC", "GOLD"])
def test_redo__after_tail__restarts_at_oracle_price_times_buf_and_pays_the_incentive(
    house, funded, kick, collaterals, symbol, borrower, keeper, base_token, chain, unit, owner, base_decimals
):
    token = collaterals[symbol]
    # a floor above cusp cannot be set; a floor at 0.3 and tail before cusp: slow curve so tail comes first
    house.set_curve(WAD - 10**15, STEP, FLOOR, sender=owner)
    tab = 20_000 * unit
    auction_id, tx = kick(borrower, token, whole(token, 100), tab, USD[symbol] * WAD // 2)
    chain.pending_timestamp = tx.timestamp + TAIL + 1

    tx = house.redo(auction_id, keeper, sender=keeper)

    top = USD[symbol] * WAD * BUF // WAD
    redone = house.AuctionRedone.from_receipt(tx)[0]
    incentive = 100 * unit + tab * 10**15 // WAD
    assert (redone.keeper, redone.top, redone.incentive) == (keeper.address, top, incentive)
    assert base_token.balanceOf(keeper) == incentive
    assert house.incentive_balance() == 5_000 * unit - incentive
    info = house.auction_info(auction_id)
    assert (info.top, info.started_at, info.tab, info.lot) == (top, tx.timestamp, tab, whole(token, 100))
    assert house.auction_price(auction_id) == top
    # a second redo right away is not due
    with ape.reverts("auction: cannot reset"):
        house.redo(auction_id, keeper, sender=keeper)


def test_redo__below_cusp__restarts(house, kick, borrower, keeper, weth, chain, unit, set_price):
    auction_id, tx = kick(borrower, weth, WAD, 1_000 * unit, 1_800 * WAD)
    set_price(weth, 1_500)
    chain.pending_timestamp = tx.timestamp + 92 * STEP  # 0.99^92 < 40%, before tail
    tx = house.redo(auction_id, keeper, sender=keeper)
    assert house.AuctionRedone.from_receipt(tx)[0].top == 1_650 * WAD
    assert house.AuctionRedone.from_receipt(tx)[0].incentive == 0  # nothing funded


def test_redo__base_price_moves__top_is_in_base_per_collateral(
    house, kick, borrower, keeper, weth, base_token, chain, unit, set_price
):
    auction_id, tx = kick(borrower, weth, WAD, 1_000 * unit, 1_800 * WAD)
    set_price(base_token, 0.8)
    chain.pending_timestamp = tx.timestamp + TAIL + 1
    tx = house.redo(auction_id, keeper, sender=keeper)
    assert house.AuctionRedone.from_receipt(tx)[0].top == 2_750 * WAD  # 2,000 / 0.8 * 1.1


def test_redo__oracle_price_beyond_the_bound__reverts(
    house, kick, borrower, keeper, weth, base_token, chain, unit, set_price
):
    auction_id, _ = kick(borrower, weth, WAD, 1_000 * unit, 1_800 * WAD)
    set_price(weth, 10**21)
    set_price(base_token, 10**-8)
    chain.pending_timestamp += TAIL + 1
    with ape.reverts("auction: price too large"):
        house.redo(auction_id, keeper, sender=keeper)


def test_redo__incentive__never_exceeds_max_incentive_or_the_balance(
    house, kick, pay, borrower, keeper, weth, base_token, chain, unit, owner
):
    assert house.max_incentive() == 2_000 * unit
    house.set_incentive(1_000 * unit, 10**16, sender=owner)  # both at their bounds
    pay(owner, 2_500 * unit)
    house.fund_incentives(2_500 * unit, sender=owner)
    big_tab = 1_000_000 * unit  # tip + 1% of the tab = 11,000 base
    first, _ = kick(borrower, weth, 1_000 * WAD, big_tab, 1_800 * WAD)
    second, tx = kick(borrower, weth, 1_000 * WAD, big_tab, 1_800 * WAD)
    third, _ = kick(borrower, weth, 1_000 * WAD, big_tab, 1_800 * WAD)
    chain.pending_timestamp = tx.timestamp + TAIL + 5
    paid = [
        house.AuctionRedone.from_receipt(house.redo(i, keeper, sender=keeper))[0].incentive
        for i in (first, second, third)
    ]
    assert paid == [2_000 * unit, 500 * unit, 0]  # the hard cap, then what the balance had left, then nothing
    assert base_token.balanceOf(keeper) == 2_500 * unit and house.incentive_balance() == 0


def test_redo__fast_curve__pays_one_incentive_per_auction_per_five_minutes(
    house, funded, kick, borrower, keeper, weth, chain, unit, owner
):
    # the steepest curve the bounds allow: price halves every second, below cusp after one step
    house.set_reset_rules(TAIL, 95 * 10**16, BUF, sender=owner)
    house.set_curve(WAD // 2, 1, 0, sender=owner)
    auction_id, tx = kick(borrower, weth, 10 * WAD, 10_000 * unit, 1_800 * WAD)
    paid = []
    for _ in range(3):
        chain.pending_timestamp = tx.timestamp + 2
        tx = house.redo(auction_id, keeper, sender=keeper)
        paid.append(house.AuctionRedone.from_receipt(tx)[0].incentive)
    chain.pending_timestamp = tx.timestamp + 300
    tx = house.redo(auction_id, keeper, sender=keeper)
    paid.append(house.AuctionRedone.from_receipt(tx)[0].incentive)
    assert paid == [0, 0, 0, 100 * unit + 10 * unit]


@pytest.mark.parametrize("what", ["tab", "lot"])
def test_redo__dust_auction__pays_no_incentive(house, funded, kick, borrower, keeper, weth, chain, unit, what):
    # a tab of 9 base, or a lot worth 9 base at the oracle: below the 10-base dust
    tab, lot = (9 * unit, WAD) if what == "tab" else (1_000 * unit, 9 * WAD // 2_000)
    auction_id, tx = kick(borrower, weth, lot, tab, 1_800 * WAD)
    chain.pending_timestamp = tx.timestamp + TAIL + 1
    tx = house.redo(auction_id, keeper, sender=keeper)
    assert house.AuctionRedone.from_receipt(tx)[0].incentive == 0


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("zero keeper", "auction: zero keeper"),
        ("unknown", "auction: unknown auction"),
        ("finished", "auction: finished"),
    ],
)
def test_redo__bad_arguments__revert_with_their_reason(
    house, kick, pay, borrower, keeper, taker, weth, chain, case, reason
):
    auction_id, tx = kick(borrower, weth, WAD, 1_000, WAD)
    if case == "finished":
        pay(taker, 10**6)
        house.take(auction_id, WAD, MAX_UINT, taker, b"", sender=taker)
    chain.pending_timestamp = tx.timestamp + TAIL + 1
    with ape.reverts(reason):
        house.redo(7 if case == "unknown" else auction_id, ZERO if case == "zero keeper" else keeper, sender=keeper)


def test_redo__oracle_down__reverts_and_takes_still_work(
    house, kick, pay, borrower, keeper, taker, weth, chain, unit, owner, oracle
):
    auction_id, tx = kick(borrower, weth, WAD, 1_000 * unit, 1_800 * WAD)
    oracle.remove_asset(weth, sender=owner)
    chain.pending_timestamp = tx.timestamp + TAIL + 1
    with ape.reverts("oracle: unknown asset"):
        house.redo(auction_id, keeper, sender=keeper)
    pay(taker, 1_000 * unit)
    house.take(auction_id, WAD, MAX_UINT, taker, b"", sender=taker)  # the price needs no oracle


# ------------------------------------------------------------------------------------------------ yank


def test_yank__engine__ends_the_auction_and_sends_the_lot(
    house, kick, pay, borrower, taker, engine_account, weth, unit
):
    auction_id, _ = kick(borrower, weth, 2 * WAD, 5_000 * unit, 1_000 * WAD)
    pay(taker, 1_000 * unit)
    house.take(auction_id, WAD, MAX_UINT, taker, b"", sender=taker)
    tx = house.yank(auction_id, engine_account, sender=engine_account)
    yanked = house.AuctionYanked.from_receipt(tx)[0]
    assert (yanked.receiver, yanked.lot, yanked.tab) == (engine_account.address, WAD, 4_000 * unit)
    finished = house.AuctionFinished.from_receipt(tx)[0]
    assert (finished.raised, finished.shortfall, finished.returned) == (1_000 * unit, 4_000 * unit, 0)
    assert weth.balanceOf(engine_account) == WAD and house.held(weth) == 0
    assert house.auction_info(auction_id).finished and house.running_auctions() == 0


def test_yank__bad_callers_and_arguments__revert(house, kick, borrower, engine_account, stranger, weth):
    auction_id, _ = kick(borrower, weth, WAD, 1_000, WAD)
    with ape.reverts("auction: not engine"):
        house.yank(auction_id, stranger, sender=stranger)
    with ape.reverts("auction: zero receiver"):
        house.yank(auction_id, ZERO, sender=engine_account)
    with ape.reverts("auction: unknown auction"):
        house.yank(9, engine_account, sender=engine_account)
    house.yank(auction_id, engine_account, sender=engine_account)
    with ape.reverts("auction: finished"):
        house.yank(auction_id, engine_account, sender=engine_account)


# ------------------------------------------------------------------------------------------------ views


def test_views__unknown_auction__revert(house):
    for view in (house.auction_price, house.auction_status, house.auction_info, house.auction_terms):
        with ape.reverts("auction: unknown auction"):
            view(1)


def test_views__defaults_and_immutables(house, base_token, oracle, engine_account, unit):
    assert (house.cut(), house.step(), house.floor(), house.dust()) == (CUT, STEP, FLOOR, 10 * unit)
    assert (house.tail(), house.cusp(), house.buf(), house.tip(), house.chip()) == (TAIL, CUSP, BUF, 0, 0)
    assert (house.base_asset(), house.oracle(), house.engine(), house.vault(), house.beneficiary()) == (
        base_token.address,
        oracle.address,
        engine_account.address,
        VAULT,
        engine_account.address,
    )
    assert (house.next_auction_id(), house.running_auctions(), house.incentive_balance()) == (1, 0, 0)


# ------------------------------------------------------------------------------------------------ admin


def test_setters__owner__update_and_emit(house, owner, unit):
    tx = house.set_curve(95 * 10**16, 60, 2 * 10**17, sender=owner)
    assert house.CurveSet.from_receipt(tx)[0].floor == 2 * 10**17
    tx = house.set_reset_rules(3_600, 5 * 10**17, 12 * 10**17, sender=owner)
    event = house.ResetRulesSet.from_receipt(tx)[0]
    assert (event.tail, event.cusp, event.buf) == (3_600, 5 * 10**17, 12 * 10**17)
    tx = house.set_incentive(50 * unit, 10**15, sender=owner)
    assert house.IncentiveSet.from_receipt(tx)[0].tip == 50 * unit
    tx = house.set_dust(25 * unit, sender=owner)
    assert house.DustSet.from_receipt(tx)[0].dust == 25 * unit
    assert (house.cut(), house.step(), house.floor(), house.dust()) == (95 * 10**16, 60, 2 * 10**17, 25 * unit)
    assert (house.tail(), house.cusp(), house.buf()) == (3_600, 5 * 10**17, 12 * 10**17)
    assert (house.tip(), house.chip()) == (50 * unit, 10**15)


@pytest.mark.parametrize(
    ("setter", "args", "reason"),
    [
        ("set_curve", (WAD // 2 - 1, STEP, FLOOR), "auction: cut out of bounds"),
        ("set_curve", (WAD, STEP, FLOOR), "auction: cut out of bounds"),
        ("set_curve", (CUT, 0, FLOOR), "auction: step out of bounds"),
        ("set_curve", (CUT, 3_601, FLOOR), "auction: step out of bounds"),
        ("set_curve", (CUT, STEP, CUSP), "auction: floor not below cusp"),
        ("set_reset_rules", (299, CUSP, BUF), "auction: tail out of bounds"),
        ("set_reset_rules", (7 * 86_400 + 1, CUSP, BUF), "auction: tail out of bounds"),
        ("set_reset_rules", (TAIL, WAD // 10 - 1, BUF), "auction: cusp out of bounds"),
        ("set_reset_rules", (TAIL, 95 * 10**16 + 1, BUF), "auction: cusp out of bounds"),
        ("set_reset_rules", (TAIL, FLOOR, BUF), "auction: floor not below cusp"),
        ("set_reset_rules", (TAIL, CUSP, WAD - 1), "auction: buf out of bounds"),
        ("set_reset_rules", (TAIL, CUSP, 2 * WAD + 1), "auction: buf out of bounds"),
        ("set_incentive", ("1001 tokens", 0), "auction: tip above bound"),
        ("set_incentive", (0, 10**16 + 1), "auction: chip above bound"),
        ("set_dust", ("10001 tokens",), "auction: dust above bound"),
    ],
)
def test_setters__out_of_bounds__revert_and_change_nothing(house, owner, unit, setter, args, reason):
    args = tuple(int(a.split()[0]) * unit if isinstance(a, str) else a for a in args)
    views = ("cut", "step", "floor", "dust", "tail", "cusp", "buf", "tip", "chip")
    before = [getattr(house, v)() for v in views]
    with ape.reverts(reason):
        getattr(house, setter)(*args, sender=owner)
    assert [getattr(house, v)() for v in views] == before


@pytest.mark.parametrize(
    ("setter", "args"),
    [
        ("set_curve", (CUT, STEP, FLOOR)),
        ("set_reset_rules", (TAIL, CUSP, BUF)),
        ("set_incentive", (0, 0)),
        ("set_dust", (0,)),
        ("withdraw_incentives", (1, VAULT)),
        ("sweep", (VAULT, VAULT)),
    ],
)
def test_admin__stranger__reverts(house, stranger, setter, args):
    with ape.reverts("ownable: caller is not the owner"):
        getattr(house, setter)(*args, sender=stranger)


def test_ownership__two_step_transfer(house, owner, stranger):
    house.transfer_ownership(stranger, sender=owner)
    assert house.owner() == owner.address
    house.accept_ownership(sender=stranger)
    assert house.owner() == stranger.address


def test_incentives__fund_and_withdraw(house, pay, owner, stranger, base_token, unit):
    pay(stranger, 300 * unit)
    tx = house.fund_incentives(300 * unit, sender=stranger)
    assert house.IncentivesFunded.from_receipt(tx)[0].amount == 300 * unit
    assert house.incentive_balance() == 300 * unit
    with ape.reverts("auction: zero amount"):
        house.fund_incentives(0, sender=stranger)
    with ape.reverts("auction: exceeds incentive balance"):
        house.withdraw_incentives(300 * unit + 1, owner, sender=owner)
    with ape.reverts("auction: zero amount"):
        house.withdraw_incentives(0, owner, sender=owner)
    with ape.reverts("auction: zero receiver"):
        house.withdraw_incentives(1, ZERO, sender=owner)
    tx = house.withdraw_incentives(100 * unit, owner, sender=owner)
    assert house.IncentivesWithdrawn.from_receipt(tx)[0].amount == 100 * unit
    assert house.incentive_balance() == 200 * unit and base_token.balanceOf(owner) == 100 * unit


def test_incentives__fee_on_transfer_base__reverts(project, owner, oracle, engine_account):
    fee_token = project.MockFeeToken.deploy(6, sender=owner)
    house = project.DutchAuction.deploy(fee_token, oracle, engine_account, VAULT, engine_account, sender=owner)
    fee_token.mint(owner, 10**9, sender=owner)
    fee_token.approve(house, 10**9, sender=owner)
    with ape.reverts("transfers: fee-on-transfer token"):
        house.fund_incentives(10**9, sender=owner)


def test_sweep__only_what_is_not_owed(house, kick, pay, owner, borrower, weth, wbtc, base_token, unit):
    kick(borrower, weth, 3 * WAD, 1_000 * unit, 1_800 * WAD)
    pay(owner, 50 * unit)
    house.fund_incentives(50 * unit, sender=owner)
    with ape.reverts("auction: nothing to sweep"):
        house.sweep(weth, owner, sender=owner)  # all of it belongs to the auction
    with ape.reverts("auction: nothing to sweep"):
        house.sweep(base_token, owner, sender=owner)  # all of it is the incentive balance
    with ape.reverts("auction: zero receiver"):
        house.sweep(weth, ZERO, sender=owner)
    # donations and mistaken transfers
    weth.mint(house, 7, sender=owner)
    base_token.mint(house, 9, sender=owner)
    wbtc.mint(house, 11, sender=owner)
    tx = house.sweep(weth, owner, sender=owner)
    assert house.Swept.from_receipt(tx)[0].amount == 7
    assert house.Swept.from_receipt(house.sweep(base_token, owner, sender=owner))[0].amount == 9
    house.sweep(wbtc, owner, sender=owner)
    assert (weth.balanceOf(owner), base_token.balanceOf(owner), wbtc.balanceOf(owner)) == (7, 9, 11)
    assert weth.balanceOf(house) == house.held(weth) == 3 * WAD
    assert base_token.balanceOf(house) == house.incentive_balance() == 50 * unit


# ------------------------------------------------------------------------------------------------ constructor


@pytest.mark.parametrize(
    ("position", "reason"),
    [
        (0, "auction: zero base asset"),
        (1, "auction: zero oracle"),
        (2, "auction: zero engine"),
        (3, "auction: zero vault"),
        (4, "auction: zero beneficiary"),
    ],
)
def test_constructor__zero_address__reverts(project, owner, base_token, oracle, engine_account, position, reason):
    args = [base_token, oracle, engine_account, VAULT, engine_account]
    args[position] = ZERO
    with ape.reverts(reason):
        project.DutchAuction.deploy(*args, sender=owner)


def test_constructor__base_with_more_than_18_decimals__reverts(project, owner, oracle, engine_account):
    odd = project.MockFeeToken.deploy(19, sender=owner)
    with ape.reverts("auction: decimals above 18"):
        project.DutchAuction.deploy(odd, oracle, engine_account, VAULT, engine_account, sender=owner)


# ------------------------------------------------------------------------------------------ a running auction's terms


def test_set_curve__mid_auction__leaves_the_running_auction_on_its_own_curve(
    house, kick, pay, owner, borrower, taker, keeper, weth, chain, unit
):
    """Invariant 12: the owner sets the fastest curve the bounds allow (halving every second, floor 0) and the
    laxest redo rules in the middle of an auction; the running auction keeps the curve and the rules it was kicked
    with, and a take pays the old curve's price. Only auctions kicked afterwards use the new terms."""
    top = 1_800 * WAD
    auction_id, tx = kick(borrower, weth, 10 * WAD, 15_000 * unit, top)
    t0 = tx.timestamp
    old = Curve(CUT, STEP, FLOOR)
    chain.pending_timestamp = t0 + 10
    house.set_curve(WAD // 2, 1, 0, sender=owner)
    house.set_reset_rules(300, 95 * 10**16, WAD, sender=owner)

    assert house.terms_id() == 3  # the defaults, then one id per setter call
    assert tuple(house.auction_terms(auction_id)) == (CUT, STEP, FLOOR, 10 * unit, TAIL, CUSP, BUF)
    for elapsed in (20, STEP, 4 * STEP, 400):
        view_at(chain, t0 + elapsed)
        assert house.auction_price(auction_id) == old.price(top, elapsed), elapsed
    # the old rules: no redo before the old tail (8,400 s) or the old cusp (40% of top)
    assert house.auction_status(auction_id)[0] is False
    chain.pending_timestamp = t0 + 401
    with ape.reverts("auction: cannot reset"):
        house.redo(auction_id, keeper, sender=keeper)

    chain.pending_timestamp = t0 + 6 * STEP
    price = old.price(top, 6 * STEP)
    pay(taker, 2_000 * unit)
    tx = house.take(auction_id, WAD, price, taker, b"", sender=taker)
    taken = house.AuctionTaken.from_receipt(tx)[0]
    assert (taken.price, taken.bought) == (price, WAD)

    later, tx = kick(borrower, weth, WAD, 1_000 * unit, top)
    assert tuple(house.auction_terms(later)) == (WAD // 2, 1, 0, 10 * unit, 300, 95 * 10**16, WAD)
    view_at(chain, tx.timestamp + 3)
    assert house.auction_price(later) == Curve(WAD // 2, 1, 0).price(top, 3)


def test_set_dust__mid_auction__keeps_the_running_auctions_dust_rule(
    house, kick, pay, owner, borrower, taker, weth, chain, unit
):
    auction_id, tx = kick(borrower, weth, 10 * WAD, 5_000 * unit, 1_800 * WAD)
    house.set_dust(10_000 * unit, sender=owner)
    pay(taker, 2_000 * unit)

    # one WETH leaves a tab of 3,200 base: below the new dust, above the 10 base the auction was kicked with
    tx = house.take(auction_id, WAD, 1_800 * WAD, taker, b"", sender=taker)

    taken = house.AuctionTaken.from_receipt(tx)[0]
    assert (taken.bought, taken.owe, taken.tab) == (WAD, 1_800 * unit, 3_200 * unit)


def test_redo__after_a_curve_change__restarts_on_the_auctions_own_curve(
    house, kick, owner, borrower, keeper, weth, chain, unit
):
    auction_id, tx = kick(borrower, weth, WAD, 1_000 * unit, 1_800 * WAD)
    house.set_curve(WAD // 2, 1, 0, sender=owner)
    chain.pending_timestamp = tx.timestamp + TAIL + 1

    tx = house.redo(auction_id, keeper, sender=keeper)

    top = house.AuctionRedone.from_receipt(tx)[0].top
    view_at(chain, tx.timestamp + 2 * STEP)
    assert house.auction_price(auction_id) == Curve(CUT, STEP, FLOOR).price(top, 2 * STEP)
