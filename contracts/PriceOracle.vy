# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title PriceOracle
@notice Prices in WAD USD per whole token from 1-3 Chainlink AggregatorV3
        feeds per asset. A feed's answer counts only while its round is
        complete, positive and fresh; the fresh answers are combined into
        their median (two answers: their mean, only while they agree).
        Invalid sources are dropped, so one stale, broken or manipulated
        feed among three cannot move or block the price; and an asset with
        fewer valid answers than its quorum `min_sources` (by default a
        majority of its feeds) has no price, so one surviving source cannot
        set it alone.

        Per asset, off until the owner configures it, a circuit breaker pauses
        liquidations (never prices) while a move beyond `tolerance` of the last
        accepted price has not yet persisted for `confirmation_delay`, and an
        EWMA of squared returns estimates the asset's volatility for the
        vault's opening limits. Both advance through the permissionless `poke`.
@license MIT
@custom:contract-name PriceOracle
"""

from interfaces import IPriceOracle

implements: IPriceOracle

from snekmate.auth import ownable

initializes: ownable

from snekmate.auth import ownable_2step

initializes: ownable_2step[ownable := ownable]

from snekmate.utils import math

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
# Assets one `prices` call reads: an account's eight collaterals and the base asset.
MAX_PRICES: constant(uint256) = 9
# Feeds answering with more decimals cannot be scaled up to WAD.
MAX_FEED_DECIMALS: constant(uint8) = 18
# Hard bounds of `max_age`, seconds.
MIN_MAX_AGE: constant(uint256) = 60
MAX_MAX_AGE: constant(uint256) = 3 * 86400
# Hard upper bound of `max_spread`, WAD (20%).
MAX_MAX_SPREAD: constant(uint256) = 2 * 10**17
# Low 160 bits of a packed Source.
ADDRESS_MASK: constant(uint256) = 2**160 - 1
# A packed Source: the feed in bits 0-159, its scale (below 2**60) in bits 160-219.
SCALE_SHIFT: constant(uint256) = 160
SCALE_MASK: constant(uint256) = 2**60 - 1
# The head word of an asset adds, above its first Source: the number of feeds (bits 220-221), `max_age`
# (222-239, at most MAX_MAX_AGE < 2**18), whether the breaker is on (bit 240, tolerance != 0), whether the
# ltv factor can move (bit 241, k != 0: `ltv_factor` then reads the volatility; otherwise it is 1 at no read)
# and the quorum `min_sources` (bits 242-243, 1 to the number of feeds).
COUNT_SHIFT: constant(uint256) = 220
AGE_SHIFT: constant(uint256) = 222
AGE_MASK: constant(uint256) = 2**18 - 1
BREAKER_ON: constant(uint256) = 2**240
VOLATILITY_ON: constant(uint256) = 2**241
QUORUM_SHIFT: constant(uint256) = 242
# (roundId, answer, startedAt, updatedAt, answeredInRound), five ABI words.
ROUND_DATA_SIZE: constant(uint256) = 160
# Hard bounds of a configured breaker `tolerance` (0 turns the breaker off), WAD: 0.5% to 50%.
MIN_TOLERANCE: constant(uint256) = 5 * 10**15
MAX_TOLERANCE: constant(uint256) = 5 * 10**17
# Hard bounds of `confirmation_delay` while the breaker is on, seconds.
MIN_CONFIRMATION_DELAY: constant(uint256) = 60
MAX_CONFIRMATION_DELAY: constant(uint256) = 86400
# Hard bounds of the EWMA decay λ, WAD; an unconfigured asset uses RiskMetrics' daily 0.94.
MIN_LAMBDA: constant(uint256) = 5 * 10**17
MAX_LAMBDA: constant(uint256) = 999 * 10**15
DEFAULT_LAMBDA: constant(uint256) = 94 * 10**16
# Hard upper bound of `k` (ltv_factor = 1 − k·volatility), WAD.
MAX_K: constant(uint256) = 10 * WAD
# Hard lower bound of `min_factor`, WAD: the factor never more than halves max_ltv.
MIN_MIN_FACTOR: constant(uint256) = 5 * 10**17
# Largest return one observation feeds into the variance, WAD (10,000%): bounds r² so a poke can never overflow.
MAX_RETURN: constant(uint256) = 100 * WAD


# Why a source was dropped (the first feed's fault becomes the revert reason when no source is valid), or why an
# asset has no price (unknown, its valid sources disagree, or fewer are valid than its quorum).
flag Fault:
    INCOMPLETE_ROUND
    NON_POSITIVE
    STALE
    CALL_FAILED
    UNKNOWN_ASSET
    DISAGREE
    TOO_FEW_SOURCES


# One feed of an asset, as the hot path uses it; stored packed into one word by `_pack`.
struct Source:
    # the AggregatorV3 feed
    feed: address
    # 10**(18 - feed decimals), below 2**60: multiplies an answer into WAD
    scale: uint256


# The circuit breaker's memory of one asset.
struct Breaker:
    # last accepted price, WAD USD; 0 before the first poke with the breaker on
    accepted: uint256
    # when `accepted` was accepted, unix seconds
    accepted_at: uint256
    # latest price beyond tolerance of `accepted` since the trip, WAD USD; 0 while not tripped
    candidate: uint256
    # when the breaker tripped, unix seconds; 0 while not tripped
    tripped_at: uint256


# The volatility estimate's memory of one asset.
struct Observation:
    # aggregated price of the last observation, WAD USD; 0 before the first
    price: uint256
    # newest feed `updatedAt` behind that price, unix seconds
    updated_at: uint256
    # EWMA of squared returns, WAD (a variance of 1e18 is 100%²)
    variance: uint256


# Asset -> its first feed as a `_pack`ed Source, with the feed count, `max_age` (oldest accepted answer,
# seconds), the breaker and volatility bits and the quorum above it (see COUNT_SHIFT); 0 for an unknown asset. One word, so a price
# with one feed reads one slot, and a liquidation's pause check warms the slot its price read needs.
_head: HashMap[address, uint256]
# Asset -> its second and third feeds, `_pack`ed Sources; read only when the head counts them.
_more: HashMap[address, uint256[MAX_FEEDS - 1]]
# Asset -> largest accepted gap between two answers, WAD fraction of the lower one.
_max_spread: HashMap[address, uint256]
# May confirm a tripped breaker's price early, besides the owner.
guardian: public(address)
# Asset -> largest accepted move from the last accepted price, WAD fraction of it; 0: breaker off.
_tolerance: HashMap[address, uint256]
# Asset -> how long a move beyond tolerance must persist before a poke accepts it, seconds.
_confirmation_delay: HashMap[address, uint256]
# Asset -> breaker state.
_breaker: HashMap[address, Breaker]
# Asset -> last observation and variance.
_observation: HashMap[address, Observation]
# Asset -> EWMA decay and ltv factor parameters, WAD; zero until configured (λ then defaults to 0.94, k to 0).
_volatility_params: HashMap[address, IPriceOracle.VolatilityParams]


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
def prices(assets: DynArray[address, MAX_PRICES]) -> DynArray[uint256, MAX_PRICES]:
    """
    @notice `price` of each of `assets`, in order: one call prices a whole account (reverts as `price` does).
    """
    result: DynArray[uint256, MAX_PRICES] = []
    for asset: address in assets:
        result.append(self._price(asset))
    return result


@external
@view
def try_prices(assets: DynArray[address, MAX_PRICES]) -> DynArray[uint256, MAX_PRICES]:
    """
    @notice `price` of each of `assets`, in order, with 0 where `price` would revert: the non-reverting read of
            the liquidation paths, where an asset that cannot be priced counts as worthless instead of
            blocking the liquidation of another one (a valid price is never 0: answers must be positive).
    """
    result: DynArray[uint256, MAX_PRICES] = []
    for asset: address in assets:
        price: uint256 = 0
        updated_at: uint256 = 0
        fault: Fault = empty(Fault)
        price, updated_at, fault = self._try_aggregate(asset)
        result.append(price)
    return result


@external
@view
def feeds(asset: address) -> DynArray[address, MAX_FEEDS]:
    """
    @notice The feeds of `asset` in configuration order; empty for an unknown asset.
    """
    result: DynArray[address, MAX_FEEDS] = []
    sources: DynArray[uint256, MAX_FEEDS] = self._sources(asset, self._head[asset])
    for word: uint256 in sources:
        result.append(self._unpack(word).feed)
    return result


@external
@view
def max_age(asset: address) -> uint256:
    """
    @notice Oldest answer `asset`'s price accepts, seconds.
    """
    return (self._head[asset] >> AGE_SHIFT) & AGE_MASK


@external
@view
def max_spread(asset: address) -> uint256:
    """
    @notice Largest accepted gap between two answers of `asset`, WAD fraction of the lower one.
    """
    return self._max_spread[asset]


@external
@view
def min_sources(asset: address) -> uint256:
    """
    @notice The quorum of `asset`: fewest fresh, valid answers its price needs (below it `price` reverts
            `oracle: too few sources` and `try_prices` reads 0); 0 for an unknown asset.
    """
    return (self._head[asset] >> QUORUM_SHIFT) & 3


@external
def set_feeds(asset: address, feeds: DynArray[address, MAX_FEEDS], max_age: uint256, max_spread: uint256):
    """
    @notice Configure (or replace) the feeds of `asset`. The new configuration must price
            `asset` at once, so a broken feed cannot be configured. The quorum `min_sources`
            becomes the majority of the new feeds (1 of 1, 2 of 2, 2 of 3), whatever it was:
            a quorum chosen for other feeds says nothing about these, and a count that no
            longer fits must not survive; `set_min_sources` sets another one afterwards.
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

    # A majority of the feeds by default, as the median oracles this follows do: Maker's Median takes a price
    # only with `bar` signed answers, Chainlink's OCR only with more than 2f of 3f+1 observations. With a
    # majority, one source that survives (or is bought) while the others are stale cannot set the price alone.
    quorum: uint256 = len(sources) // 2 + 1
    # dev: the breaker and volatility bits belong to their setters; replacing the feeds keeps them
    head: uint256 = sources[0] | (len(sources) << COUNT_SHIFT) | (max_age << AGE_SHIFT) | (quorum << QUORUM_SHIFT)
    old: uint256 = self._head[asset]
    if old == 0 and self._volatility_params[asset].k != 0:
        # dev: an asset listed again after `remove_asset` keeps the volatility parameters it had
        old = VOLATILITY_ON
    self._head[asset] = head | (old & (BREAKER_ON | VOLATILITY_ON))
    for i: uint256 in range(MAX_FEEDS - 1):
        word: uint256 = 0
        if i + 1 < len(sources):
            word = sources[i + 1]
        self._more[asset][i] = word
    self._max_spread[asset] = max_spread
    # dev: reverts with the feeds' fault when the new configuration cannot price `asset` now
    self._price(asset)
    log IPriceOracle.FeedsSet(asset=asset, feeds=feeds, max_age=max_age, max_spread=max_spread)
    log IPriceOracle.MinSourcesSet(asset=asset, min_sources=quorum)


