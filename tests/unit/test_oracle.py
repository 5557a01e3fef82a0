"""PriceOracle: median of 1-3 Chainlink feeds in WAD, staleness and sanity guards, owner-only configuration."""

import ape
import pytest

WAD = 10**18
MAX_AGE = 3_600
MAX_SPREAD = 2 * 10**16  # 2%
MIN_MAX_AGE = 60
MAX_MAX_AGE = 3 * 86_400
MAX_MAX_SPREAD = 2 * 10**17  # 20%
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
NOT_OWNER = "ownable: caller is not the owner"
TOO_FEW = "oracle: too few sources"


# --- fixtures and helpers ---------------------------------------------------------------------------------------


@pytest.fixture
def oracle(project, owner):
    return project.PriceOracle.deploy(sender=owner)


@pytest.fixture
def asset(project, owner):
    return project.MockERC20.deploy("Wrapped Ether", "WETH", 18, sender=owner)


@pytest.fixture
def other_asset(project, owner):
    return project.MockERC20.deploy("Wrapped Bitcoin", "WBTC", 8, sender=owner)


@pytest.fixture
def make_feed(project, owner):
    """Deploy a feed answering `usd` dollars (int or float) with `decimals` decimals."""

    def make(usd, decimals=8):
        return project.MockAggregator.deploy(decimals, "ETH / USD", to_answer(usd, decimals), sender=owner)

    return make


def to_answer(usd, decimals):
    return int(usd * 10**decimals)


def advance(chain, seconds):
    chain.pending_timestamp += seconds
    chain.mine()


def now(chain):
    return chain.blocks.head.timestamp


def configure(oracle, owner, asset, feeds, max_age=MAX_AGE, max_spread=MAX_SPREAD):
    return oracle.set_feeds(asset, [feed.address for feed in feeds], max_age, max_spread, sender=owner)


def snapshot(oracle, asset):
    return oracle.feeds(asset), oracle.max_age(asset), oracle.max_spread(asset)


# --- deployment and ownership -------------------------------------------------------------------------------------


def test_deploy__sets_owner_and_no_pending_owner(oracle, owner):
    assert oracle.owner() == owner.address
    assert oracle.pending_owner() == ZERO_ADDRESS


def test_transfer_ownership__two_steps__hands_over_the_setters(oracle, owner, guardian, asset, make_feed):
    tx = oracle.transfer_ownership(guardian, sender=owner)
    started = oracle.OwnershipTransferStarted.from_receipt(tx)
    assert len(started) == 1
    assert started[0].previous_owner == owner.address and started[0].new_owner == guardian.address
    assert oracle.owner() == owner.address
    assert oracle.pending_owner() == guardian.address

    tx = oracle.accept_ownership(sender=guardian)
    transferred = oracle.OwnershipTransferred.from_receipt(tx)
    assert len(transferred) == 1
    assert transferred[0].previous_owner == owner.address and transferred[0].new_owner == guardian.address
    assert oracle.owner() == guardian.address
    assert oracle.pending_owner() == ZERO_ADDRESS

    feed = make_feed(2_000)
    with ape.reverts(NOT_OWNER):
        configure(oracle, owner, asset, [feed])
    configure(oracle, guardian, asset, [feed])
    assert oracle.price(asset) == 2_000 * WAD


def test_transfer_ownership__by_non_owner__reverts(oracle, stranger):
    with ape.reverts(NOT_OWNER):
        oracle.transfer_ownership(stranger, sender=stranger)


def test_accept_ownership__by_other_than_pending_owner__reverts(oracle, owner, guardian, stranger):
    oracle.transfer_ownership(guardian, sender=owner)
    with ape.reverts("ownable_2step: caller is not the new owner"):
        oracle.accept_ownership(sender=stranger)
    assert oracle.owner() == owner.address


def test_renounce_ownership__is_not_exposed(oracle):
    assert not hasattr(oracle, "renounce_ownership")


# --- price: one, two and three feeds ------------------------------------------------------------------------------


