"""PriceOracle: per-asset circuit breaker (poke, trip, persistence, blip, guardian override) and EWMA volatility."""

import ape
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.utils.isolation import isolated
from tests.utils.oracle_model import ltv_factor, next_variance, volatility

WAD = 10**18
FEED_DECIMALS = 8
TOLERANCE = 10 * WAD // 100  # 10%
DELAY = 3_600
DEFAULT_LAMBDA = 94 * WAD // 100
NOT_OWNER = "ownable: caller is not the owner"
NOT_OWNER_OR_GUARDIAN = "oracle: not owner or guardian"


# --- fixtures and helpers ---------------------------------------------------------------------------------------


@pytest.fixture
def oracle(project, owner):
    return project.PriceOracle.deploy(sender=owner)


@pytest.fixture
def asset(project, owner):
    return project.MockERC20.deploy("Wrapped Ether", "WETH", 18, sender=owner)


@pytest.fixture
def feed(project, owner):
    return project.MockAggregator.deploy(FEED_DECIMALS, "ETH / USD", 2_000 * 10**FEED_DECIMALS, sender=owner)


@pytest.fixture
def priced(oracle, owner, asset, feed):
    """`asset` priced by one 8-decimal feed at $2,000; breaker off, volatility defaults."""
    oracle.set_feeds(asset, [feed], 86_400, 0, sender=owner)
    return asset


@pytest.fixture
def breaker_on(oracle, owner, priced):
    """The breaker on at 10% / 1 hour, anchored by a first poke at $2,000."""
    oracle.set_breaker(priced, TOLERANCE, DELAY, sender=owner)
    oracle.poke(priced, sender=owner)
    return priced


@pytest.fixture
def post(feed, owner, chain):
    """Post a new answer (whole dollars or a float) a minute later, so every round is newer than the last."""

    def post(usd):
        chain.pending_timestamp += 60
        feed.update_answer(round(usd * 10**FEED_DECIMALS), sender=owner)

    return post


def advance(chain, seconds):
    chain.pending_timestamp += seconds
    chain.mine()


def wad_price(usd):
    return round(usd * 10**FEED_DECIMALS) * 10 ** (18 - FEED_DECIMALS)


# --- breaker off -------------------------------------------------------------------------------------------------


def test_breaker__default__off_and_no_move_pauses(oracle, owner, priced, post):
    assert (oracle.tolerance(priced), oracle.confirmation_delay(priced)) == (0, 0)
    oracle.poke(priced, sender=owner)
    post(200)  # -90%
    tx = oracle.poke(priced, sender=owner)
    assert not oracle.liquidations_paused(priced)
    assert not oracle.breaker_status(priced).tripped
    assert oracle.BreakerTripped.from_receipt(tx) == []
    assert oracle.price(priced) == wad_price(200)


def test_set_breaker__off_while_tripped__resumes_liquidations(oracle, owner, breaker_on, post):
    post(1_500)
    oracle.poke(breaker_on, sender=owner)
    assert oracle.liquidations_paused(breaker_on)
    oracle.set_breaker(breaker_on, 0, 0, sender=owner)
    assert not oracle.liquidations_paused(breaker_on)
    assert oracle.breaker_status(breaker_on).last_accepted == 0


# --- breaker on: first poke, trip, persistence, blip --------------------------------------------------------------


def test_poke__first_poke__accepts_the_price(oracle, owner, priced, chain):
    oracle.set_breaker(priced, TOLERANCE, DELAY, sender=owner)
    assert oracle.breaker_status(priced).last_accepted == 0
    tx = oracle.poke(priced, sender=owner)
    status = oracle.breaker_status(priced)
    assert (status.tripped, status.last_accepted, status.candidate) == (False, wad_price(2_000), 0)
    assert status.accepted_at == chain.blocks[tx.block_number].timestamp