@external
def set_min_sources(asset: address, min_sources: uint256):
    """
    @notice Owner: the quorum of `asset`, the fewest fresh, valid answers its price needs. Like
            `set_feeds`, the new quorum must price `asset` at once: raising it while a feed is
            down would make the asset unreadable (worthless on the liquidation paths) in the
            block of the change.
    @param min_sources Within [1, number of feeds of `asset`].
    """
    ownable._check_owner()
    head: uint256 = self._head[asset]
    assert head != 0, "oracle: unknown asset"
    assert min_sources >= 1 and min_sources <= (head >> COUNT_SHIFT) & 3, "oracle: min_sources out of bounds"
    self._head[asset] = (head & ~(3 << QUORUM_SHIFT)) | (min_sources << QUORUM_SHIFT)
    # dev: reverts with the feeds' fault (`oracle: too few sources`, ...) when the quorum cannot be met now
    self._price(asset)
    log IPriceOracle.MinSourcesSet(asset=asset, min_sources=min_sources)


@external
def remove_asset(asset: address):
    """
    @notice Forget the feeds of `asset`; `price(asset)` reverts afterwards.
    """
    ownable._check_owner()
    assert self._head[asset] != 0, "oracle: unknown asset"
    self._head[asset] = 0
    self._more[asset] = empty(uint256[MAX_FEEDS - 1])
    self._max_spread[asset] = 0
    self._tolerance[asset] = 0
    self._confirmation_delay[asset] = 0
    self._breaker[asset] = empty(Breaker)
    self._observation[asset] = empty(Observation)
    self._volatility_params[asset] = empty(IPriceOracle.VolatilityParams)
    log IPriceOracle.AssetRemoved(asset=asset)