@pytest.mark.parametrize("decimals", [6, 8, 18])
def test_price__one_feed__scales_answer_to_wad(oracle, owner, asset, make_feed, decimals):
    configure(oracle, owner, asset, [make_feed(1_234.56, decimals)])
    assert oracle.price(asset) == 1_234_560 * 10**15


def test_price__one_feed_of_zero_decimals__scales_answer_to_wad(oracle, owner, asset, make_feed):
    configure(oracle, owner, asset, [make_feed(3, decimals=0)])
    assert oracle.price(asset) == 3 * WAD


def test_price__follows_new_rounds(oracle, owner, asset, make_feed):
    feed = make_feed(2_000)
    configure(oracle, owner, asset, [feed])
    feed.update_answer(to_answer(1_500, 8), sender=owner)
    assert oracle.price(asset) == 1_500 * WAD


def test_price__two_feeds_of_8_and_18_decimals__returns_their_mean(oracle, owner, asset, make_feed):
    configure(oracle, owner, asset, [make_feed(2_000, 8), make_feed(2_010, 18)])
    assert oracle.price(asset) == 2_005 * WAD


def test_price__two_feeds__mean_rounds_down(oracle, owner, asset, project):
    low = project.MockAggregator.deploy(18, "ETH / USD", 2_000 * WAD, sender=owner)
    high = project.MockAggregator.deploy(18, "ETH / USD", 2_000 * WAD + 1, sender=owner)
    configure(oracle, owner, asset, [low, high])
    assert oracle.price(asset) == 2_000 * WAD


def test_price__two_feeds_exactly_max_spread_apart__returns_their_mean(oracle, owner, asset, make_feed):
    # 2% of 2000 is 40
    configure(oracle, owner, asset, [make_feed(2_040), make_feed(2_000)])
    assert oracle.price(asset) == 2_020 * WAD


def test_price__two_sources_disagree__reverts(oracle, owner, asset, make_feed):
    low, high = make_feed(2_000), make_feed(2_000)
    configure(oracle, owner, asset, [low, high])
    high.update_answer(to_answer(2_040.01, 8), sender=owner)
    with ape.reverts("oracle: sources disagree"):
        oracle.price(asset)


@pytest.mark.parametrize("order", [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)])
def test_price__three_feeds__returns_the_median_in_any_order(oracle, owner, asset, make_feed, order):
    answers = [1_990, 2_000, 2_015]
    feeds = [make_feed(answers[i], decimals) for i, decimals in zip(order, (8, 18, 8), strict=True)]
    configure(oracle, owner, asset, feeds)
    assert oracle.price(asset) == 2_000 * WAD


def test_price__three_feeds_with_two_equal_answers__returns_that_answer(oracle, owner, asset, make_feed):
    configure(oracle, owner, asset, [make_feed(2_000), make_feed(2_030), make_feed(2_000)])
    assert oracle.price(asset) == 2_000 * WAD


@pytest.mark.parametrize("manipulated", [0, 1, 2])
@pytest.mark.parametrize("usd", [1, 1_000_000])
def test_price__one_manipulated_source_among_three__is_ignored(oracle, owner, asset, make_feed, manipulated, usd):
    answers = [2_000, 2_010, 1_995]
    feeds = [make_feed(answer) for answer in answers]
    configure(oracle, owner, asset, feeds)
    feeds[manipulated].update_answer(to_answer(usd, 8), sender=owner)
    honest = [answer for i, answer in enumerate(answers) if i != manipulated]
    # the median is always one of the two honest answers, whichever way the third one is pushed
    assert oracle.price(asset) == sorted([*honest, usd])[1] * WAD


def test_price__three_sources_spread_apart__reverts(oracle, owner, asset, make_feed):
    feeds = [make_feed(2_000), make_feed(2_000), make_feed(2_000)]
    configure(oracle, owner, asset, feeds)
    # the median (2000) is 5% from both 1900 and 2100
    feeds[0].update_answer(to_answer(1_900, 8), sender=owner)
    feeds[2].update_answer(to_answer(2_100, 8), sender=owner)
    with ape.reverts("oracle: sources disagree"):
        oracle.price(asset)


