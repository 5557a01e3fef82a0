"""End-to-end smoke of the vault's main paths; the exhaustive suite is test_vault.py."""

WAD = 10**18


def test_vault__deposit_borrow_repay_redeem__round_trip(vault, lens, base_token, weth, lender, borrower, fund, chain):
    unit = 10 ** base_token.decimals()
    fund(base_token, lender, 100_000 * unit, vault)
    vault.deposit(100_000 * unit, lender, sender=lender)
    assert vault.totalAssets() == 100_000 * unit

    fund(weth, borrower, 10 * WAD, vault)
    vault.add_collateral(weth, 10 * WAD, borrower, sender=borrower)
    vault.borrow(10_000 * unit, borrower, sender=borrower)
    health = lens.account_health(borrower)
    assert health.collateral_value == 20_000 * WAD
    assert health.debt_value == 10_000 * WAD
    assert health.health == 17_000 * WAD // 10_000
    assert not health.liquidatable

    chain.pending_timestamp += 365 * 86400
    chain.mine()
    debt = vault.debt_of(borrower)
    assert debt > 10_000 * unit
    # a margin: the repayment lands a block (maybe a second of interest) after the read
    fund(base_token, borrower, debt + debt // 1_000, vault)
    vault.repay(2**256 - 1, borrower, sender=borrower)
    assert vault.debt_of(borrower) == 0
    vault.remove_collateral(weth, 2**256 - 1, borrower, sender=borrower)
    assert weth.balanceOf(borrower) == 10 * WAD
    shares = vault.balanceOf(lender)
    assert vault.maxRedeem(lender) == shares
    vault.redeem(shares, lender, lender, sender=lender)
    assert base_token.balanceOf(lender) > 100_000 * unit
    # the reserves stay behind as insurance; the virtual share keeps at most a unit of rounding
    assert 0 <= base_token.balanceOf(vault) - vault.reserves() <= 1
    assert vault.reserves() > 0