@external
def poke(asset: address) -> uint256:
    """
    @notice Permissionless: read `asset`'s aggregated price, feed it to the volatility
            estimate (when its newest feed answer is newer than the last one seen) and,
            while the breaker is on, to the circuit breaker. Returns the aggregated price.
    @dev The breaker rule, against the last accepted price A and `tolerance` t
         (a price p is "within" when |p − A| <= t·A, t·A rounded down):
         - no accepted price yet: p is accepted;
         - p within: the anchor follows (A <- p) and a trip, if any, is cleared as a blip;
         - p beyond, not tripped: the breaker trips (candidate p, tripped_at now) and
           liquidations in `asset` pause;
         - p beyond, tripped, now >= tripped_at + confirmation_delay: the move has persisted,
           p (the current price, not the older candidate) is accepted and the breaker resets;
         - p beyond, tripped, earlier: the candidate follows p, the clock does not restart.
         "Persisted" means every poke over the delay saw the price beyond tolerance of A (any
         poke inside tolerance clears the trip), in the spirit of Maker's OSM delay and
         Liquity's previous-price deviation check. Confirming against A rather than "within
         tolerance of the candidate" is deliberate: in a crash that keeps falling the price
         never settles near any candidate, and pausing liquidations for the whole crash is
         the failure a breaker must not cause. The anchor following in-band moves makes the
         breaker a jump detector between pokes: a keeper pokes on every feed update.
         A poke reverts as `price` does (`oracle: too few sources` below the quorum): neither
         the breaker nor the volatility estimate learns from a price the oracle would not serve.
    """
    price: uint256 = 0
    updated_at: uint256 = 0
    price, updated_at = self._aggregate(asset)
    self._observe(asset, price, updated_at)
    tolerance: uint256 = self._tolerance[asset]
    if tolerance != 0:
        self._check_breaker(asset, price, tolerance)
    return price