@pytest.mark.parametrize("stale", [0, 1, 2])
def test_price__stale_source_among_three__is_dropped(oracle, owner, asset, make_feed, chain, stale):
    answers = [2_000, 2_010, 2_020]
    feeds = [make_feed(usd) for usd in answers]
    configure(oracle, owner, asset, feeds)
    # counted, the stale answer (2019) would move the result: the median would differ from the fresh pair's mean
    feeds[stale].update_round_data(to_answer(2_019, 8), now(chain) - MAX_AGE - 1, 0, sender=owner)
    fresh = [usd for i, usd in enumerate(answers) if i != stale]
    assert oracle.price(asset) == sum(fresh) * WAD // 2


def test_price__stale_source_among_three_and_the_rest_disagree__reverts(oracle, owner, asset, make_feed, chain):
    feeds = [make_feed(2_000), make_feed(2_000), make_feed(2_000)]
    configure(oracle, owner, asset, feeds)
    feeds[0].update_answer(to_answer(1_900, 8), sender=owner)
    feeds[1].update_round_data(to_answer(2_000, 8), now(chain) - MAX_AGE - 1, 0, sender=owner)
    with ape.reverts("oracle: sources disagree"):
        oracle.price(asset)


def test_price__two_of_three_sources_invalid__reverts_too_few_sources(oracle, owner, asset, make_feed):
    feeds = [make_feed(2_000), make_feed(2_000), make_feed(2_000)]
    configure(oracle, owner, asset, feeds)
    feeds[0].update_answer(0, sender=owner)
    feeds[2].update_round_data(to_answer(2_000, 8), 0, 0, sender=owner)
    feeds[1].update_answer(to_answer(2_500, 8), sender=owner)
    # the one source left is below the default quorum of two: it cannot set the price alone
    with ape.reverts(TOO_FEW):
        oracle.price(asset)
    with ape.reverts(TOO_FEW):
        oracle.prices([asset])
    assert oracle.try_prices([asset]) == [0]


def test_price__two_of_three_sources_invalid_with_quorum_one__returns_the_last_one(oracle, owner, asset, make_feed):
    feeds = [make_feed(2_000), make_feed(2_000), make_feed(2_000)]
    configure(oracle, owner, asset, feeds)
    oracle.set_min_sources(asset, 1, sender=owner)
    feeds[0].update_answer(0, sender=owner)
    feeds[2].update_round_data(to_answer(2_000, 8), 0, 0, sender=owner)
    feeds[1].update_answer(to_answer(2_500, 8), sender=owner)
    assert oracle.price(asset) == 2_500 * WAD


def test_price__reverting_source_among_three__is_dropped(oracle, owner, asset, make_feed, project):
    # an ERC-20 has `decimals()` but no `latestRoundData()`: it stands in for a deprecated feed that reverts
    broken = project.MockERC20.deploy("Not a feed", "NAF", 8, sender=owner)
    configure(oracle, owner, asset, [broken, make_feed(2_000), make_feed(2_010)])
    assert oracle.price(asset) == 2_005 * WAD


# --- price: faults ------------------------------------------------------------------------------------------------


def test_price__unknown_asset__reverts(oracle, asset):
    with ape.reverts("oracle: unknown asset"):
        oracle.price(asset)


def test_price__stale_feed__reverts(oracle, owner, asset, make_feed, chain):
    configure(oracle, owner, asset, [make_feed(2_000)])
    advance(chain, MAX_AGE + 1)
    with ape.reverts("oracle: stale price"):
        oracle.price(asset)


def test_price__answer_exactly_max_age_old__is_fresh(oracle, owner, asset, make_feed, chain):
    feed = make_feed(2_000)
    configure(oracle, owner, asset, [feed])
    # Pin each update's block time: calls read the latest block's time, and an unpinned block may land a
    # wall-clock second later than the head the answer's age was computed from.
    mined_at = now(chain) + 1
    chain.pending_timestamp = mined_at
    feed.update_round_data(to_answer(2_100, 8), mined_at - MAX_AGE, 0, sender=owner)
    assert oracle.price(asset) == 2_100 * WAD
    mined_at += 1
    chain.pending_timestamp = mined_at
    feed.update_round_data(to_answer(2_100, 8), mined_at - MAX_AGE - 1, 0, sender=owner)
    with ape.reverts("oracle: stale price"):
        oracle.price(asset)


