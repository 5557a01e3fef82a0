# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title Mock Chainlink aggregator proxy (EACAggregatorProxy)
@notice Stands in front of an aggregator the way Chainlink's mainnet feeds do:
        consumers hold the proxy's address, every read is forwarded to the
        current aggregator, and round ids carry the phase in their high bits
        (`phase_id << 64 | aggregator_round_id`). The owner repoints the proxy
        to a new aggregator (`proposeAggregator` then `confirmAggregator`, or
        `set_aggregator` in one call), which starts a new phase. Like the real
        proxy it emits no price events: whoever watches prices must follow
        `aggregator()` and listen to the aggregator itself.
@license MIT
@custom:contract-name MockAggregatorProxy
"""

interface Aggregator:
    def decimals() -> uint8: view
    def description() -> String[64]: view
    def version() -> uint256: view
    def latestRoundData() -> (uint80, int256, uint256, uint256, uint80): view
    def getRoundData(round_id: uint80) -> (uint80, int256, uint256, uint256, uint80): view
    def latestAnswer() -> int256: view


# Bits of a proxy round id below the phase id (Chainlink's PHASE_OFFSET).
PHASE_OFFSET: constant(uint256) = 64
# Mask of the aggregator round id within a proxy round id.
_ROUND_MASK: constant(uint256) = 2**64 - 1

# Whoever deployed the proxy; the only account allowed to repoint it.
owner: public(immutable(address))
# The current phase; phase ids start at 1 and grow by one per repoint.
phaseId: public(uint16)
# Phase id -> the aggregator that served it.
phaseAggregators: public(HashMap[uint16, address])
# The aggregator `confirmAggregator` may switch to; empty when none is proposed.
proposedAggregator: public(address)


@deploy
def __init__(aggregator_: address):
    assert aggregator_ != empty(address), "proxy: zero aggregator"
    owner = msg.sender
    self._set(aggregator_)


@external
@view
def aggregator() -> address:
    """
    @notice The aggregator every read is forwarded to.
    """
    return self.phaseAggregators[self.phaseId]


@external
@view
def decimals() -> uint8:
    return staticcall Aggregator(self.phaseAggregators[self.phaseId]).decimals()


@external
@view
def description() -> String[64]:
    return staticcall Aggregator(self.phaseAggregators[self.phaseId]).description()


@external
@view
def version() -> uint256:
    return staticcall Aggregator(self.phaseAggregators[self.phaseId]).version()


@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    """
    @notice The current aggregator's latest round, with the phase in the round ids.
    """
    phase: uint16 = self.phaseId
    round_id: uint80 = 0
    answer: int256 = 0
    started_at: uint256 = 0
    updated_at: uint256 = 0
    answered_in: uint80 = 0
    round_id, answer, started_at, updated_at, answered_in = staticcall Aggregator(
        self.phaseAggregators[phase]
    ).latestRoundData()
    return self._phased(phase, round_id), answer, started_at, updated_at, self._phased(phase, answered_in)


@external
@view
def getRoundData(round_id: uint80) -> (uint80, int256, uint256, uint256, uint80):
    """
    @notice A round of any phase: the high bits of `round_id` pick the phase's aggregator.
    @param round_id `phase_id << 64 | aggregator_round_id`.
    """
    phase: uint16 = convert(convert(round_id, uint256) >> PHASE_OFFSET, uint16)
    source: address = self.phaseAggregators[phase]
    assert source != empty(address), "proxy: no such phase"
    inner: uint80 = convert(convert(round_id, uint256) & _ROUND_MASK, uint80)
    rid: uint80 = 0
    answer: int256 = 0
    started_at: uint256 = 0
    updated_at: uint256 = 0
    answered_in: uint80 = 0
    rid, answer, started_at, updated_at, answered_in = staticcall Aggregator(source).getRoundData(inner)
    return self._phased(phase, rid), answer, started_at, updated_at, self._phased(phase, answered_in)


@external
@view
def latestAnswer() -> int256:
    return staticcall Aggregator(self.phaseAggregators[self.phaseId]).latestAnswer()


@external
def proposeAggregator(aggregator_: address):
    """
    @notice Name the aggregator the next `confirmAggregator` switches to.
    """
    assert msg.sender == owner, "proxy: not owner"
    self.proposedAggregator = aggregator_


@external
def confirmAggregator(aggregator_: address):
    """
    @notice Switch to the proposed aggregator; a new phase begins.
    """
    assert msg.sender == owner, "proxy: not owner"
    assert aggregator_ == self.proposedAggregator and aggregator_ != empty(address), "proxy: not proposed"
    self.proposedAggregator = empty(address)
    self._set(aggregator_)


@external
def set_aggregator(aggregator_: address):
    """
    @notice Propose and confirm in one call (tests and demos).
    """
    assert msg.sender == owner, "proxy: not owner"
    assert aggregator_ != empty(address), "proxy: zero aggregator"
    self._set(aggregator_)


@internal
def _set(aggregator_: address):
    # dev: no event, as on mainnet only the proxy's storage says which aggregator serves
    phase: uint16 = self.phaseId + 1
    self.phaseId = phase
    self.phaseAggregators[phase] = aggregator_


@internal
@pure
def _phased(phase: uint16, round_id: uint80) -> uint80:
    return convert((convert(phase, uint256) << PHASE_OFFSET) | convert(round_id, uint256), uint80)
