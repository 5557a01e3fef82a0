"""MockAggregatorProxy behaves like Chainlink's EACAggregatorProxy: it forwards reads, carries the phase in the
high bits of round ids, can be repointed, and emits nothing."""

from __future__ import annotations

import ape
import pytest

PHASE = 2**64


@pytest.fixture
def aggregators(project, owner):
    return [project.MockAggregator.deploy(8, "ETH / USD", 2_000 * 10**8, sender=owner) for _ in range(2)]


@pytest.fixture
def proxy(project, owner, aggregators):
    return project.MockAggregatorProxy.deploy(aggregators[0], sender=owner)


def test_proxy__forwards_reads_with_the_phase_in_round_ids(proxy, aggregators, owner):
    aggregators[0].update_answer(2_100 * 10**8, sender=owner)
    round_id, answer, _, updated_at, answered_in = proxy.latestRoundData()
    assert round_id == 1 * PHASE + 2 and answered_in == round_id
    assert answer == 2_100 * 10**8 and proxy.latestAnswer() == answer
    assert updated_at == aggregators[0].latestRoundData()[3]
    assert proxy.decimals() == 8 and proxy.description() == "ETH / USD"
    assert proxy.aggregator() == aggregators[0].address and proxy.phaseId() == 1


def test_proxy__repointed__new_phase_and_old_rounds_still_readable(proxy, aggregators, owner):
    aggregators[1].update_answer(1_500 * 10**8, sender=owner)
    tx = proxy.set_aggregator(aggregators[1], sender=owner)
    assert list(tx.decode_logs()) == []  # like the mainnet proxy: nothing to listen to
    assert proxy.phaseId() == 2 and proxy.aggregator() == aggregators[1].address
    assert proxy.latestRoundData()[0] == 2 * PHASE + 2
    assert proxy.latestAnswer() == 1_500 * 10**8
    assert proxy.getRoundData(1 * PHASE + 1)[1] == 2_000 * 10**8  # phase 1, round 1
    assert proxy.phaseAggregators(1) == aggregators[0].address


def test_proxy__propose_then_confirm(proxy, aggregators, owner):
    with ape.reverts("proxy: not proposed"):
        proxy.confirmAggregator(aggregators[1], sender=owner)
    proxy.proposeAggregator(aggregators[1], sender=owner)
    proxy.confirmAggregator(aggregators[1], sender=owner)
    assert proxy.aggregator() == aggregators[1].address


def test_proxy__stranger_cannot_repoint(proxy, aggregators, stranger):
    with ape.reverts("proxy: not owner"):
        proxy.set_aggregator(aggregators[1], sender=stranger)
    with ape.reverts("proxy: no such phase"):
        proxy.getRoundData(7 * PHASE + 1)