def test_price__answer_from_the_future__reverts_as_stale(oracle, owner, asset, make_feed, chain):
    feed = make_feed(2_000)
    configure(oracle, owner, asset, [feed])
    feed.update_round_data(to_answer(2_000, 8), now(chain) + 1_000, 0, sender=owner)
    with ape.reverts("oracle: stale price"):
        oracle.price(asset)


@pytest.mark.parametrize("usd", [0, -2_000])
def test_price__non_positive_answer__reverts(oracle, owner, asset, make_feed, usd):
    feed = make_feed(2_000)
    configure(oracle, owner, asset, [feed])
    feed.update_answer(to_answer(usd, 8), sender=owner)
    with ape.reverts("oracle: non-positive price"):
        oracle.price(asset)


def test_price__incomplete_round__reverts(oracle, owner, asset, make_feed):
    feed = make_feed(2_000)
    configure(oracle, owner, asset, [feed])
    feed.update_round_data(to_answer(2_000, 8), 0, 0, sender=owner)
    with ape.reverts("oracle: incomplete round"):
        oracle.price(asset)


@pytest.mark.parametrize(
    "first_fault, reason",
    [
        ("stale", "oracle: stale price"),
        ("negative", "oracle: non-positive price"),
        ("incomplete", "oracle: incomplete round"),
    ],
)
def test_price__every_source_invalid__reverts_with_first_feeds_fault(
    oracle, owner, asset, make_feed, chain, first_fault, reason
):
    feeds = [make_feed(2_000), make_feed(2_000), make_feed(2_000)]
    configure(oracle, owner, asset, feeds)
    faults = {
        "stale": lambda feed: feed.update_round_data(to_answer(2_000, 8), now(chain) - MAX_AGE - 1, 0, sender=owner),
        "negative": lambda feed: feed.update_answer(-1, sender=owner),
        "incomplete": lambda feed: feed.update_round_data(to_answer(2_000, 8), 0, 0, sender=owner),
    }
    others = [name for name in faults if name != first_fault]
    faults[first_fault](feeds[0])
    faults[others[0]](feeds[1])
    faults[others[1]](feeds[2])
    with ape.reverts(reason):
        oracle.price(asset)


# --- set_feeds ----------------------------------------------------------------------------------------------------


def test_set_feeds__stores_configuration_and_emits_feeds_set(oracle, owner, asset, make_feed):
    feeds = [make_feed(2_000, 8), make_feed(2_001, 18)]
    tx = configure(oracle, owner, asset, feeds, max_age=7_200, max_spread=3 * 10**16)
    events = oracle.FeedsSet.from_receipt(tx)
    assert len(events) == 1
    assert events[0].asset == asset.address
    assert list(events[0].feeds) == [feed.address for feed in feeds]
    assert events[0].max_age == 7_200
    assert events[0].max_spread == 3 * 10**16
    assert snapshot(oracle, asset) == ([feed.address for feed in feeds], 7_200, 3 * 10**16)


def test_set_feeds__again__replaces_the_configuration(oracle, owner, asset, make_feed):
    configure(oracle, owner, asset, [make_feed(2_000), make_feed(2_010), make_feed(1_990, 18)])
    single = make_feed(1_500, 18)
    configure(oracle, owner, asset, [single], max_age=MIN_MAX_AGE, max_spread=0)
    assert snapshot(oracle, asset) == ([single.address], MIN_MAX_AGE, 0)
    assert oracle.price(asset) == 1_500 * WAD


def test_set_feeds__assets_are_independent(oracle, owner, asset, other_asset, make_feed):
    configure(oracle, owner, asset, [make_feed(2_000)])
    configure(oracle, owner, other_asset, [make_feed(60_000)], max_age=MAX_MAX_AGE)
    assert oracle.price(asset) == 2_000 * WAD
    assert oracle.price(other_asset) == 60_000 * WAD
    assert oracle.max_age(asset) == MAX_AGE