@external
def confirm_price(asset: address):
    """
    @notice Owner or guardian: accept `asset`'s current aggregated price while its breaker is
            tripped, before the confirmation delay has run out, and resume liquidations.
    """
    assert msg.sender == ownable.owner or msg.sender == self.guardian, "oracle: not owner or guardian"
    breaker: Breaker = self._breaker[asset]
    assert self._tolerance[asset] != 0 and breaker.candidate != 0, "oracle: breaker not tripped"
    price: uint256 = 0
    updated_at: uint256 = 0
    price, updated_at = self._aggregate(asset)
    self._observe(asset, price, updated_at)
    self._breaker[asset] = Breaker(accepted=price, accepted_at=block.timestamp, candidate=0, tripped_at=0)
    log IPriceOracle.PriceConfirmed(asset=asset, previous=breaker.accepted, price=price, sender=msg.sender, override=True)


@external
@view
def breaker_status(asset: address) -> IPriceOracle.BreakerStatus:
    """
    @notice The breaker of `asset`; `tripped` is false whenever the breaker is off.
    """
    breaker: Breaker = self._breaker[asset]
    tripped: bool = self._tolerance[asset] != 0 and breaker.candidate != 0
    return IPriceOracle.BreakerStatus(
        tripped=tripped,
        last_accepted=breaker.accepted,
        accepted_at=breaker.accepted_at,
        candidate=breaker.candidate,
        tripped_at=breaker.tripped_at,
        confirmable_at=breaker.tripped_at + self._confirmation_delay[asset] if tripped else 0,
    )


