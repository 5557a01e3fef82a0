"""LendingVault opening limits scaled by the oracle's volatility factor; liquidation thresholds untouched.

The borrower posts 10 WETH at $2,000 ($20,000; max_ltv 80%, liq_ltv 85%). WETH's price then swings through
$2,200, $1,900, $2,100 and back to $2,000, poked after each round, so the oracle's EWMA volatility is non-zero.
"""

import ape
import pytest

WAD = 10**18
USDA = 10**6
LAMBDA = 94 * WAD // 100


@pytest.fixture
def weth(system):
    return system.tokens["WETH"]


@pytest.fixture
def position(actions, lender, borrower):
    actions.lend(lender, 1_000_000)
    actions.post(borrower, "WETH", 10)
    return borrower


@pytest.fixture
def swings(system, actions, keeper, chain, weth):
    """Post the swing series and poke after each round; WETH ends at $2,000."""

    def swing():
        system.oracle.poke(weth, sender=keeper)
        for usd in (2_200, 1_900, 2_100, 2_000):
            chain.pending_timestamp += 60
            actions.set_price("WETH", usd)
            system.oracle.poke(weth, sender=keeper)
        assert system.oracle.price(weth) == 2_000 * WAD

    return swing


def capacity_in_usda(max_ltv: int, factor: int) -> int:
    """Largest debt (base units, $1 each) the opening check admits for 10 WETH at $2,000."""
    value = 10 * 2_000 * WAD
    return value * (max_ltv * factor // WAD) // WAD // 10**12


def test_borrow__k_zero__opening_limit_is_max_ltv_whatever_the_volatility(system, position, swings, weth):
    swings()
    assert system.oracle.volatility(weth) > 0 and system.oracle.ltv_factor(weth) == WAD
    limit = capacity_in_usda(80 * WAD // 100, WAD)
    assert limit == 16_000 * USDA
    with ape.reverts("engine: exceeds max ltv"):
        system.vault.borrow(limit + 1, position, sender=position)
    system.vault.borrow(limit, position, sender=position)


def test_borrow__volatile_collateral__opening_limit_tightens_by_the_factor(system, position, swings, owner, weth):
    system.oracle.set_volatility_params(weth, LAMBDA, 2 * WAD, WAD // 2, sender=owner)
    swings()
    factor = system.oracle.ltv_factor(weth)
    assert WAD // 2 < factor < WAD
    limit = capacity_in_usda(80 * WAD // 100, factor)
    assert limit < 15_000 * USDA  # well inside the unscaled 16,000
    with ape.reverts("engine: exceeds max ltv"):
        system.vault.borrow(limit + 1, position, sender=position)
    system.vault.borrow(limit, position, sender=position)


def test_remove_collateral__volatile_collateral__checked_against_the_tightened_limit(
    system, actions, position, swings, owner, weth
):
    actions.borrow(position, 12_000)  # 60% of $20,000: fine before and after tightening
    system.oracle.set_volatility_params(weth, LAMBDA, 4 * WAD, WAD // 2, sender=owner)
    swings()
    factor = system.oracle.ltv_factor(weth)
    # removing 1 WETH leaves $18,000: 66.7% LTV, inside 80% but outside 80% x factor (factor < 0.83 at k = 4)
    assert 80 * factor // 100 < 6667 * WAD // 10_000
    with ape.reverts("engine: exceeds max ltv"):
        system.vault.remove_collateral(weth, WAD, position, sender=position)
    system.oracle.set_volatility_params(weth, LAMBDA, 0, WAD // 2, sender=owner)  # k back to 0: factor 1
    system.vault.remove_collateral(weth, WAD, position, sender=position)


def test_account_health__volatility_factor__never_moves_the_liquidation_threshold(
    system, actions, position, swings, owner, weth, chain
):
    actions.borrow(position, 16_000)  # at the unscaled max_ltv
    swings()
    before = system.lens.account_health(position)
    chain.pending_timestamp = chain.blocks.head.timestamp  # the same second: no interest accrues in between
    system.oracle.set_volatility_params(weth, LAMBDA, 10 * WAD, WAD // 2, sender=owner)  # k at its bound
    assert system.oracle.ltv_factor(weth) < 6 * WAD // 10
    after = system.lens.account_health(position)
    assert after == before and not after.liquidatable
    assert system.lens.liquidatable([position]) == [False]
    # repaying always works; new borrowing stops until volatility subsides
    actions.mint("USDA", position, 1_000, system.vault)
    system.vault.repay(1_000 * USDA, position, sender=position)
    with ape.reverts("engine: exceeds max ltv"):
        actions.borrow(position, 1)
