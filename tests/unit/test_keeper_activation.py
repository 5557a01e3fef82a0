"""Bid activation without a node: each keeper waits its own delay per bid, so keepers on different machines take
turns instead of paying twice for one `activate_bids`."""

from __future__ import annotations

from types import SimpleNamespace

from ala.keeper.strategies.activation import BidActivationStrategy


def _delays(keeper_id: str, stagger: float, bids=range(200)) -> list[float]:
    keeper = SimpleNamespace(keeper_id=keeper_id, config=SimpleNamespace(activation_stagger=stagger))
    strategy = BidActivationStrategy(keeper)
    return [strategy.delay(i) for i in bids]


def test_delay__within_the_stagger_and_its_own_per_keeper():
    one, two = _delays("one", 12.0), _delays("two", 12.0)
    assert all(0 <= d < 12.0 for d in one + two)
    assert one == _delays("one", 12.0)  # deterministic: a restart keeps its turn
    # each keeper goes first on about half the bids, well apart on most of them
    first = sum(a < b for a, b in zip(one, two, strict=True))
    assert 60 < first < 140
    assert sum(abs(a - b) > 2.0 for a, b in zip(one, two, strict=True)) > 100


def test_delay__no_stagger__at_once():
    assert set(_delays("one", 0.0)) == {0.0}
