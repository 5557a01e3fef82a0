# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title PriceOracle
@notice Prices in WAD USD per whole token from 1-3 Chainlink AggregatorV3
        feeds per asset. A feed's answer counts only while its round is
        complete, positive and fresh; the fresh answers are combined into
        their median (two answers: their mean, only while they agree).
        Invalid sources are dropped, so one stale, broken or manipulated
        feed among three cannot move or block the price.
@license MIT
@custom:contract-name PriceOracle
"""

from interfaces import IPriceOracle

implements: IPriceOracle

from snekmate.auth import ownable

initializes: ownable

from snekmate.auth import ownable_2step

initializes: ownable_2step[ownable := ownable]

exports: (
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
)


interface AggregatorV3:
    def decimals() -> uint8: view


# 1.0 (100%) in 18-decimal fixed point.
WAD: constant(uint256) = 10**18
# Feeds per asset, at most.
MAX_FEEDS: constant(uint256) = 3
# Feeds answering with more decimals cannot be scaled up to WAD.
MAX_FEED_DECIMALS: constant(uint8) = 18
# Hard bounds of `max_age`, seconds.
MIN_MAX_AGE: constant(uint256) = 60
MAX_MAX_AGE: constant(uint256) = 3 * 86400
# Hard upper bound of `max_spread`, WAD (20%).
MAX_MAX_SPREAD: constant(uint256) = 2 * 10**17
# Low 160 bits of a packed Source.
ADDRESS_MASK: constant(uint256) = 2**160 - 1
# (roundId, answer, startedAt, updatedAt, answeredInRound), five ABI words.
ROUND_DATA_SIZE: constant(uint256) = 160


# Why a source was dropped; the first feed's fault becomes the revert reason when no source is valid.
flag Fault:
    INCOMPLETE_ROUND
    NON_POSITIVE
    STALE
    CALL_FAILED


# One feed of an asset, as the hot path uses it; stored packed into one word by `_pack`.
struct Source:
    # the AggregatorV3 feed
    feed: address
    # 10**(18 - feed decimals), below 2**60: multiplies an answer into WAD
    scale: uint256


# Asset -> its feeds in configuration order, each a `_pack`ed Source (one slot per feed); empty for an unknown asset.
_sources: HashMap[address, DynArray[uint256, MAX_FEEDS]]
# Asset -> oldest accepted answer age, seconds.
_max_age: HashMap[address, uint256]
# Asset -> largest accepted gap between two answers, WAD fraction of the lower one.
_max_spread: HashMap[address, uint256]


@deploy
def __init__():
    ownable.__init__()
    ownable_2step.__init__()


@external
@view
def price(asset: address) -> uint256:
    """
    @notice Median of the fresh, valid answers of `asset`'s feeds, in WAD USD per whole token.
            Two sources: their mean, only while they agree within `max_spread`.
    """
    return self._price(asset)


@external
@view
def feeds(asset: address) -> DynArray[address, MAX_FEEDS]:
    """
    @notice The feeds of `asset` in configuration order; empty for an unknown asset.
    """
    result: DynArray[address, MAX_FEEDS] = []
    for word: uint256 in self._sources[asset]:
        result.append(self._unpack(word).feed)
    return result


@external
@view
def max_age(asset: address) -> uint256:
    """
    @notice Oldest answer `asset`'s price accepts, seconds.
    """
    return self._max_age[asset]


@external
@view
def max_spread(asset: address) -> uint256:
    """
    @notice Largest accepted gap between two answers of `asset`, WAD fraction of the lower one.
    """
    return self._max_spread[asset]


@external
def set_feeds(asset: address, feeds: DynArray[address, MAX_FEEDS], max_age: uint256, max_spread: uint256):
    """
    @notice Configure (or replace) the feeds of `asset`. The new configuration must price
            `asset` at once, so a broken feed cannot be configured.
    @param feeds 1-3 distinct AggregatorV3 feeds with at most 18 decimals.
    @param max_age Oldest accepted answer, seconds, within [60 s, 3 days].
    @param max_spread Largest accepted gap between two answers, WAD fraction of the lower one;
           within (0, 20%] with two or more feeds, [0, 20%] with one.
    """
    ownable._check_owner()
    assert asset != empty(address), "oracle: zero asset"
    assert len(feeds) != 0, "oracle: no feeds"
    assert max_age >= MIN_MAX_AGE and max_age <= MAX_MAX_AGE, "oracle: max_age out of bounds"
    assert max_spread <= MAX_MAX_SPREAD, "oracle: max_spread out of bounds"
    assert max_spread != 0 or len(feeds) == 1, "oracle: max_spread out of bounds"

    seen: DynArray[address, MAX_FEEDS] = []
    sources: DynArray[uint256, MAX_FEEDS] = []
    for feed: address in feeds:
        assert feed != empty(address), "oracle: zero feed"
        assert feed not in seen, "oracle: duplicate feed"
        seen.append(feed)
        assert feed.is_contract, "oracle: feed not a contract"
        decimals: uint8 = staticcall AggregatorV3(feed).decimals()
        assert decimals <= MAX_FEED_DECIMALS, "oracle: feed decimals above 18"
        sources.append(self._pack(Source(feed=feed, scale=10 ** convert(MAX_FEED_DECIMALS - decimals, uint256))))

    self._sources[asset] = sources
    self._max_age[asset] = max_age
    self._max_spread[asset] = max_spread
    # dev: reverts with the feeds' fault when the new configuration cannot price `asset` now
    self._price(asset)
    log IPriceOracle.FeedsSet(asset=asset, feeds=feeds, max_age=max_age, max_spread=max_spread)


@external
def remove_asset(asset: address):
    """
    @notice Forget the feeds of `asset`; `price(asset)` reverts afterwards.
    """
    ownable._check_owner()
    assert len(self._sources[asset]) != 0, "oracle: unknown asset"
    self._sources[asset] = []
    self._max_age[asset] = 0
    self._max_spread[asset] = 0
    log IPriceOracle.AssetRemoved(asset=asset)


@internal
@view
def _price(asset: address) -> uint256:
    """
    @dev Reads every feed once and combines the valid answers. Hot path with one feed:
         three slots (array length, packed source, `max_age`) plus the feed call; `max_spread`
         is read only when two or more answers are valid.
         The future circuit breaker and volatility estimate wrap this function.
    """
    sources: DynArray[uint256, MAX_FEEDS] = self._sources[asset]
    assert len(sources) != 0, "oracle: unknown asset"
    max_age: uint256 = self._max_age[asset]

    prices: DynArray[uint256, MAX_FEEDS] = []
    first_fault: Fault = empty(Fault)
    for word: uint256 in sources:
        answer: uint256 = 0
        fault: Fault = empty(Fault)
        answer, fault = self._read(self._unpack(word), max_age)
        if fault == empty(Fault):
            prices.append(answer)
        elif first_fault == empty(Fault):
            first_fault = fault

    valid: uint256 = len(prices)
    if valid == 0:
        raise self._reason(first_fault)
    if valid == 1:
        return prices[0]

    max_spread: uint256 = self._max_spread[asset]
    if valid == 2:
        low: uint256 = min(prices[0], prices[1])
        high: uint256 = max(prices[0], prices[1])
        assert self._agree(low, high, max_spread), "oracle: sources disagree"
        # mean rounds down; written as low + half the gap so it cannot overflow
        return low + (high - low) // 2

    # three valid answers: the median stands while it agrees with at least one other source
    low: uint256 = min(prices[0], prices[1])
    high: uint256 = max(prices[0], prices[1])
    median: uint256 = prices[2]
    if median < low:
        median = low
        low = prices[2]
    elif median > high:
        median = high
        high = prices[2]
    assert self._agree(low, median, max_spread) or self._agree(median, high, max_spread), "oracle: sources disagree"
    return median


@internal
@view
def _read(source: Source, max_age: uint256) -> (uint256, Fault):
    """
    @dev The answer of one feed in WAD, or why it is not valid. A feed whose call reverts
         or returns malformed data is dropped like a stale one, so a deprecated or broken
         feed cannot block its siblings.
    """
    success: bool = False
    response: Bytes[ROUND_DATA_SIZE] = b""
    success, response = raw_call(
        source.feed,
        method_id("latestRoundData()"),
        max_outsize=ROUND_DATA_SIZE,
        is_static_call=True,
        revert_on_failure=False,
    )
    if not success or len(response) != ROUND_DATA_SIZE:
        return 0, Fault.CALL_FAILED

    # dev: uint80 ids decoded as uint256, so out-of-range words cannot make the decoder revert
    round_id: uint256 = 0
    answer: int256 = 0
    started_at: uint256 = 0
    updated_at: uint256 = 0
    answered_in_round: uint256 = 0
    round_id, answer, started_at, updated_at, answered_in_round = abi_decode(
        response, (uint256, int256, uint256, uint256, uint256)
    )

    if updated_at == 0 or answered_in_round < round_id:
        return 0, Fault.INCOMPLETE_ROUND
    if answer <= 0:
        return 0, Fault.NON_POSITIVE
    # dev: a timestamp from the future is as untrustworthy as an old one
    if updated_at > block.timestamp or block.timestamp - updated_at > max_age:
        return 0, Fault.STALE
    return convert(answer, uint256) * source.scale, empty(Fault)


@internal
@pure
def _pack(source: Source) -> uint256:
    """
    @dev One storage word: the feed in the low 160 bits, its scale above.
    """
    return convert(source.feed, uint256) | (source.scale << 160)


@internal
@pure
def _unpack(word: uint256) -> Source:
    """
    @dev Inverse of `_pack`.
    """
    return Source(feed=convert(word & ADDRESS_MASK, address), scale=word >> 160)


@internal
@pure
def _agree(low: uint256, high: uint256, max_spread: uint256) -> bool:
    """
    @dev Whether `high` is within `max_spread` (WAD) of `low`, measured on `low`.
    """
    # tolerance rounds down: a borderline pair is rejected, never accepted
    return high - low <= max_spread * low // WAD


@internal
@view
def _reason(fault: Fault) -> String[32]:
    """
    @dev The revert reason of a dropped source. `@view`, not `@pure`: vyper 0.4.3 rejects
         flag members inside `@pure` functions.
    """
    if fault == Fault.INCOMPLETE_ROUND:
        return "oracle: incomplete round"
    if fault == Fault.NON_POSITIVE:
        return "oracle: non-positive price"
    if fault == Fault.STALE:
        return "oracle: stale price"
    return "oracle: feed call failed"
