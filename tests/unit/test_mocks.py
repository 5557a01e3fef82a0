"""The mocks every other test leans on: an ERC-20 of any decimals and a Chainlink-compatible feed."""

import ape
import pytest


@pytest.mark.parametrize("decimals", [0, 6, 8, 18])
def test_mock_erc20__decimals__are_respected(project, owner, decimals):
    token = project.MockERC20.deploy("Token", "TKN", decimals, sender=owner)
    assert token.decimals() == decimals
    assert token.name() == "Token"
    assert token.symbol() == "TKN"


def test_mock_erc20__decimals_above_18__reverts(project, owner):
    with ape.reverts("mock: decimals above 18"):
        project.MockERC20.deploy("Token", "TKN", 19, sender=owner)


def test_mock_erc20__mint_and_transfer__move_balances(project, owner, lender, borrower):
    token = project.MockERC20.deploy("USD Coin", "USDC", 6, sender=owner)
    token.mint(lender, 5_000_000, sender=borrower)
    assert token.balanceOf(lender) == 5_000_000
    assert token.totalSupply() == 5_000_000
    token.transfer(borrower, 2_000_000, sender=lender)
    assert token.balanceOf(lender) == 3_000_000
    assert token.balanceOf(borrower) == 2_000_000


def test_mock_erc20__mint_to_zero_address__reverts(project, owner):
    token = project.MockERC20.deploy("Token", "TKN", 18, sender=owner)
    with ape.reverts("mock: mint to zero address"):
        token.mint("0x0000000000000000000000000000000000000000", 1, sender=owner)


@pytest.mark.parametrize("decimals", [8, 18])
def test_mock_aggregator__deploy__reports_metadata_and_first_round(project, owner, chain, decimals):
    answer = 2_000 * 10**decimals
    feed = project.MockAggregator.deploy(decimals, "ETH / USD", answer, sender=owner)
    assert feed.decimals() == decimals
    assert feed.description() == "ETH / USD"
    assert feed.version() == 4
    round_id, got, started_at, updated_at, answered_in = feed.latestRoundData()
    assert (round_id, got, answered_in) == (1, answer, 1)
    assert started_at == updated_at == chain.blocks.head.timestamp


def test_mock_aggregator__update_answer__grows_round_id_and_emits_both_events(project, owner, chain):
    feed = project.MockAggregator.deploy(8, "ETH / USD", 2_000 * 10**8, sender=owner)
    tx = feed.update_answer(1_500 * 10**8, sender=owner)
    assert feed.latestRound() == 2
    new_round = feed.NewRound.from_receipt(tx)
    updated = feed.AnswerUpdated.from_receipt(tx)
    assert len(new_round) == 1 and len(updated) == 1
    assert new_round[0].roundId == 2 and new_round[0].startedBy == owner.address
    assert updated[0].current == 1_500 * 10**8
    assert updated[0].roundId == 2
    assert updated[0].updatedAt == chain.blocks.head.timestamp
    # the previous round stays readable
    assert feed.getRoundData(1)[1] == 2_000 * 10**8
    assert feed.getRoundData(2)[1] == 1_500 * 10**8
    assert feed.latestAnswer() == 1_500 * 10**8


def test_mock_aggregator__negative_and_zero_answers__round_trip(project, owner):
    feed = project.MockAggregator.deploy(18, "X / USD", 1, sender=owner)
    feed.update_answer(-(10**30), sender=owner)
    assert feed.latestRoundData()[1] == -(10**30)
    feed.update_answer(0, sender=owner)
    assert feed.latestRoundData()[1] == 0


def test_mock_aggregator__explicit_timestamps__model_stale_and_incomplete_rounds(project, owner):
    feed = project.MockAggregator.deploy(8, "ETH / USD", 1, sender=owner)
    feed.update_round_data(123, 0, 77, sender=owner)
    round_id, answer, started_at, updated_at, _ = feed.latestRoundData()
    assert (round_id, answer, started_at, updated_at) == (2, 123, 77, 0)


def test_mock_aggregator__update_by_stranger__reverts(project, owner, stranger):
    feed = project.MockAggregator.deploy(8, "ETH / USD", 1, sender=owner)
    with ape.reverts("mock: not owner"):
        feed.update_answer(5, sender=stranger)
    assert feed.latestRound() == 1


def test_mock_aggregator__unknown_round__reverts(project, owner):
    feed = project.MockAggregator.deploy(8, "ETH / USD", 1, sender=owner)
    with ape.reverts("mock: no such round"):
        feed.getRoundData(2)