@external
@view
def liquidations_paused(asset: address) -> bool:
    """
    @notice Whether liquidations against `asset` are paused: its breaker is on and either
            tripped, or the current price has moved beyond tolerance of the last accepted price
            and no poke has seen it yet (so a liquidation in the same block as a feed jump
            waits too: the pause never depends on someone poking first). Prices are never
            paused; repaying and adding collateral go on. Never reverts: while the price cannot
            be read (stale, too few sources) there is no jump to measure and this reads false;
            the liquidation's own price read then refuses with the oracle's reason, and a batch
            of these (the lens's `liquidatable`) still answers for every other asset.
    """
    # dev: the head word, not `_tolerance`: with the breaker off this is the only slot read, and it is
    # the one the liquidation's price read of `asset` needs next
    if self._head[asset] & BREAKER_ON == 0:
        return False
    tolerance: uint256 = self._tolerance[asset]
    breaker: Breaker = self._breaker[asset]
    if breaker.candidate != 0:
        return True
    if breaker.accepted == 0:
        # dev: no price accepted yet, nothing to measure a jump against: the first poke accepts
        return False
    price: uint256 = 0
    updated_at: uint256 = 0
    fault: Fault = empty(Fault)
    price, updated_at, fault = self._try_aggregate(asset)
    if fault != empty(Fault):
        return False
    return not self._within(breaker.accepted, price, tolerance)


@external
@view
def tolerance(asset: address) -> uint256:
    """
    @notice Largest move from the last accepted price that does not trip `asset`'s breaker,
            WAD fraction of that price; 0 when the breaker is off.
    """
    return self._tolerance[asset]


@external
@view
def confirmation_delay(asset: address) -> uint256:
    """
    @notice How long a move beyond tolerance must persist before a poke accepts it, seconds.
    """
    return self._confirmation_delay[asset]


@external
@view
def variance(asset: address) -> uint256:
    """
    @notice EWMA of `asset`'s squared per-observation returns, WAD (1e18 is 100%²).
    """
    return self._observation[asset].variance


@external
@view
def volatility(asset: address) -> uint256:
    """
    @notice Square root of `variance`, WAD: the per-observation volatility of `asset`'s returns.
    """
    return self._volatility(self._observation[asset].variance)


@external
@view
def ltv_factor(asset: address) -> uint256:
    """
    @notice 1 − k·volatility, clamped to [min_factor, 1], WAD; 1 while k is 0 (the default).
    @dev The vault's opening limits (borrow, remove_collateral) multiply `max_ltv` of `asset`
         by this factor, so new borrowing tightens in volatile markets while the liquidation
         threshold `liq_ltv` stays put. Rounding: volatility rounds up, so the factor errs tight.
         With the default k = 0 it reads only the asset's head word, which pricing the asset warms.
    """
    if self._head[asset] & VOLATILITY_ON == 0:
        return WAD
    k: uint256 = self._volatility_params[asset].k
    cut: uint256 = math._ceil_div(k * self._volatility(self._observation[asset].variance), WAD)
    min_factor: uint256 = self._volatility_params[asset].min_factor
    if cut >= WAD - min_factor:
        return min_factor
    return WAD - cut


@external
@view
def volatility_params(asset: address) -> IPriceOracle.VolatilityParams:
    """
    @notice (λ, k, min_factor) of `asset`, WAD; λ reads 0.94 until configured.
    """
    params: IPriceOracle.VolatilityParams = self._volatility_params[asset]
    if params.ewma_lambda == 0:
        params.ewma_lambda = DEFAULT_LAMBDA
    return params


@external
def set_guardian(guardian: address):
    """
    @notice Owner: the account that may confirm a tripped breaker's price early besides the owner;
            the zero address leaves only the owner.
    """
    ownable._check_owner()
    self.guardian = guardian
    log IPriceOracle.GuardianSet(guardian=guardian)