def test_poke__move_beyond_tolerance__trips_and_logs(oracle, owner, breaker_on, post, chain):
    post(1_799.99)  # just over 10% down
    tx = oracle.poke(breaker_on, sender=owner)
    tripped_at = chain.blocks[tx.block_number].timestamp
    event = oracle.BreakerTripped.from_receipt(tx)[0]
    assert event.asset == breaker_on.address
    assert (event.accepted, event.candidate, event.confirmable_at) == (
        wad_price(2_000),
        wad_price(1_799.99),
        tripped_at + DELAY,
    )
    status = oracle.breaker_status(breaker_on)
    assert status.tripped and oracle.liquidations_paused(breaker_on)
    assert (status.last_accepted, status.candidate) == (wad_price(2_000), wad_price(1_799.99))
    assert (status.tripped_at, status.confirmable_at) == (tripped_at, tripped_at + DELAY)
    # the price itself is never paused
    assert oracle.price(breaker_on) == wad_price(1_799.99)


@pytest.mark.parametrize("usd", [1_800, 2_200])
def test_poke__move_of_exactly_tolerance__does_not_trip_and_moves_the_anchor(oracle, owner, breaker_on, post, usd):
    post(usd)
    tx = oracle.poke(breaker_on, sender=owner)
    assert oracle.BreakerTripped.from_receipt(tx) == []
    assert not oracle.liquidations_paused(breaker_on)
    assert oracle.breaker_status(breaker_on).last_accepted == wad_price(usd)


def test_poke__unchanged_price__writes_nothing(oracle, owner, breaker_on, chain):
    before = oracle.breaker_status(breaker_on)
    advance(chain, 100)
    oracle.poke(breaker_on, sender=owner)
    assert oracle.breaker_status(breaker_on) == before


def test_poke__move_persisted_past_the_delay__accepts_the_current_price(oracle, owner, breaker_on, post, chain):
    post(1_500)
    tripped_at = chain.blocks[oracle.poke(breaker_on, sender=owner).block_number].timestamp
    # still beyond tolerance before the delay: stays tripped, the candidate follows, the clock does not restart
    post(1_450)
    tx = oracle.poke(breaker_on, sender=owner)
    assert oracle.PriceConfirmed.from_receipt(tx) == []
    status = oracle.breaker_status(breaker_on)
    assert status.tripped and status.candidate == wad_price(1_450) and status.tripped_at == tripped_at
    chain.pending_timestamp = tripped_at + DELAY - 1
    post(1_400)  # the post moves time on by a minute: this poke lands past the delay
    tx = oracle.poke(breaker_on, sender=owner)
    assert chain.blocks[tx.block_number].timestamp >= tripped_at + DELAY
    event = oracle.PriceConfirmed.from_receipt(tx)[0]
    assert (event.previous, event.price, event.override) == (wad_price(2_000), wad_price(1_400), False)
    status = oracle.breaker_status(breaker_on)
    assert not status.tripped and not oracle.liquidations_paused(breaker_on)
    assert (status.last_accepted, status.candidate, status.tripped_at, status.confirmable_at) == (
        wad_price(1_400),
        0,
        0,
        0,
    )
    assert status.accepted_at == chain.blocks[tx.block_number].timestamp


def test_poke__one_second_before_the_delay__stays_tripped(oracle, owner, breaker_on, post, chain):
    post(1_500)
    tripped_at = chain.blocks[oracle.poke(breaker_on, sender=owner).block_number].timestamp
    chain.pending_timestamp = tripped_at + DELAY - 1
    tx = oracle.poke(breaker_on, sender=owner)
    assert chain.blocks[tx.block_number].timestamp == tripped_at + DELAY - 1
    assert oracle.liquidations_paused(breaker_on)


def test_poke__price_back_within_tolerance__clears_the_blip(oracle, owner, breaker_on, post):
    post(1_500)
    oracle.poke(breaker_on, sender=owner)
    post(1_950)
    tx = oracle.poke(breaker_on, sender=owner)
    event = oracle.BreakerCleared.from_receipt(tx)[0]
    assert (event.asset, event.accepted, event.price) == (breaker_on.address, wad_price(2_000), wad_price(1_950))
    status = oracle.breaker_status(breaker_on)
    assert not status.tripped and not oracle.liquidations_paused(breaker_on)
    assert (status.last_accepted, status.candidate, status.tripped_at) == (wad_price(1_950), 0, 0)