@pytest.mark.parametrize("max_age", [MIN_MAX_AGE, MAX_MAX_AGE])
def test_set_feeds__max_age_at_its_bounds__is_accepted(oracle, owner, asset, make_feed, max_age):
    configure(oracle, owner, asset, [make_feed(2_000)], max_age=max_age)
    assert oracle.max_age(asset) == max_age


@pytest.mark.parametrize("feed_count, max_spread", [(1, 0), (1, MAX_MAX_SPREAD), (2, 1), (3, MAX_MAX_SPREAD)])
def test_set_feeds__max_spread_at_its_bounds__is_accepted(oracle, owner, asset, make_feed, feed_count, max_spread):
    configure(oracle, owner, asset, [make_feed(2_000) for _ in range(feed_count)], max_spread=max_spread)
    assert oracle.max_spread(asset) == max_spread


@pytest.fixture
def configured(oracle, owner, asset, make_feed):
    """A configuration that every rejected `set_feeds` must leave untouched."""
    configure(oracle, owner, asset, [make_feed(2_000)])
    return snapshot(oracle, asset)


@pytest.mark.parametrize(
    "case, reason",
    [
        ("zero asset", "oracle: zero asset"),
        ("no feeds", "oracle: no feeds"),
        ("zero feed", "oracle: zero feed"),
        ("duplicate feed", "oracle: duplicate feed"),
        ("feed not a contract", "oracle: feed not a contract"),
        ("feed decimals above 18", "oracle: feed decimals above 18"),
        ("max_age below 60 s", "oracle: max_age out of bounds"),
        ("max_age above 3 days", "oracle: max_age out of bounds"),
        ("max_spread above 20%", "oracle: max_spread out of bounds"),
        ("max_spread zero with two feeds", "oracle: max_spread out of bounds"),
        ("stale feed", "oracle: stale price"),
        ("non-positive feed", "oracle: non-positive price"),
        ("incomplete feed", "oracle: incomplete round"),
        ("feeds disagree", "oracle: sources disagree"),
        ("feed without round data", "oracle: feed call failed"),
    ],
)
def test_set_feeds__out_of_bounds__reverts_and_changes_nothing(
    oracle, owner, stranger, asset, make_feed, project, chain, configured, case, reason
):
    good, other = make_feed(2_000), make_feed(2_010)
    target, feeds, max_age, max_spread = asset.address, [good.address], MAX_AGE, MAX_SPREAD
    if case == "zero asset":
        target = ZERO_ADDRESS
    elif case == "no feeds":
        feeds = []
    elif case == "zero feed":
        feeds = [good.address, ZERO_ADDRESS]
    elif case == "duplicate feed":
        feeds = [good.address, other.address, good.address]
    elif case == "feed not a contract":
        feeds = [good.address, stranger.address]
    elif case == "feed decimals above 18":
        feeds = [project.MockAggregator.deploy(19, "ETH / USD", 2_000 * 10**19, sender=owner).address]
    elif case == "max_age below 60 s":
        max_age = MIN_MAX_AGE - 1
    elif case == "max_age above 3 days":
        max_age = MAX_MAX_AGE + 1
    elif case == "max_spread above 20%":
        max_spread = MAX_MAX_SPREAD + 1
    elif case == "max_spread zero with two feeds":
        feeds, max_spread = [good.address, other.address], 0
    elif case == "stale feed":
        good.update_round_data(to_answer(2_000, 8), now(chain) - MAX_AGE - 1, 0, sender=owner)
    elif case == "non-positive feed":
        good.update_answer(0, sender=owner)
    elif case == "incomplete feed":
        good.update_round_data(to_answer(2_000, 8), 0, 0, sender=owner)
    elif case == "feeds disagree":
        feeds = [good.address, make_feed(2_500).address]
    elif case == "feed without round data":
        feeds = [project.MockERC20.deploy("Not a feed", "NAF", 8, sender=owner).address]
    with ape.reverts(reason):
        oracle.set_feeds(target, feeds, max_age, max_spread, sender=owner)
    assert snapshot(oracle, asset) == configured