@external
def set_breaker(asset: address, tolerance: uint256, confirmation_delay: uint256):
    """
    @notice Owner: turn `asset`'s circuit breaker on, retune it, or off (`tolerance` 0).
            Turning it on or off forgets its state (the next poke's price is accepted as the
            first); retuning keeps it (a trip stays tripped). Off resumes liquidations at once.
    @param tolerance WAD fraction of the last accepted price, 0 or within [0.5%, 50%].
    @param confirmation_delay Seconds, within [60 s, 1 day] while on; 0 with `tolerance` 0.
    """
    ownable._check_owner()
    assert self._head[asset] != 0, "oracle: unknown asset"
    if tolerance == 0:
        assert confirmation_delay == 0, "oracle: confirmation_delay out of bounds"
    else:
        assert tolerance >= MIN_TOLERANCE and tolerance <= MAX_TOLERANCE, "oracle: tolerance out of bounds"
        assert (
            confirmation_delay >= MIN_CONFIRMATION_DELAY and confirmation_delay <= MAX_CONFIRMATION_DELAY
        ), "oracle: confirmation_delay out of bounds"
    if tolerance == 0 or self._tolerance[asset] == 0:
        # dev: turned on or off: forget the old state, the next poke's price is accepted as the anchor
        self._breaker[asset] = empty(Breaker)
    self._tolerance[asset] = tolerance
    self._confirmation_delay[asset] = confirmation_delay
    head: uint256 = self._head[asset] & ~BREAKER_ON
    if tolerance != 0:
        head |= BREAKER_ON
    self._head[asset] = head
    log IPriceOracle.BreakerSet(asset=asset, tolerance=tolerance, confirmation_delay=confirmation_delay)


@external
def set_volatility_params(asset: address, ewma_lambda: uint256, k: uint256, min_factor: uint256):
    """
    @notice Owner: the EWMA decay and the ltv factor of `asset`. The estimate so far is kept.
    @param ewma_lambda λ, WAD within [0.5, 0.999].
    @param k WAD within [0, 10]; 0 keeps the factor at 1.
    @param min_factor floor of the factor, WAD within [0.5, 1].
    """
    ownable._check_owner()
    assert self._head[asset] != 0, "oracle: unknown asset"
    assert ewma_lambda >= MIN_LAMBDA and ewma_lambda <= MAX_LAMBDA, "oracle: lambda out of bounds"
    assert k <= MAX_K, "oracle: k out of bounds"
    assert min_factor >= MIN_MIN_FACTOR and min_factor <= WAD, "oracle: min_factor out of bounds"
    self._volatility_params[asset] = IPriceOracle.VolatilityParams(ewma_lambda=ewma_lambda, k=k, min_factor=min_factor)
    head: uint256 = self._head[asset] & ~VOLATILITY_ON
    if k != 0:
        head |= VOLATILITY_ON
    self._head[asset] = head
    log IPriceOracle.VolatilityParamsSet(asset=asset, ewma_lambda=ewma_lambda, k=k, min_factor=min_factor)


@internal
@view
def _price(asset: address) -> uint256:
    price: uint256 = 0
    updated_at: uint256 = 0
    price, updated_at = self._aggregate(asset)
    return price


@internal
@view
def _aggregate(asset: address) -> (uint256, uint256):
    """
    @dev `_try_aggregate`, reverting with the fault's reason when `asset` has no price.
    """
    price: uint256 = 0
    updated_at: uint256 = 0
    fault: Fault = empty(Fault)
    price, updated_at, fault = self._try_aggregate(asset)
    if fault != empty(Fault):
        raise self._reason(fault)
    return price, updated_at