def test_liquidations_paused__jump_not_yet_poked__pauses_already(oracle, owner, breaker_on, post):
    """The pause does not wait for a poke: a liquidation in the block of a feed jump is refused too."""
    post(1_500)
    assert oracle.liquidations_paused(breaker_on)
    assert not oracle.breaker_status(breaker_on).tripped  # nothing written until someone pokes


@pytest.mark.parametrize("usd", [1_800, 2_200, 1_900])
def test_liquidations_paused__move_within_tolerance_not_yet_poked__does_not_pause(oracle, owner, breaker_on, post, usd):
    post(usd)
    assert not oracle.liquidations_paused(breaker_on)


def test_liquidations_paused__breaker_on_but_never_poked__does_not_pause(oracle, owner, priced, post):
    """Without an accepted price there is nothing to measure a jump against: the first poke accepts."""
    oracle.set_breaker(priced, TOLERANCE, DELAY, sender=owner)
    post(500)
    assert not oracle.liquidations_paused(priced)


def test_poke__by_anyone__is_permissionless(oracle, breaker_on, post, stranger):
    post(1_500)
    oracle.poke(breaker_on, sender=stranger)
    assert oracle.liquidations_paused(breaker_on)


# --- guardian override --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "guardian"])
def test_confirm_price__owner_or_guardian__accepts_the_current_price(oracle, owner, guardian, breaker_on, post, role):
    oracle.set_guardian(guardian, sender=owner)
    post(1_500)
    oracle.poke(breaker_on, sender=owner)
    post(1_480)
    caller = owner if role == "owner" else guardian
    tx = oracle.confirm_price(breaker_on, sender=caller)
    event = oracle.PriceConfirmed.from_receipt(tx)[0]
    assert (event.previous, event.price, event.sender, event.override) == (
        wad_price(2_000),
        wad_price(1_480),
        caller.address,
        True,
    )
    assert not oracle.liquidations_paused(breaker_on)
    assert oracle.breaker_status(breaker_on).last_accepted == wad_price(1_480)


def test_confirm_price__stranger__reverts(oracle, owner, guardian, breaker_on, post, stranger):
    oracle.set_guardian(guardian, sender=owner)
    post(1_500)
    oracle.poke(breaker_on, sender=owner)
    with ape.reverts(NOT_OWNER_OR_GUARDIAN):
        oracle.confirm_price(breaker_on, sender=stranger)


def test_confirm_price__not_tripped__reverts(oracle, owner, breaker_on, priced):
    with ape.reverts("oracle: breaker not tripped"):
        oracle.confirm_price(breaker_on, sender=owner)


def test_confirm_price__breaker_off__reverts(oracle, owner, priced):
    with ape.reverts("oracle: breaker not tripped"):
        oracle.confirm_price(priced, sender=owner)


# --- setters: bounds and events -----------------------------------------------------------------------------------


def test_set_guardian__owner__sets_and_logs(oracle, owner, guardian):
    assert oracle.guardian() == "0x0000000000000000000000000000000000000000"
    tx = oracle.set_guardian(guardian, sender=owner)
    assert oracle.guardian() == guardian.address
    assert oracle.GuardianSet.from_receipt(tx)[0].guardian == guardian.address


def test_set_guardian__non_owner__reverts(oracle, guardian):
    with ape.reverts(NOT_OWNER):
        oracle.set_guardian(guardian, sender=guardian)


def test_set_breaker__owner__sets_and_logs(oracle, owner, priced):
    tx = oracle.set_breaker(priced, TOLERANCE, DELAY, sender=owner)
    event = oracle.BreakerSet.from_receipt(tx)[0]
    assert (event.asset, event.tolerance, event.confirmation_delay) == (priced.address, TOLERANCE, DELAY)
    assert (oracle.tolerance(priced), oracle.confirmation_delay(priced)) == (TOLERANCE, DELAY)