def test_set_feeds__four_feeds__reverts_and_changes_nothing(oracle, owner, asset, make_feed, configured):
    # the ABI decoder rejects a DynArray longer than 3 before any check runs: no reason string
    with ape.reverts():
        configure(oracle, owner, asset, [make_feed(2_000) for _ in range(4)])
    assert snapshot(oracle, asset) == configured


def test_set_feeds__by_non_owner__reverts(oracle, stranger, asset, make_feed):
    with ape.reverts(NOT_OWNER):
        configure(oracle, stranger, asset, [make_feed(2_000)])
    assert snapshot(oracle, asset) == ([], 0, 0)


# --- remove_asset -------------------------------------------------------------------------------------------------


def test_remove_asset__clears_configuration_and_emits_asset_removed(oracle, owner, asset, make_feed):
    configure(oracle, owner, asset, [make_feed(2_000), make_feed(2_010)])
    tx = oracle.remove_asset(asset, sender=owner)
    events = oracle.AssetRemoved.from_receipt(tx)
    assert len(events) == 1 and events[0].asset == asset.address
    assert snapshot(oracle, asset) == ([], 0, 0)
    with ape.reverts("oracle: unknown asset"):
        oracle.price(asset)


def test_remove_asset__then_set_feeds__configures_afresh(oracle, owner, asset, make_feed):
    configure(oracle, owner, asset, [make_feed(2_000), make_feed(2_010), make_feed(2_020)])
    oracle.remove_asset(asset, sender=owner)
    configure(oracle, owner, asset, [make_feed(1_000)], max_spread=0)
    assert snapshot(oracle, asset)[1:] == (MAX_AGE, 0)
    assert oracle.price(asset) == 1_000 * WAD


def test_remove_asset__unknown_asset__reverts(oracle, owner, asset):
    with ape.reverts("oracle: unknown asset"):
        oracle.remove_asset(asset, sender=owner)


def test_remove_asset__by_non_owner__reverts(oracle, owner, stranger, asset, make_feed):
    configure(oracle, owner, asset, [make_feed(2_000)])
    with ape.reverts(NOT_OWNER):
        oracle.remove_asset(asset, sender=stranger)
    assert oracle.price(asset) == 2_000 * WAD


# --- min_sources: the quorum ----------------------------------------------------------------------------------


@pytest.mark.parametrize("feed_count, majority", [(1, 1), (2, 2), (3, 2)])
def test_set_feeds__sets_the_quorum_to_a_majority_and_emits_min_sources_set(
    oracle, owner, asset, make_feed, feed_count, majority
):
    tx = configure(oracle, owner, asset, [make_feed(2_000) for _ in range(feed_count)])
    events = oracle.MinSourcesSet.from_receipt(tx)
    assert [(e.asset, e.min_sources) for e in events] == [(asset.address, majority)]
    assert oracle.min_sources(asset) == majority


def test_min_sources__unknown_asset__reads_zero(oracle, asset):
    assert oracle.min_sources(asset) == 0


def test_price__two_feeds_one_stale__reverts_too_few_sources(oracle, owner, asset, make_feed, chain):
    feeds = [make_feed(2_000), make_feed(2_010)]
    configure(oracle, owner, asset, feeds)
    feeds[1].update_round_data(to_answer(2_010, 8), now(chain) - MAX_AGE - 1, 0, sender=owner)
    with ape.reverts(TOO_FEW):
        oracle.price(asset)
    assert oracle.try_prices([asset]) == [0]


@pytest.mark.parametrize("stale", [0, 1, 2])
def test_price__quorum_of_three_and_one_source_stale__reverts_too_few_sources(
    oracle, owner, asset, make_feed, chain, stale
):
    feeds = [make_feed(2_000), make_feed(2_010), make_feed(2_020)]
    configure(oracle, owner, asset, feeds)
    oracle.set_min_sources(asset, 3, sender=owner)
    assert oracle.price(asset) == 2_010 * WAD
    feeds[stale].update_round_data(to_answer(2_000, 8), now(chain) - MAX_AGE - 1, 0, sender=owner)
    with ape.reverts(TOO_FEW):
        oracle.price(asset)