@internal
@view
def _try_aggregate(asset: address) -> (uint256, uint256, Fault):
    """
    @dev Reads every feed once and combines the valid answers; also returns the newest
         `updatedAt` among them (the poke's notion of "a newer price"), or (0, 0, why) when
         there is no price: no valid answer (the first feed's fault), fewer than the quorum in
         the head word, or disagreement. Hot path with one feed: one slot (the head word) plus
         the feed call (its quorum is 1); `max_spread` is read only when two or more answers are
         valid.
    """
    head: uint256 = self._head[asset]
    if head == 0:
        return 0, 0, Fault.UNKNOWN_ASSET
    max_age: uint256 = (head >> AGE_SHIFT) & AGE_MASK
    if (head >> COUNT_SHIFT) & 3 == 1:
        # dev: one feed, the common case: no arrays to build
        answer: uint256 = 0
        updated_at: uint256 = 0
        fault: Fault = empty(Fault)
        answer, updated_at, fault = self._read(self._unpack(head), max_age)
        # dev: a fault comes with a zero answer and time
        return answer, updated_at, fault
    sources: DynArray[uint256, MAX_FEEDS] = self._sources(asset, head)

    prices: DynArray[uint256, MAX_FEEDS] = []
    newest: uint256 = 0
    first_fault: Fault = empty(Fault)
    for word: uint256 in sources:
        answer: uint256 = 0
        updated_at: uint256 = 0
        fault: Fault = empty(Fault)
        answer, updated_at, fault = self._read(self._unpack(word), max_age)
        if fault == empty(Fault):
            prices.append(answer)
            newest = max(newest, updated_at)
        elif first_fault == empty(Fault):
            first_fault = fault

    valid: uint256 = len(prices)
    if valid == 0:
        return 0, 0, first_fault
    if valid < (head >> QUORUM_SHIFT) & 3:
        return 0, 0, Fault.TOO_FEW_SOURCES
    if valid == 1:
        return prices[0], newest, empty(Fault)

    max_spread: uint256 = self._max_spread[asset]
    if valid == 2:
        low: uint256 = min(prices[0], prices[1])
        high: uint256 = max(prices[0], prices[1])
        if not self._agree(low, high, max_spread):
            return 0, 0, Fault.DISAGREE
        # mean rounds down; written as low + half the gap so it cannot overflow
        return low + (high - low) // 2, newest, empty(Fault)

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
    if not (self._agree(low, median, max_spread) or self._agree(median, high, max_spread)):
        return 0, 0, Fault.DISAGREE
    return median, newest, empty(Fault)


