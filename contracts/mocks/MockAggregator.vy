# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title Mock Chainlink AggregatorV3 feed
@notice A Chainlink-compatible price feed for tests, demos and the keeper.
        Every update opens a new round and emits `NewRound` and
        `AnswerUpdated`, as Chainlink's aggregators do. Like Chainlink's OCR
        aggregator, a round is packed into one storage slot (answer as int128,
        `updatedAt` and `startedAt` as uint64), so reading the latest round
        costs what a real feed costs.
@license MIT
@custom:contract-name MockAggregator
"""

event AnswerUpdated:
    current: indexed(int256)
    roundId: indexed(uint256)
    updatedAt: uint256

event NewRound:
    roundId: indexed(uint256)
    startedBy: indexed(address)
    startedAt: uint256

# The round report of Chainlink's OCR2 aggregators (the ones behind mainnet proxies), emitted alone in
# `transmissions_only` mode so that a test can show the keeper reacts to it without `AnswerUpdated`.
event NewTransmission:
    aggregatorRoundId: indexed(uint32)
    answer: int192
    transmitter: address
    observationsTimestamp: uint32
    observations: DynArray[int192, 1]
    observers: Bytes[1]
    juelsPerFeeCoinTokens: int192
    configDigest: bytes32
    epochAndRound: uint40


# Whoever deployed the feed; the only account allowed to post answers.
owner: public(immutable(address))
# Decimals of every answer of this feed.
decimals: public(immutable(uint8))
# Human-readable pair name, for example "ETH / USD".
description: public(immutable(String[64]))
# Chainlink interface version reported by `version()`.
VERSION: constant(uint256) = 4

# Announce rounds with NewTransmission only (OCR2-style) instead of NewRound + AnswerUpdated.
transmissions_only: public(bool)
# Id of the newest round; 0 before the first answer.
latestRound: public(uint80)
# Round id -> packed (answer + 2**127 in 128 bits | updatedAt uint64 << 128 | startedAt uint64 << 192).
_rounds: HashMap[uint80, uint256]

_ANSWER_MASK: constant(uint256) = 2**128 - 1
_TIME_MASK: constant(uint256) = 2**64 - 1
_OFFSET: constant(int256) = 2**127


@deploy
def __init__(decimals_: uint8, description_: String[64], initial_answer: int256):
    assert decimals_ <= 36, "mock: decimals above 36"
    owner = msg.sender
    decimals = decimals_
    description = description_
    if initial_answer != 0:
        self._new_round(initial_answer, block.timestamp, block.timestamp)


@external
@view
def version() -> uint256:
    return VERSION


@external
def update_answer(answer: int256):
    """
    @notice Open a new round with `answer`, stamped with the current block time.
    """
    assert msg.sender == owner, "mock: not owner"
    self._new_round(answer, block.timestamp, block.timestamp)


@external
def set_transmissions_only(on: bool):
    """
    @notice Announce the next rounds with `NewTransmission` alone (OCR2-style), or with the classic events.
    """
    assert msg.sender == owner, "mock: not owner"
    self.transmissions_only = on


@external
def update_round_data(answer: int256, updated_at: uint256, started_at: uint256):
    """
    @notice Open a new round with explicit timestamps, to model stale
            (`updated_at` in the past) and incomplete (`updated_at == 0`) rounds.
    """
    assert msg.sender == owner, "mock: not owner"
    self._new_round(answer, updated_at, started_at)


@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    return self._round(self.latestRound)


@external
@view
def getRoundData(round_id: uint80) -> (uint80, int256, uint256, uint256, uint80):
    assert round_id != 0 and round_id <= self.latestRound, "mock: no such round"
    return self._round(round_id)


@external
@view
def latestAnswer() -> int256:
    answer: int256 = 0
    updated_at: uint256 = 0
    started_at: uint256 = 0
    answer, updated_at, started_at = self._unpack(self._rounds[self.latestRound])
    return answer


@internal
def _new_round(answer: int256, updated_at: uint256, started_at: uint256):
    assert answer >= -(2**127) and answer < 2**127, "mock: answer out of range"
    assert updated_at <= _TIME_MASK and started_at <= _TIME_MASK, "mock: timestamp out of range"
    round_id: uint80 = self.latestRound + 1
    self.latestRound = round_id
    # dev: the answer is stored with a 2**127 offset so that negative answers pack as unsigned
    packed: uint256 = convert(answer + _OFFSET, uint256) | (updated_at << 128) | (started_at << 192)
    self._rounds[round_id] = packed
    if self.transmissions_only:
        log NewTransmission(
            aggregatorRoundId=convert(round_id, uint32),
            answer=convert(answer, int192),
            transmitter=msg.sender,
            observationsTimestamp=convert(updated_at, uint32),
            observations=[convert(answer, int192)],
            observers=b"\x00",
            juelsPerFeeCoinTokens=0,
            configDigest=empty(bytes32),
            epochAndRound=convert(round_id, uint40),
        )
        return
    log NewRound(roundId=convert(round_id, uint256), startedBy=msg.sender, startedAt=started_at)
    log AnswerUpdated(current=answer, roundId=convert(round_id, uint256), updatedAt=updated_at)


@internal
@view
def _unpack(packed: uint256) -> (int256, uint256, uint256):
    answer: int256 = convert(packed & _ANSWER_MASK, int256) - _OFFSET
    return answer, (packed >> 128) & _TIME_MASK, packed >> 192


@internal
@view
def _round(round_id: uint80) -> (uint80, int256, uint256, uint256, uint80):
    answer: int256 = 0
    updated_at: uint256 = 0
    started_at: uint256 = 0
    answer, updated_at, started_at = self._unpack(self._rounds[round_id])
    return round_id, answer, started_at, updated_at, round_id
