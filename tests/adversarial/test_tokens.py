"""Hostile tokens and share-price attacks: fee-on-transfer tokens are refused everywhere they could be pulled, and
the ERC-4626 first-depositor inflation attack costs the attacker what it donates."""

from __future__ import annotations

import pytest

from tests.adversarial.conftest import MAX_UINT, WAD, revert_checker
from tests.utils.fast_chain import calldata
from tests.utils.rates import deploy_rate_model

# ------------------------------------------------------------------------------------------------ fee on transfer


@pytest.fixture(scope="module")
def fee_market(project, owner, lender, borrower, bidder):
    """A vault and a queue whose base asset burns 1% of every transfer, and a fee token listed as collateral."""
    fee_base = project.MockFeeToken.deploy(6, sender=owner)
    fee_collateral = project.MockFeeToken.deploy(18, sender=owner)
    normal_base = project.MockERC20.deploy("USD", "USD", 6, sender=owner)
    oracle = project.PriceOracle.deploy(sender=owner)
    for token, price in ((fee_base, 10**8), (fee_collateral, 2_000 * 10**8), (normal_base, 10**8)):
        feed = project.MockAggregator.deploy(8, "X / USD", price, sender=owner)
        oracle.set_feeds(token, [feed], 86_400, 0, sender=owner)
    fee_vault = project.LendingVault.deploy(
        fee_base, oracle, deploy_rate_model(owner), "fee vault", "feeV", sender=owner
    )
    fee_queue = project.LiquidationQueue.deploy(fee_base, sender=owner)
    fee_queue.set_pool_params(fee_collateral, WAD // 100, 10, 600, 0, sender=owner)
    vault = project.LendingVault.deploy(normal_base, oracle, deploy_rate_model(owner), "vault", "V", sender=owner)
    engine = project.LiquidationEngine.deploy(
        vault, project.LiquidationQueue.deploy(normal_base, sender=owner), sender=owner
    )
    vault.set_engine(engine, sender=owner)
    engine.configure_collateral(fee_collateral, 8 * WAD // 10, 85 * WAD // 100, WAD // 10, sender=owner)
    for account in (lender, borrower, bidder):
        for token in (fee_base, fee_collateral):
            token.mint(account, 10**30, sender=owner)
            for spender in (fee_vault, fee_queue, vault):
                token.approve(spender, MAX_UINT, sender=account)
    return {
        "fee_base": fee_base,
        "fee_collateral": fee_collateral,
        "fee_vault": fee_vault,
        "fee_queue": fee_queue,
        "vault": vault,
    }


@pytest.fixture
def check_fee_market(fast, fee_market, lender, borrower, bidder):
    def read_state():
        holders = [lender, borrower, bidder, fee_market["fee_vault"], fee_market["fee_queue"], fee_market["vault"]]
        calls = [
            (fee_market[t].address, calldata("balanceOf(address)", h.address))
            for t in ("fee_base", "fee_collateral")
            for h in holders
        ]
        calls += [
            (fee_market[v].address, calldata(f)) for v in ("fee_vault", "vault") for f in ("cash()", "totalSupply()")
        ]
        calls += [
            (fee_market["vault"].address, calldata("total_collateral(address)", fee_market["fee_collateral"].address)),
            (fee_market["fee_queue"].address, calldata("next_bid_id()")),
            (
                fee_market["fee_queue"].address,
                calldata("slot_info(address,uint256)", fee_market["fee_collateral"].address, 0),
            ),
        ]
        return tuple(fast.calls(calls))

    return revert_checker(fast, read_state)


def test_deposit__fee_on_transfer_base_asset__reverts_and_changes_nothing(fee_market, check_fee_market, lender):
    check_fee_market("transfers: fee-on-transfer token", lender, fee_market["fee_vault"].deposit, 1_000 * 10**6, lender)


def test_mint__fee_on_transfer_base_asset__reverts_and_changes_nothing(fee_market, check_fee_market, lender):
    check_fee_market("transfers: fee-on-transfer token", lender, fee_market["fee_vault"].mint, 10**12, lender)


def test_add_collateral__fee_on_transfer_collateral__reverts_and_changes_nothing(
    fee_market, check_fee_market, borrower
):
    vault, token = fee_market["vault"], fee_market["fee_collateral"]
    check_fee_market("transfers: fee-on-transfer token", borrower, vault.add_collateral, token, WAD, borrower)


def test_submit_bid__fee_on_transfer_base_asset__reverts_and_changes_nothing(fee_market, check_fee_market, bidder):
    queue, token = fee_market["fee_queue"], fee_market["fee_collateral"]
    check_fee_market("transfers: fee-on-transfer token", bidder, queue.submit_bid, token, 0, 1_000 * 10**6)


# ------------------------------------------------------------------------------------------------ share inflation


@pytest.mark.parametrize("decimals", [6, 8, 18])
def test_first_depositor_inflation_attack__costs_the_attacker_the_donation(
    project, owner, stranger, lender, decimals, capsys
):
    """The attacker deposits one unit into an empty vault, donates a million tokens straight to it, and waits for a
    victim's deposit. Donations are not counted as cash and the shares carry 10**6 virtual units, so the share price
    does not move: the victim's shares are worth its deposit and the attacker loses its donation."""
    unit = 10**decimals
    base = project.MockERC20.deploy("USD", "USD", decimals, sender=owner)
    feed = project.MockAggregator.deploy(8, "USD / USD", 10**8, sender=owner)
    oracle = project.PriceOracle.deploy(sender=owner)
    oracle.set_feeds(base, [feed], 86_400, 0, sender=owner)
    vault = project.LendingVault.deploy(base, oracle, deploy_rate_model(owner), "ALA vault", "alaV", sender=owner)
    attacker, victim = stranger, lender
    start = 2_000_000 * unit
    for account in (attacker, victim):
        base.mint(account, start, sender=owner)
        base.approve(vault, MAX_UINT, sender=account)

    vault.deposit(1, attacker, sender=attacker)
    price_before = vault.convertToAssets(10**12)
    base.transfer(vault, 1_000_000 * unit, sender=attacker)  # the donation
    assert vault.convertToAssets(10**12) == price_before, "a donation moved the share price"
    victim_deposit = 10_000 * unit
    vault.deposit(victim_deposit, victim, sender=victim)
    vault.redeem(vault.balanceOf(attacker), attacker, attacker, sender=attacker)
    vault.redeem(vault.balanceOf(victim), victim, victim, sender=victim)

    attacker_profit = base.balanceOf(attacker) - start
    victim_profit = base.balanceOf(victim) - start
    with capsys.disabled():
        print(
            f"\ninflation attack, {decimals} decimals: attacker deposited 1 unit and donated 1,000,000 tokens;"
            f" victim deposited {victim_deposit / unit:,.0f} tokens. Attacker profit {attacker_profit / unit:+,.6f},"
            f" victim profit {victim_profit / unit:+,.6f} tokens; {base.balanceOf(vault) / unit:,.0f} tokens stuck"
        )
    assert attacker_profit <= -1_000_000 * unit
    assert -1 <= victim_profit <= 0  # the victim loses at most the rounding of one redemption