@internal
@view
def _read(source: Source, max_age: uint256) -> (uint256, uint256, Fault):
    """
    @dev The answer of one feed in WAD and its `updatedAt`, or why it is not valid. A feed whose call reverts
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
        return 0, 0, Fault.CALL_FAILED

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
        return 0, 0, Fault.INCOMPLETE_ROUND
    if answer <= 0:
        return 0, 0, Fault.NON_POSITIVE
    # dev: a timestamp from the future is as untrustworthy as an old one
    if updated_at > block.timestamp or block.timestamp - updated_at > max_age:
        return 0, 0, Fault.STALE
    return convert(answer, uint256) * source.scale, updated_at, empty(Fault)


@internal
def _check_breaker(asset: address, price: uint256, tolerance: uint256):
    """
    @dev One step of the breaker rule documented on `poke`.
    """
    breaker: Breaker = self._breaker[asset]
    if breaker.accepted == 0:
        self._breaker[asset] = Breaker(accepted=price, accepted_at=block.timestamp, candidate=0, tripped_at=0)
        return

    if self._within(breaker.accepted, price, tolerance):
        if breaker.candidate != 0:
            log IPriceOracle.BreakerCleared(asset=asset, accepted=breaker.accepted, price=price)
            breaker.candidate = 0
            breaker.tripped_at = 0
        elif price == breaker.accepted:
            # dev: the common no-change poke writes nothing
            return
        if price != breaker.accepted:
            breaker.accepted = price
            breaker.accepted_at = block.timestamp
        self._breaker[asset] = breaker
        return

    if breaker.candidate == 0:
        confirmable_at: uint256 = block.timestamp + self._confirmation_delay[asset]
        self._breaker[asset].candidate = price
        self._breaker[asset].tripped_at = block.timestamp
        log IPriceOracle.BreakerTripped(
            asset=asset, accepted=breaker.accepted, candidate=price, confirmable_at=confirmable_at
        )
    elif block.timestamp >= breaker.tripped_at + self._confirmation_delay[asset]:
        self._breaker[asset] = Breaker(accepted=price, accepted_at=block.timestamp, candidate=0, tripped_at=0)
        log IPriceOracle.PriceConfirmed(
            asset=asset, previous=breaker.accepted, price=price, sender=msg.sender, override=False
        )
    elif price != breaker.candidate:
        self._breaker[asset].candidate = price


@internal
def _observe(asset: address, price: uint256, updated_at: uint256):
    """
    @dev Feeds one observation to the variance when its newest feed answer is newer than the last:
         r = |p − p_prev| / p_prev, var <- λ·var + (1 − λ)·r², all in WAD.
    """
    observation: Observation = self._observation[asset]
    if updated_at <= observation.updated_at:
        return
    variance: uint256 = observation.variance
    if observation.price != 0:
        ewma_lambda: uint256 = self._volatility_params[asset].ewma_lambda
        if ewma_lambda == 0:
            ewma_lambda = DEFAULT_LAMBDA
        variance = self._next_variance(variance, observation.price, price, ewma_lambda)
    self._observation[asset] = Observation(price=price, updated_at=updated_at, variance=variance)


@internal
@pure
def _next_variance(variance: uint256, previous: uint256, price: uint256, ewma_lambda: uint256) -> uint256:
    """
    @dev Every step rounds up (the estimate errs high, so the ltv factor errs tight): r is
         ceil(|Δp|·WAD / p_prev) capped at MAX_RETURN, r² is ceil(r·r / WAD), and the
         new variance is ceil((λ·var + (WAD − λ)·r²) / WAD). The sign of the return drops
         out in the square, so only |Δp| is needed.
    """
    move: uint256 = max(price, previous) - min(price, previous)
    ret: uint256 = min(math._mul_div(move, WAD, previous, True), MAX_RETURN)
    # dev: r <= 100 WAD, so r·r <= 1e40 and the products below stay far from overflow
    squared: uint256 = math._ceil_div(ret * ret, WAD)
    return math._ceil_div(ewma_lambda * variance + (WAD - ewma_lambda) * squared, WAD)


@internal
@pure
def _volatility(variance: uint256) -> uint256:
    """
    @dev sqrt(variance) in WAD: ceil(isqrt(variance·WAD)), rounded up like the variance.
    """
    scaled: uint256 = variance * WAD
    root: uint256 = isqrt(scaled)
    if root * root < scaled:
        root += 1
    return root


@internal
@view
def _sources(asset: address, head: uint256) -> DynArray[uint256, MAX_FEEDS]:
    """
    @dev The packed Sources of `asset`, whose head word is `head`, in configuration order (the head's
         first, with its extra bits, which `_unpack` ignores).
    """
    sources: DynArray[uint256, MAX_FEEDS] = []
    if head == 0:
        return sources
    sources.append(head)
    count: uint256 = (head >> COUNT_SHIFT) & 3
    for i: uint256 in range(MAX_FEEDS - 1):
        if i + 1 >= count:
            break
        sources.append(self._more[asset][i])
    return sources


@internal
@pure
def _pack(source: Source) -> uint256:
    """
    @dev One storage word: the feed in the low 160 bits, its scale above.
    """
    return convert(source.feed, uint256) | (source.scale << SCALE_SHIFT)


@internal
@pure
def _unpack(word: uint256) -> Source:
    """
    @dev Inverse of `_pack`.
    """
    return Source(feed=convert(word & ADDRESS_MASK, address), scale=(word >> SCALE_SHIFT) & SCALE_MASK)


@internal
@pure
def _agree(low: uint256, high: uint256, max_spread: uint256) -> bool:
    """
    @dev Whether `high` is within `max_spread` (WAD) of `low`, measured on `low`.
    """
    # tolerance rounds down: a borderline pair is rejected, never accepted
    return high - low <= max_spread * low // WAD


@internal
@pure
def _within(accepted: uint256, price: uint256, tolerance: uint256) -> bool:
    """
    @dev Whether `price` is within `tolerance` (WAD) of `accepted`, measured on `accepted`.
    """
    # tolerance rounds down: a borderline move trips the breaker rather than slipping through
    return max(price, accepted) - min(price, accepted) <= tolerance * accepted // WAD


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
    if fault == Fault.UNKNOWN_ASSET:
        return "oracle: unknown asset"
    if fault == Fault.DISAGREE:
        return "oracle: sources disagree"
    if fault == Fault.TOO_FEW_SOURCES:
        return "oracle: too few sources"
    return "oracle: feed call failed"