def test_price__every_source_invalid__still_reverts_with_the_first_fault_not_too_few(
    oracle, owner, asset, make_feed, chain
):
    feeds = [make_feed(2_000), make_feed(2_000), make_feed(2_000)]
    configure(oracle, owner, asset, feeds)
    for feed in feeds:
        feed.update_round_data(to_answer(2_000, 8), now(chain) - MAX_AGE - 1, 0, sender=owner)
    with ape.reverts("oracle: stale price"):
        oracle.price(asset)


def test_set_min_sources__stores_and_emits(oracle, owner, asset, make_feed):
    configure(oracle, owner, asset, [make_feed(2_000), make_feed(2_010), make_feed(2_020)])
    tx = oracle.set_min_sources(asset, 3, sender=owner)
    events = oracle.MinSourcesSet.from_receipt(tx)
    assert [(e.asset, e.min_sources) for e in events] == [(asset.address, 3)]
    assert oracle.min_sources(asset) == 3
    oracle.set_min_sources(asset, 1, sender=owner)
    assert oracle.min_sources(asset) == 1


def test_set_feeds__again__resets_an_explicit_quorum_to_the_new_majority(oracle, owner, asset, make_feed):
    configure(oracle, owner, asset, [make_feed(2_000), make_feed(2_010), make_feed(2_020)])
    oracle.set_min_sources(asset, 1, sender=owner)
    configure(oracle, owner, asset, [make_feed(2_000), make_feed(2_010), make_feed(2_020)])
    assert oracle.min_sources(asset) == 2
    oracle.set_min_sources(asset, 3, sender=owner)
    configure(oracle, owner, asset, [make_feed(2_000)], max_spread=0)
    assert oracle.min_sources(asset) == 1


@pytest.mark.parametrize(
    "case, reason",
    [
        ("zero", "oracle: min_sources out of bounds"),
        ("above the feed count", "oracle: min_sources out of bounds"),
        ("unknown asset", "oracle: unknown asset"),
        ("unmet now", TOO_FEW),
        ("stranger", NOT_OWNER),
    ],
)
def test_set_min_sources__bad_input__reverts_and_changes_nothing(
    oracle, owner, stranger, asset, other_asset, make_feed, chain, case, reason
):
    feeds = [make_feed(2_000), make_feed(2_010), make_feed(2_020)]
    configure(oracle, owner, asset, feeds)
    target, value, sender = asset, 2, owner
    if case == "zero":
        value = 0
    elif case == "above the feed count":
        value = 4
    elif case == "unknown asset":
        target = other_asset
    elif case == "unmet now":
        feeds[0].update_round_data(to_answer(2_000, 8), now(chain) - MAX_AGE - 1, 0, sender=owner)
        value = 3
    elif case == "stranger":
        value, sender = 3, stranger
    with ape.reverts(reason):
        oracle.set_min_sources(target, value, sender=sender)
    assert oracle.min_sources(asset) == 2
    assert oracle.min_sources(other_asset) == 0


def test_set_min_sources__one_feed__only_one_is_in_bounds(oracle, owner, asset, make_feed):
    configure(oracle, owner, asset, [make_feed(2_000)], max_spread=0)
    with ape.reverts("oracle: min_sources out of bounds"):
        oracle.set_min_sources(asset, 2, sender=owner)
    oracle.set_min_sources(asset, 1, sender=owner)
    assert oracle.min_sources(asset) == 1


def test_remove_asset__clears_the_quorum(oracle, owner, asset, make_feed):
    configure(oracle, owner, asset, [make_feed(2_000), make_feed(2_010), make_feed(2_020)])
    oracle.set_min_sources(asset, 3, sender=owner)
    oracle.remove_asset(asset, sender=owner)
    assert oracle.min_sources(asset) == 0
    configure(oracle, owner, asset, [make_feed(2_000), make_feed(2_010), make_feed(2_020)])
    assert oracle.min_sources(asset) == 2