@pytest.mark.parametrize(
    "tolerance,delay,reason",
    [
        (5 * 10**15 - 1, DELAY, "oracle: tolerance out of bounds"),
        (5 * 10**17 + 1, DELAY, "oracle: tolerance out of bounds"),
        (TOLERANCE, 59, "oracle: confirmation_delay out of bounds"),
        (TOLERANCE, 86_401, "oracle: confirmation_delay out of bounds"),
        (0, DELAY, "oracle: confirmation_delay out of bounds"),
    ],
)
def test_set_breaker__out_of_bounds__reverts(oracle, owner, priced, tolerance, delay, reason):
    with ape.reverts(reason):
        oracle.set_breaker(priced, tolerance, delay, sender=owner)


@pytest.mark.parametrize("tolerance,delay", [(5 * 10**15, 60), (5 * 10**17, 86_400), (0, 0)])
def test_set_breaker__at_the_bounds__is_accepted(oracle, owner, priced, tolerance, delay):
    oracle.set_breaker(priced, tolerance, delay, sender=owner)
    assert (oracle.tolerance(priced), oracle.confirmation_delay(priced)) == (tolerance, delay)


def test_set_breaker__retuned_while_tripped__stays_tripped(oracle, owner, breaker_on, post):
    post(1_500)
    oracle.poke(breaker_on, sender=owner)
    oracle.set_breaker(breaker_on, 2 * TOLERANCE, DELAY, sender=owner)
    assert oracle.liquidations_paused(breaker_on)


def test_set_feeds__while_tripped__keeps_the_breaker_on_and_tripped(oracle, owner, breaker_on, post, project):
    # the breaker-on bit shares a storage word with the feeds: replacing them must not turn the breaker off
    post(1_500)
    oracle.poke(breaker_on, sender=owner)
    replacement = project.MockAggregator.deploy(18, "ETH / USD", 1_500 * WAD, sender=owner)
    oracle.set_feeds(breaker_on, [replacement], 3_600, 0, sender=owner)
    assert oracle.feeds(breaker_on) == [replacement.address] and oracle.max_age(breaker_on) == 3_600
    assert oracle.tolerance(breaker_on) == TOLERANCE
    assert oracle.liquidations_paused(breaker_on)
    assert oracle.breaker_status(breaker_on).tripped


def test_remove_asset__then_set_feeds__the_breaker_starts_off(oracle, owner, breaker_on, feed, post):
    oracle.remove_asset(breaker_on, sender=owner)
    oracle.set_feeds(breaker_on, [feed], 86_400, 0, sender=owner)
    oracle.poke(breaker_on, sender=owner)
    post(500)  # -75%, a trip if the breaker were still on
    oracle.poke(breaker_on, sender=owner)
    assert oracle.tolerance(breaker_on) == 0
    assert not oracle.liquidations_paused(breaker_on)


def test_setters__non_owner_or_unknown_asset__revert(oracle, owner, priced, asset, stranger, project):
    with ape.reverts(NOT_OWNER):
        oracle.set_breaker(priced, TOLERANCE, DELAY, sender=stranger)
    with ape.reverts(NOT_OWNER):
        oracle.set_volatility_params(priced, DEFAULT_LAMBDA, WAD, WAD // 2, sender=stranger)
    unknown = project.MockERC20.deploy("X", "X", 18, sender=owner)
    with ape.reverts("oracle: unknown asset"):
        oracle.set_breaker(unknown, TOLERANCE, DELAY, sender=owner)
    with ape.reverts("oracle: unknown asset"):
        oracle.set_volatility_params(unknown, DEFAULT_LAMBDA, WAD, WAD // 2, sender=owner)
    with ape.reverts("oracle: unknown asset"):
        oracle.poke(unknown, sender=owner)


def test_set_volatility_params__owner__sets_and_logs(oracle, owner, priced):
    assert oracle.volatility_params(priced) == (DEFAULT_LAMBDA, 0, 0)
    tx = oracle.set_volatility_params(priced, 9 * WAD // 10, 2 * WAD, 6 * WAD // 10, sender=owner)
    event = oracle.VolatilityParamsSet.from_receipt(tx)[0]
    assert (event.asset, event.ewma_lambda, event.k, event.min_factor) == (
        priced.address,
        9 * WAD // 10,
        2 * WAD,
        6 * WAD // 10,
    )
    assert oracle.volatility_params(priced) == (9 * WAD // 10, 2 * WAD, 6 * WAD // 10)


@pytest.mark.parametrize(
    "lam,k,min_factor,reason",
    [
        (WAD // 2 - 1, WAD, WAD // 2, "oracle: lambda out of bounds"),
        (999 * WAD // 1000 + 1, WAD, WAD // 2, "oracle: lambda out of bounds"),
        (DEFAULT_LAMBDA, 10 * WAD + 1, WAD // 2, "oracle: k out of bounds"),
        (DEFAULT_LAMBDA, WAD, WAD // 2 - 1, "oracle: min_factor out of bounds"),
        (DEFAULT_LAMBDA, WAD, WAD + 1, "oracle: min_factor out of bounds"),
    ],
)
def test_set_volatility_params__out_of_bounds__reverts(oracle, owner, priced, lam, k, min_factor, reason):
    with ape.reverts(reason):
        oracle.set_volatility_params(priced, lam, k, min_factor, sender=owner)


def test_remove_asset__forgets_breaker_and_volatility(oracle, owner, breaker_on, post):
    post(1_500)
    oracle.poke(breaker_on, sender=owner)
    oracle.remove_asset(breaker_on, sender=owner)
    assert not oracle.liquidations_paused(breaker_on)
    assert oracle.tolerance(breaker_on) == 0 and oracle.variance(breaker_on) == 0


# --- volatility ---------------------------------------------------------------------------------------------------


SERIES = [2_000, 2_100, 1_995, 2_050.5, 2_050.5, 1_500, 1_503.25]


def test_volatility__known_series__matches_the_model_exactly(oracle, owner, priced, post, chain):
    lam, k, min_factor = 9 * WAD // 10, 3 * WAD, 6 * WAD // 10
    oracle.set_volatility_params(priced, lam, k, min_factor, sender=owner)
    variance, previous = 0, None
    for n, usd in enumerate(SERIES):
        if n:
            post(usd)
        oracle.poke(priced, sender=owner)
        price = wad_price(usd)
        if previous is not None:
            variance = next_variance(variance, previous, price, lam)
        previous = price
        assert oracle.variance(priced) == variance
        assert oracle.volatility(priced) == volatility(variance)
        assert oracle.ltv_factor(priced) == ltv_factor(variance, k, min_factor)
    # the -26.8% step dominates: volatility ~ sqrt(0.1 * 0.268²) ~ 8.5%
    assert 7 * WAD // 100 < oracle.volatility(priced) < 10 * WAD // 100


def test_volatility__poke_without_a_new_round__leaves_the_estimate(oracle, owner, priced, post, chain):
    oracle.poke(priced, sender=owner)
    post(2_200)
    oracle.poke(priced, sender=owner)
    variance = oracle.variance(priced)
    assert variance == next_variance(0, wad_price(2_000), wad_price(2_200), DEFAULT_LAMBDA)
    advance(chain, 60)
    oracle.poke(priced, sender=owner)
    assert oracle.variance(priced) == variance


def test_volatility__same_price_in_a_new_round__decays_the_estimate(oracle, owner, priced, post):
    oracle.poke(priced, sender=owner)
    post(2_200)
    oracle.poke(priced, sender=owner)
    variance = oracle.variance(priced)
    post(2_200)
    oracle.poke(priced, sender=owner)
    assert oracle.variance(priced) == next_variance(variance, wad_price(2_200), wad_price(2_200), DEFAULT_LAMBDA)
    assert oracle.variance(priced) < variance


@given(
    lam=st.integers(min_value=WAD // 2, max_value=999 * WAD // 1000),
    answers=st.lists(st.integers(min_value=1, max_value=10**14), min_size=2, max_size=5),
)
def test_volatility__any_series__matches_the_model(oracle, owner, priced, feed, chain, lam, answers):
    with isolated(chain):
        oracle.set_volatility_params(priced, lam, 2 * WAD, WAD // 2, sender=owner)
        variance, previous = 0, None
        for answer in answers:
            chain.pending_timestamp += 60
            feed.update_answer(answer, sender=owner)
            oracle.poke(priced, sender=owner)
            price = answer * 10 ** (18 - FEED_DECIMALS)
            if previous is not None:
                variance = next_variance(variance, previous, price, lam)
            previous = price
        assert oracle.variance(priced) == variance
        assert oracle.volatility(priced) == volatility(variance)
        assert oracle.ltv_factor(priced) == ltv_factor(variance, 2 * WAD, WAD // 2)
        assert WAD // 2 <= oracle.ltv_factor(priced) <= WAD


# --- ltv factor ---------------------------------------------------------------------------------------------------


def test_ltv_factor__k_zero__is_one_whatever_the_volatility(oracle, owner, priced, post):
    oracle.poke(priced, sender=owner)
    post(500)
    oracle.poke(priced, sender=owner)
    assert oracle.volatility(priced) > 0
    assert oracle.ltv_factor(priced) == WAD


def test_ltv_factor__large_volatility__clamps_to_min_factor(oracle, owner, priced, post):
    oracle.set_volatility_params(priced, WAD // 2, 10 * WAD, 7 * WAD // 10, sender=owner)
    oracle.poke(priced, sender=owner)
    post(1_000)  # -50%: variance 0.125, volatility 35%, k·vol = 3.5
    oracle.poke(priced, sender=owner)
    assert oracle.ltv_factor(priced) == 7 * WAD // 10


def test_ltv_factor__moderate_volatility__is_one_minus_k_vol(oracle, owner, priced, post):
    oracle.set_volatility_params(priced, WAD // 2, WAD, WAD // 2, sender=owner)
    oracle.poke(priced, sender=owner)
    post(2_100)  # +5%: variance 0.00125, volatility 3.54%
    oracle.poke(priced, sender=owner)
    variance = oracle.variance(priced)
    assert variance == 125 * 10**13
    assert oracle.ltv_factor(priced) == WAD - volatility(variance) == ltv_factor(variance, WAD, WAD // 2)
    assert 96 * WAD // 100 < oracle.ltv_factor(priced) < 97 * WAD // 100


def test_ltv_factor__cut_past_the_floor__returns_the_floor(oracle, owner, priced, post):
    # +100%: r = 1, variance = (1 - 0.5)·1 = 0.5, volatility = sqrt(0.5); k chosen so k·vol lands at or past 0.5
    oracle.set_volatility_params(priced, WAD // 2, WAD, WAD // 2, sender=owner)
    oracle.poke(priced, sender=owner)
    post(4_000)
    oracle.poke(priced, sender=owner)
    assert oracle.variance(priced) == WAD // 2
    assert oracle.ltv_factor(priced) == WAD // 2  # cut ceil(0.7071) >= 0.5


# --- below the quorum ----------------------------------------------------------------------------------------


@pytest.fixture
def three_feeds(oracle, owner, asset, project):
    """`asset` behind three 8-decimal feeds at $2,000 (quorum two), breaker on at 10% / 1 hour and anchored."""
    feeds = [
        project.MockAggregator.deploy(FEED_DECIMALS, "ETH / USD", 2_000 * 10**FEED_DECIMALS, sender=owner)
        for _ in range(3)
    ]
    oracle.set_feeds(asset, feeds, 3_600, 2 * WAD // 100, sender=owner)
    oracle.set_breaker(asset, TOLERANCE, DELAY, sender=owner)
    oracle.poke(asset, sender=owner)
    return feeds


def test_breaker__below_the_quorum__pauses_nothing_and_pokes_revert_like_price(
    oracle, owner, asset, three_feeds, chain
):
    status = oracle.breaker_status(asset)
    chain.pending_timestamp += 3_601
    # only the third feed posts, at a jump that would trip the breaker if the lone source were trusted
    three_feeds[2].update_answer(1_000 * 10**FEED_DECIMALS, sender=owner)

    with ape.reverts("oracle: too few sources"):
        oracle.price(asset)
    # the pause view never reverts (a lens batch over every asset still answers); the liquidation's price read refuses
    assert not oracle.liquidations_paused(asset)
    with ape.reverts("oracle: too few sources"):
        oracle.poke(asset, sender=owner)
    assert oracle.breaker_status(asset) == status
