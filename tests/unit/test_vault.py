"""LendingVault: ERC-4626 lending, collateral, borrowing, repayment, interest, engine hooks, views and admin.

Every test that moves or values amounts runs with a base asset of 6, 8 and 18 decimals, against collaterals of 18
(WETH), 8 (WBTC) and 6 (GOLD) decimals; guards and admin bounds that cannot depend on decimals (`@decimals_free`) run
with 18. The market is deployed once per base-decimals value (module-scoped fixtures) and ape restores the chain after
every test. Interest accrues every second, so a test that compares a view with a later transaction first freezes the
clock (`freeze`): the transaction then lands at the timestamp the view was read at.
"""

from fractions import Fraction

import ape
import pytest

from tests.utils.rates import deploy_rate_model, rates_of, set_rates
from tests.utils.vault_model import (
    MAX_UINT,
    VIRTUAL_SHARES,
    WAD,
    YEAR,
    Limits,
    Position,
    RateModel,
    ceil_div,
    ceil_frac,
    contract_annual_rate,
    contract_health,
    contract_utilisation,
    exact_assets,
    exact_health,
    exact_shares,
    floor_frac,
)

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
NOT_OWNER = "ownable: caller is not the owner"
NOT_NEW_OWNER = "ownable_2step: caller is not the new owner"
FEED_DECIMALS = 8
DAY = 86_400
PCT = WAD // 100
LIQ_LTV_RAMP = 86_400  # LendingVault.LIQ_LTV_RAMP

LIQUIDITY = 1_000_000  # whole base tokens `lender` lends in the `lent` fixture
WETH_POSTED = 10  # whole WETH ($20,000) `borrower` posts in the `borrowed` fixture
BORROWED = 10_000  # whole base tokens `borrower` borrows in the `borrowed` fixture

# configuration of the conftest market: symbol -> (decimals, USD price, max_ltv, liq_ltv, risk_factor)
MARKET = {
    "weth": (18, 2_000, 80 * PCT, 85 * PCT, 10 * PCT),
    "wbtc": (8, 60_000, 70 * PCT, 78 * PCT, 12 * PCT),
    "gold": (6, 2_500, 65 * PCT, 75 * PCT, 5 * PCT),
}
DEFAULT_LIMITS = (2 * PCT, WAD, 3 * WAD // 2, 10 * WAD, 15 * WAD)
DEFAULT_RATE_MODEL = (0, 4 * PCT, 75 * PCT, 80 * PCT)

# A token whose transfers report failure (return False) while `fail` is set: the vault must not book them.
FALSE_RETURNING_TOKEN = """
# pragma version ~=0.4.3
decimals: public(uint8)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
fail: public(bool)

@deploy
def __init__():
    self.decimals = 18

@external
def set_fail(fail: bool):
    self.fail = fail

@external
def mint(to: address, amount: uint256):
    self.balanceOf[to] += amount

@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    return True

@external
def transfer(to: address, amount: uint256) -> bool:
    if self.fail:
        return False
    self.balanceOf[msg.sender] -= amount
    self.balanceOf[to] += amount
    return True

@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    if self.fail:
        return False
    self.allowance[owner][msg.sender] -= amount
    self.balanceOf[owner] -= amount
    self.balanceOf[to] += amount
    return True
"""

# An oracle that prices everything at zero: the vault must refuse to list what it cannot value.
ZERO_PRICE_ORACLE = """
# pragma version ~=0.4.3
@external
@view
def price(asset: address) -> uint256:
    return 0
"""


# ---------------------------------------------------------------- market (module-scoped: deployed once per decimals)


ALL_DECIMALS = [6, 8, 18]


def decimals_free(test):
    """Mark a test whose outcome cannot depend on the base asset's decimals: it runs with 18 only."""
    test.decimals_free = True
    return test


def pytest_generate_tests(metafunc):
    if "base_decimals" in metafunc.fixturenames:
        values = [18] if getattr(metafunc.function, "decimals_free", False) else ALL_DECIMALS
        ids = [f"base{decimals}" for decimals in values]
        metafunc.parametrize("base_decimals", values, ids=ids, indirect=True, scope="module")


@pytest.fixture(scope="module")
def base_decimals(request):
    return request.param


@pytest.fixture(scope="module")
def unit(base_decimals):
    return 10**base_decimals


@pytest.fixture(scope="module")
def base_token(project, owner, base_decimals):
    return project.MockERC20.deploy("USDA", "USDA", base_decimals, sender=owner)


@pytest.fixture(scope="module")
def weth(project, owner):
    return project.MockERC20.deploy("WETH", "WETH", 18, sender=owner)


@pytest.fixture(scope="module")
def wbtc(project, owner):
    return project.MockERC20.deploy("WBTC", "WBTC", 8, sender=owner)


@pytest.fixture(scope="module")
def gold(project, owner):
    return project.MockERC20.deploy("GOLD", "GOLD", 6, sender=owner)


@pytest.fixture(scope="module")
def collaterals(weth, wbtc, gold):
    return {"weth": weth, "wbtc": wbtc, "gold": gold}


def deploy_feed(project, owner, usd, name="X / USD"):
    return project.MockAggregator.deploy(FEED_DECIMALS, name, round(usd * 10**FEED_DECIMALS), sender=owner)


@pytest.fixture(scope="module")
def feeds(project, owner, base_token, weth, wbtc, gold):
    return {
        base_token.address: deploy_feed(project, owner, 1, "USDA / USD"),
        weth.address: deploy_feed(project, owner, 2_000, "ETH / USD"),
        wbtc.address: deploy_feed(project, owner, 60_000, "BTC / USD"),
        gold.address: deploy_feed(project, owner, 2_500, "XAU / USD"),
    }


@pytest.fixture(scope="module")
def oracle(project, owner, feeds):
    oracle = project.PriceOracle.deploy(sender=owner)
    for asset, feed in feeds.items():
        oracle.set_feeds(asset, [feed], DAY, 0, sender=owner)
    return oracle


@pytest.fixture(scope="module")
def vault(project, owner, base_token, oracle, weth, wbtc, gold):
    """The ledger, wired to a real risk engine (the opening checks are the engine's) that lists the collaterals."""
    vault = project.LendingVault.deploy(
        base_token, oracle, deploy_rate_model(owner), "ALA USDA vault", "alaV", sender=owner
    )
    queue = project.LiquidationQueue.deploy(base_token, sender=owner)
    engine = project.LiquidationEngine.deploy(vault, queue, sender=owner)
    vault.set_engine(engine, sender=owner)
    for symbol, token in (("weth", weth), ("wbtc", wbtc), ("gold", gold)):
        _, _, max_ltv, liq_ltv, risk_factor = MARKET[symbol]
        engine.configure_collateral(token, max_ltv, liq_ltv, risk_factor, sender=owner)
    return vault


@pytest.fixture(scope="module")
def false_token_type(compilers):
    return compilers.compile_source("vyper", FALSE_RETURNING_TOKEN, contractName="FalseReturningToken")


@pytest.fixture(scope="module")
def zero_price_oracle_type(compilers):
    return compilers.compile_source("vyper", ZERO_PRICE_ORACLE, contractName="ZeroPriceOracle")


@pytest.fixture(scope="module", autouse=True)
def market(
    vault,
    unit,
    collaterals,
    false_token_type,
    zero_price_oracle_type,
    chain,
    owner,
    lender,
    other_lender,
    borrower,
    other_borrower,
    bidder,
    guardian,
    stranger,
    engine,
    lens,
    engine_signer,
):
    """Build every module-scoped fixture before the first test: one requested late makes ape rebase the chain."""


# ---------------------------------------------------------------- helpers


def advance(chain, seconds):
    chain.pending_timestamp = chain.blocks.head.timestamp + seconds
    chain.mine()


def freeze(chain):
    """Make the next transaction land at the head's timestamp: views read now see exactly what it will see."""
    chain.pending_timestamp = chain.blocks.head.timestamp


def whole(amount_usd):
    """A WAD USD value."""
    return amount_usd * WAD


@pytest.fixture
def warp(chain, owner, feeds):
    """Move time forward and re-post every feed's answer, so prices stay fresh (the oracle's max age is a day)."""

    def warp(seconds):
        advance(chain, seconds)
        for feed in feeds.values():
            feed.update_answer(feed.latestAnswer(), sender=owner)

    return warp


@pytest.fixture
def lend(vault, base_token, fund):
    def lend(account, amount):
        fund(base_token, account, amount, vault)
        return vault.deposit(amount, account, sender=account)

    return lend


@pytest.fixture
def post(vault, fund):
    def post(account, token, amount):
        fund(token, account, amount, vault)
        return vault.add_collateral(token, amount, account, sender=account)

    return post


@pytest.fixture
def lent(lend, lender, unit):
    lend(lender, LIQUIDITY * unit)
    return LIQUIDITY * unit


@pytest.fixture
def borrowed(lent, post, vault, borrower, weth, unit):
    post(borrower, weth, WETH_POSTED * WAD)
    vault.borrow(BORROWED * unit, borrower, sender=borrower)
    return BORROWED * unit


@pytest.fixture
def no_interest(vault, owner):
    """A zero rate model, for tests of limits rather than interest: time between transactions then changes no debt."""
    set_rates(vault, owner, 0, 0, 0, 80 * PCT)


@pytest.fixture
def borrowed_without_interest(no_interest, lent, post, vault, borrower, weth, unit):
    """`borrowed` under a zero rate model set first: the debt stays exactly BORROWED whatever the clock does."""
    post(borrower, weth, WETH_POSTED * WAD)
    vault.borrow(BORROWED * unit, borrower, sender=borrower)


@pytest.fixture
def accrued(borrowed, vault, owner, warp):
    """30 days of interest on the borrowed position: the share price is no longer a round number."""
    warp(30 * DAY)
    vault.accrue_interest(sender=owner)


@pytest.fixture
def snapshot(chain, vault, base_token, weth, wbtc, gold, lender, borrower):
    """What a call could change for the pool, `lender`, `borrower` and `extra` accounts. Taking it freezes time, so the
    block of a reverted call accrues nothing and the views stay comparable."""

    def snapshot(*extra):
        people = [lender, borrower, *extra]
        state = (
            vault.cash(),
            vault.reserves(),
            vault.totalAssets(),
            vault.totalSupply(),
            vault.total_scaled_debt(),
            vault.last_accrual(),
            [(vault.balanceOf(p), vault.scaled_debt_of(p), base_token.balanceOf(p)) for p in people],
            [(vault.collateral_of(borrower, t), t.balanceOf(vault)) for t in (weth, wbtc, gold)],
            base_token.balanceOf(vault),
        )
        freeze(chain)
        return state

    return snapshot


def remaining_after(vault, account, paid):
    """Debt left after a partial repayment of `paid`, as the vault computes it (scaled debt burned rounds down)."""
    index = vault.borrow_index()
    scaled = vault.scaled_debt_of(account)
    burned = min(paid * WAD // index, scaled)
    return ceil_div((scaled - burned) * index, WAD)


def engine_of(vault):
    """The risk engine the vault asks for its opening checks."""
    return ape.project.LiquidationEngine.at(vault.engine())


def limits_of(vault):
    return Limits(*engine_of(vault).risk_limits())


def position_of(vault, oracle, account, token):
    config = engine_of(vault).collateral_config(token)
    return Position(
        amount=vault.collateral_of(account, token),
        price=oracle.price(token),
        decimals=token.decimals(),
        max_ltv=config.max_ltv,
        liq_ltv=config.liq_ltv,
        risk_factor=config.risk_factor,
    )


def expected_health(vault, oracle, base_token, account, collaterals):
    positions = [position_of(vault, oracle, account, token) for token in collaterals.values()]
    args = (positions, vault.debt_of(account), oracle.price(base_token), base_token.decimals(), limits_of(vault))
    return contract_health(*args), exact_health(*args)


def pool_state(vault):
    return vault.totalAssets(), vault.totalSupply()


# ---------------------------------------------------------------- deployment


def test_deploy__sets_immutables_roles_and_defaults(
    vault, base_token, oracle, owner, engine_signer, weth, wbtc, gold, base_decimals, engine
):
    assert vault.asset() == base_token.address
    assert vault.oracle() == oracle.address
    assert vault.owner() == owner.address
    assert vault.pending_owner() == ZERO_ADDRESS
    assert vault.engine() == engine_signer.address
    assert vault.guardian() == ZERO_ADDRESS
    assert not vault.paused()
    assert vault.name() == "ALA USDA vault"
    assert vault.symbol() == "alaV"
    assert vault.decimals() == base_decimals + 6
    assert vault.reserve_factor() == 10 * PCT
    assert rates_of(vault) == DEFAULT_RATE_MODEL
    assert engine.risk_limits() == DEFAULT_LIMITS
    assert vault.borrow_index() == WAD
    assert vault.totalAssets() == vault.totalSupply() == vault.cash() == vault.reserves() == 0
    assert vault.total_debt() == vault.total_bad_debt() == vault.utilisation() == vault.borrow_rate() == 0
    assert vault.collateral_assets() == [weth.address, wbtc.address, gold.address]
    for symbol, token in (("weth", weth), ("wbtc", wbtc), ("gold", gold)):
        decimals, _, max_ltv, liq_ltv, risk_factor = MARKET[symbol]
        assert engine.collateral_config(token) == (max_ltv, liq_ltv, risk_factor, 10**decimals, 1)


@decimals_free
def test_deploy__zero_asset__reverts(project, owner, oracle):
    with ape.reverts("vault: zero asset"):
        project.LendingVault.deploy(ZERO_ADDRESS, oracle, deploy_rate_model(owner), "v", "v", sender=owner)


@decimals_free
def test_deploy__zero_oracle__reverts(project, owner, base_token):
    with ape.reverts("vault: zero oracle"):
        project.LendingVault.deploy(base_token, ZERO_ADDRESS, deploy_rate_model(owner), "v", "v", sender=owner)


@decimals_free
def test_deploy__asset_with_more_than_18_decimals__reverts(project, owner, oracle):
    token = project.MockFeeToken.deploy(19, sender=owner)
    with ape.reverts("vault: decimals above 18"):
        project.LendingVault.deploy(token, oracle, deploy_rate_model(owner), "v", "v", sender=owner)


@decimals_free
def test_deploy__records_the_deployment_time_as_last_accrual(project, owner, base_token, oracle, chain):
    vault = project.LendingVault.deploy(base_token, oracle, deploy_rate_model(owner), "v", "v", sender=owner)
    assert vault.last_accrual() == chain.blocks.head.timestamp


# ---------------------------------------------------------------- ERC-4626: deposit


def test_deposit__empty_vault__mints_a_million_shares_per_unit_and_emits_deposit(vault, base_token, fund, lender, unit):
    assets = 1_234 * unit + 5
    fund(base_token, lender, assets, vault)
    assert vault.previewDeposit(assets) == assets * VIRTUAL_SHARES
    tx = vault.deposit(assets, lender, sender=lender)
    shares = assets * VIRTUAL_SHARES
    assert tx.return_value == shares
    events = vault.Deposit.from_receipt(tx)
    assert len(events) == 1
    assert (events[0].sender, events[0].owner) == (lender.address, lender.address)
    assert (events[0].assets, events[0].shares) == (assets, shares)
    assert vault.balanceOf(lender) == vault.totalSupply() == shares
    assert vault.totalAssets() == vault.cash() == base_token.balanceOf(vault) == assets
    assert base_token.balanceOf(lender) == 0
    assert vault.convertToAssets(shares) == assets


def test_deposit__for_a_receiver__credits_the_receiver_and_charges_the_sender(
    vault, base_token, fund, lender, other_lender, unit
):
    fund(base_token, lender, 500 * unit, vault)
    tx = vault.deposit(500 * unit, other_lender, sender=lender)
    event = vault.Deposit.from_receipt(tx)[0]
    assert (event.sender, event.owner) == (lender.address, other_lender.address)
    assert vault.balanceOf(other_lender) == 500 * unit * VIRTUAL_SHARES
    assert vault.balanceOf(lender) == 0
    assert base_token.balanceOf(lender) == 0


def test_deposit__after_interest__matches_preview_and_rounds_shares_down(
    accrued, chain, vault, base_token, fund, other_lender, unit
):
    assets = 77_777 * unit + 13
    fund(base_token, other_lender, assets, vault)
    freeze(chain)
    total_assets, supply = pool_state(vault)
    preview = vault.previewDeposit(assets)
    assert preview == floor_frac(exact_shares(assets, total_assets, supply))
    tx = vault.deposit(assets, other_lender, sender=other_lender)
    assert tx.return_value == preview
    assert vault.Deposit.from_receipt(tx)[0].shares == preview
    assert vault.balanceOf(other_lender) == preview
    assert vault.totalAssets() == total_assets + assets


@decimals_free
def test_deposit__zero_amount__reverts(vault, lender):
    with ape.reverts("vault: zero amount"):
        vault.deposit(0, lender, sender=lender)


@decimals_free
def test_deposit__zero_receiver__reverts(vault, base_token, fund, lender, unit, snapshot):
    fund(base_token, lender, unit, vault)
    before = snapshot()
    with ape.reverts("vault: zero receiver"):
        vault.deposit(unit, ZERO_ADDRESS, sender=lender)
    assert snapshot() == before


@decimals_free
def test_deposit__while_paused__reverts(vault, base_token, fund, owner, lender, unit, snapshot):
    fund(base_token, lender, unit, vault)
    vault.set_paused(True, sender=owner)
    before = snapshot()
    with ape.reverts("vault: paused"):
        vault.deposit(unit, lender, sender=lender)
    assert snapshot() == before


@decimals_free
def test_deposit__without_allowance__reverts(vault, base_token, owner, lender, unit, snapshot):
    base_token.mint(lender, unit, sender=owner)
    before = snapshot()
    with ape.reverts("erc20: insufficient allowance"):
        vault.deposit(unit, lender, sender=lender)
    assert snapshot() == before


@pytest.fixture
def inflated(vault, owner, lend, post, lender, borrower, weth, unit, chain):
    """Six years of 1,400% interest at full utilisation: one share unit is worth more than one base unit."""
    set_rates(vault, owner, WAD, 3 * WAD, 10 * WAD, WAD // 2)
    vault.set_reserve_factor(0, sender=owner)
    lend(lender, unit)
    post(borrower, weth, WAD)
    vault.borrow(unit, borrower, sender=borrower)
    for _ in range(6):
        chain.pending_timestamp = chain.blocks.head.timestamp + YEAR
        vault.accrue_interest(sender=owner)
    assert vault.convertToAssets(1) >= 1


def test_deposit__worth_less_than_one_share__reverts(inflated, vault, base_token, fund, other_lender, snapshot):
    fund(base_token, other_lender, 1, vault)
    assert vault.previewDeposit(1) == 0
    before = snapshot(other_lender)
    with ape.reverts("vault: zero shares"):
        vault.deposit(1, other_lender, sender=other_lender)
    assert snapshot(other_lender) == before


def test_deposit__fee_on_transfer_base_asset__reverts(project, owner, oracle, lender):
    fee_token = project.MockFeeToken.deploy(6, sender=owner)
    fee_vault = project.LendingVault.deploy(
        fee_token, oracle, deploy_rate_model(owner), "fee vault", "feeV", sender=owner
    )
    fee_token.mint(lender, 10**9, sender=owner)
    fee_token.approve(fee_vault, 10**9, sender=lender)
    with ape.reverts("transfers: fee-on-transfer token"):
        fee_vault.deposit(10**9, lender, sender=lender)
    with ape.reverts("transfers: fee-on-transfer token"):
        fee_vault.mint(10**12, lender, sender=lender)
    assert fee_vault.totalSupply() == fee_vault.cash() == 0
    assert fee_token.balanceOf(lender) == 10**9


# ---------------------------------------------------------------- ERC-4626: mint


def test_mint__empty_vault__charges_one_unit_per_million_shares(vault, base_token, fund, lender, unit):
    shares = 250 * unit * VIRTUAL_SHARES
    fund(base_token, lender, 250 * unit, vault)
    assert vault.previewMint(shares) == 250 * unit
    tx = vault.mint(shares, lender, sender=lender)
    assert tx.return_value == 250 * unit
    event = vault.Deposit.from_receipt(tx)[0]
    assert (event.sender, event.owner, event.assets, event.shares) == (
        lender.address,
        lender.address,
        250 * unit,
        shares,
    )
    assert vault.balanceOf(lender) == shares
    assert base_token.balanceOf(lender) == 0


def test_mint__after_interest__matches_preview_and_rounds_assets_up(
    accrued, chain, vault, base_token, fund, lender, other_lender, unit
):
    shares = 123_456_789 * unit + 7
    fund(base_token, other_lender, 10**6 * unit, vault)
    freeze(chain)
    total_assets, supply = pool_state(vault)
    preview = vault.previewMint(shares)
    assert preview == ceil_frac(exact_assets(shares, total_assets, supply))
    assert preview > vault.convertToAssets(shares)
    tx = vault.mint(shares, lender, sender=other_lender)
    assert tx.return_value == preview
    event = vault.Deposit.from_receipt(tx)[0]
    assert (event.sender, event.owner, event.assets, event.shares) == (
        other_lender.address,
        lender.address,
        preview,
        shares,
    )
    assert base_token.balanceOf(other_lender) == 10**6 * unit - preview
    assert vault.totalAssets() == total_assets + preview


@decimals_free
def test_mint__zero_amount__reverts(vault, lender):
    with ape.reverts("vault: zero amount"):
        vault.mint(0, lender, sender=lender)


@decimals_free
def test_mint__zero_receiver__reverts(vault, base_token, fund, lender, unit, snapshot):
    fund(base_token, lender, unit, vault)
    before = snapshot()
    with ape.reverts("vault: zero receiver"):
        vault.mint(VIRTUAL_SHARES, ZERO_ADDRESS, sender=lender)
    assert snapshot() == before


@decimals_free
def test_mint__while_paused__reverts(vault, base_token, fund, guardian, owner, lender, unit, snapshot):
    vault.set_guardian(guardian, sender=owner)
    vault.set_paused(True, sender=guardian)
    fund(base_token, lender, unit, vault)
    before = snapshot()
    with ape.reverts("vault: paused"):
        vault.mint(VIRTUAL_SHARES, lender, sender=lender)
    assert snapshot() == before


@decimals_free
def test_mint__without_allowance__reverts(vault, base_token, owner, lender, unit, snapshot):
    base_token.mint(lender, unit, sender=owner)
    before = snapshot()
    with ape.reverts("erc20: insufficient allowance"):
        vault.mint(unit * VIRTUAL_SHARES, lender, sender=lender)
    assert snapshot() == before


def test_mint__share_worth_more_than_a_unit__charges_the_rounded_up_price(
    inflated, chain, vault, base_token, fund, other_lender
):
    fund(base_token, other_lender, 10**30, vault)
    freeze(chain)
    total_assets, supply = pool_state(vault)
    tx = vault.mint(1, other_lender, sender=other_lender)
    assert tx.return_value == ceil_frac(exact_assets(1, total_assets, supply)) >= 2
    assert vault.balanceOf(other_lender) == 1


# ---------------------------------------------------------------- ERC-4626: withdraw


def test_withdraw__after_interest__burns_preview_shares_rounded_up_and_emits_withdraw(
    accrued, chain, vault, base_token, lender, unit
):
    assets = 12_345 * unit + 3
    shares_before = vault.balanceOf(lender)
    freeze(chain)
    total_assets, supply = pool_state(vault)
    preview = vault.previewWithdraw(assets)
    assert preview == ceil_frac(exact_shares(assets, total_assets, supply))
    assert preview > vault.convertToShares(assets)
    tx = vault.withdraw(assets, lender, lender, sender=lender)
    assert tx.return_value == preview
    events = vault.Withdraw.from_receipt(tx)
    assert len(events) == 1
    assert (events[0].sender, events[0].receiver, events[0].owner) == (lender.address,) * 3
    assert (events[0].assets, events[0].shares) == (assets, preview)
    assert vault.balanceOf(lender) == shares_before - preview
    assert base_token.balanceOf(lender) == assets
    assert vault.totalAssets() == total_assets - assets


def test_withdraw__to_a_receiver__pays_the_receiver(lent, vault, base_token, lender, stranger, unit):
    tx = vault.withdraw(100 * unit, stranger, lender, sender=lender)
    event = vault.Withdraw.from_receipt(tx)[0]
    assert (event.sender, event.receiver, event.owner) == (lender.address, stranger.address, lender.address)
    assert base_token.balanceOf(stranger) == 100 * unit
    assert base_token.balanceOf(lender) == 0


def test_withdraw__by_approved_spender__spends_the_allowance(lent, vault, base_token, lender, stranger, unit):
    shares = vault.previewWithdraw(100 * unit)
    vault.approve(stranger, shares + 5, sender=lender)
    tx = vault.withdraw(100 * unit, stranger, lender, sender=stranger)
    event = vault.Withdraw.from_receipt(tx)[0]
    assert (event.sender, event.receiver, event.owner, event.shares) == (
        stranger.address,
        stranger.address,
        lender.address,
        shares,
    )
    assert vault.allowance(lender, stranger) == 5
    assert vault.balanceOf(lender) == (LIQUIDITY - 100) * unit * VIRTUAL_SHARES
    assert base_token.balanceOf(stranger) == 100 * unit


def test_withdraw__by_spender_with_infinite_allowance__keeps_the_allowance(lent, vault, lender, stranger, unit):
    vault.approve(stranger, MAX_UINT, sender=lender)
    vault.withdraw(100 * unit, stranger, lender, sender=stranger)
    assert vault.allowance(lender, stranger) == MAX_UINT


@decimals_free
def test_withdraw__by_spender_without_enough_allowance__reverts(lent, vault, lender, stranger, unit, snapshot):
    vault.approve(stranger, vault.previewWithdraw(100 * unit) - 1, sender=lender)
    before = snapshot(stranger)
    with ape.reverts("erc20: insufficient allowance"):
        vault.withdraw(100 * unit, stranger, lender, sender=stranger)
    assert snapshot(stranger) == before


def test_withdraw__above_own_balance__reverts(lent, lend, vault, lender, other_lender, unit, snapshot):
    lend(other_lender, 1_000 * unit)
    before = snapshot(other_lender)
    with ape.reverts("erc20: burn amount exceeds balance"):
        vault.withdraw(1_000 * unit + 1, other_lender, other_lender, sender=other_lender)
    assert snapshot(other_lender) == before


def test_withdraw__above_available_liquidity__reverts(borrowed, vault, lender, unit, snapshot):
    before = snapshot()
    available = vault.available_liquidity()
    # the cash less the reserves' share of the interest accrued since the borrow
    assert (LIQUIDITY - BORROWED) * unit - unit <= available <= (LIQUIDITY - BORROWED) * unit
    with ape.reverts("vault: insufficient liquidity"):
        vault.withdraw(available + 1, lender, lender, sender=lender)
    assert snapshot() == before


@decimals_free
def test_withdraw__zero_amount__reverts(lent, vault, lender):
    with ape.reverts("vault: zero amount"):
        vault.withdraw(0, lender, lender, sender=lender)


@decimals_free
def test_withdraw__zero_receiver__reverts(lent, vault, lender, unit, snapshot):
    before = snapshot()
    with ape.reverts("vault: zero receiver"):
        vault.withdraw(unit, ZERO_ADDRESS, lender, sender=lender)
    assert snapshot() == before


# ---------------------------------------------------------------- ERC-4626: redeem


def test_redeem__after_interest__pays_preview_assets_rounded_down_and_emits_withdraw(
    accrued, chain, vault, base_token, lender, unit
):
    shares = vault.balanceOf(lender) // 7
    freeze(chain)
    total_assets, supply = pool_state(vault)
    preview = vault.previewRedeem(shares)
    assert preview == floor_frac(exact_assets(shares, total_assets, supply)) == vault.convertToAssets(shares)
    tx = vault.redeem(shares, lender, lender, sender=lender)
    assert tx.return_value == preview
    event = vault.Withdraw.from_receipt(tx)[0]
    assert (event.sender, event.receiver, event.owner) == (lender.address,) * 3
    assert (event.assets, event.shares) == (preview, shares)
    assert base_token.balanceOf(lender) == preview
    assert vault.totalSupply() == supply - shares


def test_redeem__by_approved_spender__spends_the_allowance(lent, vault, base_token, lender, stranger, unit):
    shares = 40 * unit * VIRTUAL_SHARES
    vault.approve(stranger, shares, sender=lender)
    tx = vault.redeem(shares, stranger, lender, sender=stranger)
    event = vault.Withdraw.from_receipt(tx)[0]
    assert (event.sender, event.receiver, event.owner, event.assets) == (
        stranger.address,
        stranger.address,
        lender.address,
        40 * unit,
    )
    assert vault.allowance(lender, stranger) == 0
    assert base_token.balanceOf(stranger) == 40 * unit


@decimals_free
def test_redeem__by_spender_without_allowance__reverts(lent, vault, lender, stranger, unit, snapshot):
    before = snapshot(stranger)
    with ape.reverts("erc20: insufficient allowance"):
        vault.redeem(unit * VIRTUAL_SHARES, stranger, lender, sender=stranger)
    assert snapshot(stranger) == before


def test_redeem__above_own_balance__reverts(lent, lend, vault, other_lender, unit, snapshot):
    lend(other_lender, 1_000 * unit)
    before = snapshot(other_lender)
    with ape.reverts("erc20: burn amount exceeds balance"):
        vault.redeem(vault.balanceOf(other_lender) + 1, other_lender, other_lender, sender=other_lender)
    assert snapshot(other_lender) == before


def test_redeem__above_available_liquidity__reverts(borrowed, vault, lender, snapshot):
    before = snapshot()
    with ape.reverts("vault: insufficient liquidity"):
        vault.redeem(vault.balanceOf(lender), lender, lender, sender=lender)
    assert snapshot() == before


def test_redeem__one_share_worth_nothing__reverts(lent, vault, lender, snapshot):
    assert vault.previewRedeem(1) == 0
    before = snapshot()
    with ape.reverts("vault: zero assets"):
        vault.redeem(1, lender, lender, sender=lender)
    assert snapshot() == before


@decimals_free
def test_redeem__zero_amount__reverts(lent, vault, lender):
    with ape.reverts("vault: zero amount"):
        vault.redeem(0, lender, lender, sender=lender)


@decimals_free
def test_redeem__zero_receiver__reverts(lent, vault, lender, snapshot):
    before = snapshot()
    with ape.reverts("vault: zero receiver"):
        vault.redeem(VIRTUAL_SHARES, ZERO_ADDRESS, lender, sender=lender)
    assert snapshot() == before


def test_shares__transferred__can_be_redeemed_by_the_new_holder(lent, vault, base_token, lender, other_lender, unit):
    shares = 300 * unit * VIRTUAL_SHARES
    vault.transfer(other_lender, shares, sender=lender)
    vault.redeem(shares, other_lender, other_lender, sender=other_lender)
    assert base_token.balanceOf(other_lender) == 300 * unit
    assert vault.balanceOf(lender) == (LIQUIDITY - 300) * unit * VIRTUAL_SHARES


def test_shares__transfer_from__by_an_approved_spender__moves_shares_and_spends_the_allowance(
    lent, vault, lender, other_lender, stranger, unit
):
    shares = 7 * unit * VIRTUAL_SHARES
    vault.approve(stranger, shares + 1, sender=lender)
    vault.transferFrom(lender, other_lender, shares, sender=stranger)
    assert vault.balanceOf(other_lender) == shares
    assert vault.allowance(lender, stranger) == 1
    assert vault.maxWithdraw(other_lender) == 7 * unit
    with ape.reverts("erc20: insufficient allowance"):
        vault.transferFrom(lender, other_lender, 2, sender=stranger)


def test_donation__leaves_the_share_price_and_the_books_alone(
    vault, base_token, fund, lend, owner, other_lender, stranger, unit
):
    # the first-depositor inflation attack: deposit one unit, then donate to inflate the share price
    lend(stranger, 1)
    base_token.mint(stranger, 1_000_000 * unit, sender=owner)
    base_token.transfer(vault, 1_000_000 * unit, sender=stranger)
    assert vault.totalAssets() == vault.cash() == 1
    assert vault.convertToAssets(vault.balanceOf(stranger)) == 1
    # the next lender still gets a fair price
    fund(base_token, other_lender, 5_000 * unit, vault)
    vault.deposit(5_000 * unit, other_lender, sender=other_lender)
    assert vault.convertToAssets(vault.balanceOf(other_lender)) == 5_000 * unit
    assert vault.balanceOf(other_lender) == 5_000 * unit * VIRTUAL_SHARES


# ---------------------------------------------------------------- ERC-4626: max views and conversions


@decimals_free
def test_max_deposit_and_max_mint__unbounded_unless_paused(vault, owner, lender):
    assert vault.maxDeposit(lender) == vault.maxMint(lender) == MAX_UINT
    vault.set_paused(True, sender=owner)
    assert vault.maxDeposit(lender) == vault.maxMint(lender) == 0
    vault.set_paused(False, sender=owner)
    assert vault.maxDeposit(lender) == vault.maxMint(lender) == MAX_UINT


def test_max_withdraw_and_max_redeem__limited_by_balance(lent, lend, vault, lender, other_lender, stranger, unit):
    lend(other_lender, 2_000 * unit)
    assert vault.maxWithdraw(other_lender) == 2_000 * unit
    assert vault.maxRedeem(other_lender) == vault.balanceOf(other_lender) == 2_000 * unit * VIRTUAL_SHARES
    assert vault.maxWithdraw(stranger) == vault.maxRedeem(stranger) == 0


def test_max_withdraw_and_max_redeem__limited_by_liquidity(
    borrowed, chain, vault, base_token, lender, other_lender, unit
):
    vault.transfer(other_lender, vault.balanceOf(lender) // 2, sender=lender)
    vault.redeem(vault.balanceOf(lender), lender, lender, sender=lender)
    freeze(chain)
    available = vault.available_liquidity()
    total_assets, supply = pool_state(vault)
    assert available < vault.convertToAssets(vault.balanceOf(other_lender))
    assert vault.maxWithdraw(other_lender) == available
    assert vault.maxRedeem(other_lender) == floor_frac(exact_shares(available, total_assets, supply))
    vault.withdraw(available, other_lender, other_lender, sender=other_lender)
    assert vault.available_liquidity() == vault.maxWithdraw(other_lender) == vault.maxRedeem(other_lender) == 0


def test_max_withdraw__plus_one__reverts_and_max_withdraw_succeeds(accrued, chain, vault, lender, unit):
    vault.redeem(vault.maxRedeem(lender) // 2, lender, lender, sender=lender)
    freeze(chain)
    maximum = vault.maxWithdraw(lender)
    assert maximum == vault.available_liquidity()
    with ape.reverts("vault: insufficient liquidity"):
        vault.withdraw(maximum + 1, lender, lender, sender=lender)
    freeze(chain)
    vault.withdraw(maximum, lender, lender, sender=lender)
    assert vault.maxWithdraw(lender) == 0


def test_max_redeem__liquidity_bound__redeems_what_the_cash_allows(accrued, chain, vault, lender):
    vault.redeem(vault.balanceOf(lender) // 2, lender, lender, sender=lender)
    freeze(chain)
    maximum = vault.maxRedeem(lender)
    available = vault.available_liquidity()
    assert maximum < vault.balanceOf(lender)
    preview = vault.previewRedeem(maximum)
    tx = vault.redeem(maximum, lender, lender, sender=lender)
    assert tx.return_value == preview <= available
    # what is left is less than one more share unit's worth
    assert vault.available_liquidity() <= vault.convertToAssets(1) + 1


def test_available_liquidity__keeps_the_reserves_in_the_vault(accrued, vault, borrower, unit):
    reserves = vault.reserves()
    assert reserves > 0
    assert vault.available_liquidity() == vault.cash() - reserves
    with ape.reverts("vault: insufficient liquidity"):
        vault.borrow(vault.cash() - reserves + unit, borrower, sender=borrower)


def test_max_withdraw_and_max_redeem__unchanged_while_paused(borrowed, chain, vault, owner, lender):
    freeze(chain)
    before = (vault.maxWithdraw(lender), vault.maxRedeem(lender))
    assert before[0] > 0 and before[1] > 0
    vault.set_paused(True, sender=owner)
    assert (vault.maxWithdraw(lender), vault.maxRedeem(lender)) == before


def test_conversions__round_down_and_previews_round_against_the_caller(accrued, chain, vault, unit):
    freeze(chain)
    total_assets, supply = pool_state(vault)
    for amount in (1, 999, 3 * unit + 1, 123_457 * unit):
        shares = exact_shares(amount, total_assets, supply)
        assets = exact_assets(amount, total_assets, supply)
        assert vault.convertToShares(amount) == vault.previewDeposit(amount) == floor_frac(shares)
        assert vault.previewWithdraw(amount) == ceil_frac(shares)
        assert vault.convertToAssets(amount) == vault.previewRedeem(amount) == floor_frac(assets)
        assert vault.previewMint(amount) == ceil_frac(assets)


# ---------------------------------------------------------------- collateral: add


@pytest.mark.parametrize("symbol", ["weth", "wbtc", "gold"])
def test_add_collateral__moves_tokens_and_emits_collateral_added(symbol, collaterals, vault, post, borrower):
    token = collaterals[symbol]
    amount = 3 * 10 ** token.decimals() + 7
    tx = post(borrower, token, amount)
    events = vault.CollateralAdded.from_receipt(tx)
    assert len(events) == 1
    assert (events[0].account, events[0].asset, events[0].amount, events[0].sender) == (
        borrower.address,
        token.address,
        amount,
        borrower.address,
    )
    assert vault.collateral_of(borrower, token) == vault.total_collateral(token) == amount
    assert token.balanceOf(vault) == amount
    assert token.balanceOf(borrower) == 0


@decimals_free
def test_add_collateral__for_another_account__credits_the_account_and_charges_the_sender(
    vault, fund, wbtc, borrower, stranger
):
    fund(wbtc, stranger, 10**8, vault)
    tx = vault.add_collateral(wbtc, 10**8, borrower, sender=stranger)
    event = vault.CollateralAdded.from_receipt(tx)[0]
    assert (event.account, event.sender) == (borrower.address, stranger.address)
    assert vault.collateral_of(borrower, wbtc) == 10**8
    assert vault.collateral_of(stranger, wbtc) == 0
    assert wbtc.balanceOf(stranger) == 0


@decimals_free
def test_add_collateral__twice_and_by_two_accounts__adds_up(vault, post, gold, borrower, other_borrower):
    post(borrower, gold, 5 * 10**6)
    post(borrower, gold, 2 * 10**6)
    post(other_borrower, gold, 10**6)
    assert vault.collateral_of(borrower, gold) == 7 * 10**6
    assert vault.collateral_of(other_borrower, gold) == 10**6
    assert vault.total_collateral(gold) == gold.balanceOf(vault) == 8 * 10**6


@decimals_free
def test_add_collateral__zero_amount__reverts(vault, weth, borrower):
    with ape.reverts("vault: zero amount"):
        vault.add_collateral(weth, 0, borrower, sender=borrower)


@decimals_free
def test_add_collateral__zero_account__reverts(vault, fund, weth, borrower, snapshot):
    fund(weth, borrower, WAD, vault)
    before = snapshot()
    with ape.reverts("vault: zero account"):
        vault.add_collateral(weth, WAD, ZERO_ADDRESS, sender=borrower)
    assert snapshot() == before


@decimals_free
def test_add_collateral__base_asset__reverts_unknown_collateral(vault, fund, base_token, borrower, unit, snapshot):
    fund(base_token, borrower, unit, vault)
    before = snapshot()
    with ape.reverts("vault: unknown collateral"):
        vault.add_collateral(base_token, unit, borrower, sender=borrower)
    assert snapshot() == before


@decimals_free
def test_add_collateral__unlisted_token__reverts(vault, make_token, fund, borrower):
    token = make_token("UNL", 18)
    fund(token, borrower, WAD, vault)
    with ape.reverts("vault: unknown collateral"):
        vault.add_collateral(token, WAD, borrower, sender=borrower)
    assert token.balanceOf(borrower) == WAD


@decimals_free
def test_add_collateral__fee_on_transfer_token__reverts(project, owner, oracle, vault, borrower, engine):
    fee_token = project.MockFeeToken.deploy(18, sender=owner)
    oracle.set_feeds(fee_token, [deploy_feed(project, owner, 100)], DAY, 0, sender=owner)
    engine.configure_collateral(fee_token, 50 * PCT, 60 * PCT, 10 * PCT, sender=owner)
    fee_token.mint(borrower, WAD, sender=owner)
    fee_token.approve(vault, WAD, sender=borrower)
    with ape.reverts("transfers: fee-on-transfer token"):
        vault.add_collateral(fee_token, WAD, borrower, sender=borrower)
    assert vault.collateral_of(borrower, fee_token) == vault.total_collateral(fee_token) == 0
    assert fee_token.balanceOf(borrower) == WAD


@decimals_free
def test_add_collateral__without_allowance__reverts(vault, weth, owner, borrower, snapshot):
    weth.mint(borrower, WAD, sender=owner)
    before = snapshot()
    with ape.reverts("erc20: insufficient allowance"):
        vault.add_collateral(weth, WAD, borrower, sender=borrower)
    assert snapshot() == before


@pytest.fixture
def false_token(false_token_type, project, owner, oracle, vault, engine):
    """A listed collateral whose transfers can be switched to return False."""
    token = false_token_type.deploy(sender=owner)
    oracle.set_feeds(token, [deploy_feed(project, owner, 10)], DAY, 0, sender=owner)
    engine.configure_collateral(token, 50 * PCT, 60 * PCT, 10 * PCT, sender=owner)
    return token


@decimals_free
def test_add_collateral__token_transfer_returns_false__reverts(false_token, vault, owner, borrower):
    false_token.mint(borrower, WAD, sender=owner)
    false_token.approve(vault, WAD, sender=borrower)
    false_token.set_fail(True, sender=owner)
    with ape.reverts("transfers: transfer failed"):
        vault.add_collateral(false_token, WAD, borrower, sender=borrower)
    assert vault.collateral_of(borrower, false_token) == 0


@decimals_free
def test_remove_collateral__token_transfer_returns_false__reverts(false_token, vault, owner, borrower):
    false_token.mint(borrower, WAD, sender=owner)
    false_token.approve(vault, WAD, sender=borrower)
    vault.add_collateral(false_token, WAD, borrower, sender=borrower)
    false_token.set_fail(True, sender=owner)
    with ape.reverts("transfers: transfer failed"):
        vault.remove_collateral(false_token, WAD, borrower, sender=borrower)
    assert vault.collateral_of(borrower, false_token) == WAD
    assert false_token.balanceOf(vault) == WAD


@decimals_free
def test_add_collateral__while_paused__succeeds(vault, post, owner, weth, borrower):
    vault.set_paused(True, sender=owner)
    post(borrower, weth, WAD)
    assert vault.collateral_of(borrower, weth) == WAD


# ---------------------------------------------------------------- collateral: remove


@pytest.mark.parametrize("symbol", ["weth", "wbtc", "gold"])
def test_remove_collateral__without_debt__returns_tokens_and_emits_collateral_removed(
    symbol, collaterals, vault, post, borrower
):
    token = collaterals[symbol]
    one = 10 ** token.decimals()
    post(borrower, token, 5 * one)
    tx = vault.remove_collateral(token, 2 * one + 1, borrower, sender=borrower)
    events = vault.CollateralRemoved.from_receipt(tx)
    assert len(events) == 1
    assert (events[0].account, events[0].asset, events[0].amount, events[0].receiver) == (
        borrower.address,
        token.address,
        2 * one + 1,
        borrower.address,
    )
    assert vault.collateral_of(borrower, token) == vault.total_collateral(token) == 3 * one - 1
    assert token.balanceOf(borrower) == 2 * one + 1


@decimals_free
def test_remove_collateral__max_uint__removes_everything(vault, post, wbtc, borrower):
    post(borrower, wbtc, 3 * 10**8)
    tx = vault.remove_collateral(wbtc, MAX_UINT, borrower, sender=borrower)
    assert vault.CollateralRemoved.from_receipt(tx)[0].amount == 3 * 10**8
    assert vault.collateral_of(borrower, wbtc) == vault.total_collateral(wbtc) == 0
    assert wbtc.balanceOf(borrower) == 3 * 10**8


@decimals_free
def test_remove_collateral__to_a_receiver__pays_the_receiver(vault, post, gold, borrower, stranger):
    post(borrower, gold, 10**6)
    tx = vault.remove_collateral(gold, 10**6, stranger, sender=borrower)
    assert vault.CollateralRemoved.from_receipt(tx)[0].receiver == stranger.address
    assert gold.balanceOf(stranger) == 10**6
    assert gold.balanceOf(borrower) == 0


def test_remove_collateral__down_to_max_ltv__succeeds_and_one_wei_more_reverts(
    borrowed, chain, vault, weth, borrower, unit, snapshot
):
    freeze(chain)
    debt_value = ceil_div(vault.debt_of(borrower) * WAD, unit)
    # each wei of WETH is worth 2,000 WAD-wei and carries 1,600 of borrowing capacity
    needed = ceil_div(debt_value, 1_600)
    removable = WETH_POSTED * WAD - needed
    before = snapshot()
    with ape.reverts("engine: exceeds max ltv"):
        vault.remove_collateral(weth, removable + 1, borrower, sender=borrower)
    assert snapshot() == before
    freeze(chain)
    vault.remove_collateral(weth, removable, borrower, sender=borrower)
    assert vault.collateral_of(borrower, weth) == needed
    assert weth.balanceOf(borrower) == removable


def test_remove_collateral__above_max_risk_ratio__reverts(borrowed, vault, owner, weth, borrower, snapshot, engine):
    # 10,000 debt: at 10 WETH the risk ratio is (2,000 + 200) / 10,000 = 0.22; at 7 WETH (1,400 + 200) / 4,000 = 0.4
    engine.set_risk_limits(2 * PCT, 30 * PCT, 30 * PCT, 10 * WAD, 15 * WAD, sender=owner)
    before = snapshot()
    with ape.reverts("engine: exceeds max risk ratio"):
        vault.remove_collateral(weth, 3 * WAD, borrower, sender=borrower)
    assert snapshot() == before


def test_remove_collateral__above_max_leverage__reverts(borrowed, vault, owner, weth, borrower, snapshot, engine):
    # 10,000 debt: at 7 WETH leverage is 14,000 / 4,000 = 3.5
    engine.set_risk_limits(2 * PCT, WAD, WAD, 3 * WAD, 15 * WAD, sender=owner)
    before = snapshot()
    with ape.reverts("engine: exceeds max leverage"):
        vault.remove_collateral(weth, 3 * WAD, borrower, sender=borrower)
    assert snapshot() == before


@decimals_free
def test_remove_collateral__more_than_posted__reverts(vault, post, weth, borrower, snapshot):
    post(borrower, weth, WAD)
    before = snapshot()
    with ape.reverts("vault: insufficient collateral"):
        vault.remove_collateral(weth, WAD + 1, borrower, sender=borrower)
    assert snapshot() == before


@decimals_free
def test_remove_collateral__max_uint_with_nothing_posted__reverts(vault, weth, borrower):
    with ape.reverts("vault: insufficient collateral"):
        vault.remove_collateral(weth, MAX_UINT, borrower, sender=borrower)


@decimals_free
def test_remove_collateral__zero_amount__reverts(vault, post, weth, borrower):
    post(borrower, weth, WAD)
    with ape.reverts("vault: zero amount"):
        vault.remove_collateral(weth, 0, borrower, sender=borrower)


@decimals_free
def test_remove_collateral__zero_receiver__reverts(vault, post, weth, borrower, snapshot):
    post(borrower, weth, WAD)
    before = snapshot()
    with ape.reverts("vault: zero receiver"):
        vault.remove_collateral(weth, WAD, ZERO_ADDRESS, sender=borrower)
    assert snapshot() == before


@decimals_free
def test_remove_collateral__unknown_collateral__reverts(vault, base_token, borrower):
    with ape.reverts("vault: unknown collateral"):
        vault.remove_collateral(base_token, 1, borrower, sender=borrower)


@decimals_free
def test_remove_collateral__while_paused__reverts(vault, post, owner, weth, borrower, snapshot):
    post(borrower, weth, WAD)
    vault.set_paused(True, sender=owner)
    before = snapshot()
    with ape.reverts("vault: paused"):
        vault.remove_collateral(weth, WAD, borrower, sender=borrower)
    assert snapshot() == before


# ---------------------------------------------------------------- borrow


def test_borrow__sends_base_records_debt_and_emits_borrowed(lent, vault, post, base_token, weth, borrower, unit):
    post(borrower, weth, WETH_POSTED * WAD)
    amount = 4_321 * unit + 9
    tx = vault.borrow(amount, borrower, sender=borrower)
    events = vault.Borrowed.from_receipt(tx)
    assert len(events) == 1
    assert (events[0].account, events[0].amount, events[0].receiver) == (borrower.address, amount, borrower.address)
    assert base_token.balanceOf(borrower) == amount
    assert vault.debt_of(borrower) == vault.total_debt() == amount
    assert vault.scaled_debt_of(borrower) == vault.total_scaled_debt() == amount  # index is still 1.0
    assert vault.cash() == lent - amount
    assert vault.available_liquidity() == lent - amount
    assert vault.totalAssets() == lent


def test_borrow__to_a_receiver__pays_the_receiver(lent, vault, post, base_token, weth, borrower, stranger, unit):
    post(borrower, weth, WAD)
    tx = vault.borrow(100 * unit, stranger, sender=borrower)
    assert vault.Borrowed.from_receipt(tx)[0].receiver == stranger.address
    assert base_token.balanceOf(stranger) == 100 * unit
    assert vault.debt_of(borrower) == 100 * unit
    assert vault.debt_of(stranger) == 0


def test_borrow__twice__adds_up(borrowed, chain, vault, borrower, unit):
    freeze(chain)
    debt = vault.debt_of(borrower)
    vault.borrow(500 * unit, borrower, sender=borrower)
    assert debt + 500 * unit <= vault.debt_of(borrower) <= debt + 500 * unit + 2


def test_borrow__after_interest__scales_the_debt_by_the_index_rounding_up(
    accrued, chain, vault, post, wbtc, other_borrower, unit
):
    post(other_borrower, wbtc, 10**8)
    amount = 7_777 * unit + 1
    freeze(chain)
    index = vault.borrow_index()
    assert index > WAD
    vault.borrow(amount, other_borrower, sender=other_borrower)
    scaled = ceil_div(amount * WAD, index)
    assert vault.scaled_debt_of(other_borrower) == scaled
    assert vault.debt_of(other_borrower) == ceil_div(scaled * index, WAD)
    assert amount <= vault.debt_of(other_borrower) <= amount + 2


@pytest.mark.parametrize("symbol", ["weth", "wbtc", "gold"])
def test_borrow__exactly_max_ltv__succeeds_and_one_unit_more_reverts(
    symbol, collaterals, lent, vault, post, borrower, unit, snapshot, engine, lens
):
    token = collaterals[symbol]
    decimals, price, max_ltv, _, _ = MARKET[symbol]
    post(borrower, token, 10**decimals)  # one whole token
    capacity = price * max_ltv * unit // WAD  # base units at $1
    before = snapshot()
    with ape.reverts("engine: exceeds max ltv"):
        vault.borrow(capacity + 1, borrower, sender=borrower)
    assert snapshot() == before
    vault.borrow(capacity, borrower, sender=borrower)
    health = lens.account_health(borrower)
    assert health.debt_value == engine.collateral_config(token).max_ltv * price
    # the other two limits are far: the LTV bound binds alone
    assert health.risk_ratio < WAD and health.leverage < 10 * WAD


def test_borrow__above_max_risk_ratio__reverts_with_ltv_and_leverage_in_bounds(
    lent, vault, post, owner, oracle, base_token, weth, borrower, collaterals, unit, snapshot, engine, lens
):
    engine.set_risk_limits(2 * PCT, 50 * PCT, 150 * PCT, 10 * WAD, 15 * WAD, sender=owner)
    post(borrower, weth, WETH_POSTED * WAD)
    # 15,500 against $20,000: LTV 77.5% <= 80%, leverage 4.4 <= 10, risk ratio (2,000 + 310) / 4,500 = 0.513 > 0.5
    positions = [position_of(vault, oracle, borrower, weth)]
    would_be = contract_health(positions, 15_500 * unit, WAD, base_token.decimals(), limits_of(vault))
    assert would_be.debt_value <= 16_000 * WAD and would_be.leverage <= 10 * WAD
    assert would_be.risk_ratio > 50 * PCT
    before = snapshot()
    with ape.reverts("engine: exceeds max risk ratio"):
        vault.borrow(15_500 * unit, borrower, sender=borrower)
    assert snapshot() == before
    vault.borrow(15_000 * unit, borrower, sender=borrower)  # (2,000 + 300) / 5,000 = 0.46
    assert lens.account_health(borrower).risk_ratio == 46 * PCT


def test_borrow__above_max_leverage__reverts_with_ltv_and_risk_ratio_in_bounds(
    lent, vault, post, owner, weth, borrower, unit, snapshot, engine, lens
):
    engine.set_risk_limits(2 * PCT, WAD, 3 * WAD // 2, 2 * WAD, 15 * WAD, sender=owner)
    post(borrower, weth, WETH_POSTED * WAD)
    # 10,000 + 1 unit against $20,000: leverage just above 2; LTV 50% and risk ratio 0.22 are far from their limits
    before = snapshot()
    with ape.reverts("engine: exceeds max leverage"):
        vault.borrow(10_000 * unit + 1, borrower, sender=borrower)
    assert snapshot() == before
    vault.borrow(10_000 * unit, borrower, sender=borrower)
    health = lens.account_health(borrower)
    assert health.leverage == 2 * WAD
    assert health.risk_ratio == 22 * PCT


def test_borrow__without_collateral__reverts(lent, vault, borrower, snapshot):
    before = snapshot()
    with ape.reverts("engine: exceeds max ltv"):
        vault.borrow(1, borrower, sender=borrower)
    assert snapshot() == before


def test_borrow__above_available_liquidity__reverts(lent, vault, post, wbtc, borrower, unit, snapshot):
    post(borrower, wbtc, 100 * 10**8)  # $6,000,000
    before = snapshot()
    with ape.reverts("vault: insufficient liquidity"):
        vault.borrow(lent + 1, borrower, sender=borrower)
    assert snapshot() == before
    vault.borrow(lent, borrower, sender=borrower)
    assert vault.cash() == 0


@decimals_free
def test_borrow__zero_amount__reverts(lent, vault, borrower):
    with ape.reverts("vault: zero amount"):
        vault.borrow(0, borrower, sender=borrower)


@decimals_free
def test_borrow__zero_receiver__reverts(lent, vault, post, weth, borrower, unit, snapshot):
    post(borrower, weth, WAD)
    before = snapshot()
    with ape.reverts("vault: zero receiver"):
        vault.borrow(unit, ZERO_ADDRESS, sender=borrower)
    assert snapshot() == before


@decimals_free
def test_borrow__while_paused__reverts(lent, vault, post, owner, guardian, weth, borrower, unit, snapshot):
    post(borrower, weth, WAD)
    vault.set_guardian(guardian, sender=owner)
    vault.set_paused(True, sender=guardian)
    before = snapshot()
    with ape.reverts("vault: paused"):
        vault.borrow(unit, borrower, sender=borrower)
    assert snapshot() == before


# ---------------------------------------------------------------- repay


def test_repay__partial__lowers_the_debt_and_emits_repaid(accrued, chain, vault, base_token, fund, borrower, unit):
    paid = 3_333 * unit + 1
    fund(base_token, borrower, paid, vault)
    freeze(chain)
    cash = vault.cash()
    expected_remaining = remaining_after(vault, borrower, paid)
    tx = vault.repay(paid, borrower, sender=borrower)
    assert tx.return_value == paid
    events = vault.Repaid.from_receipt(tx)
    assert len(events) == 1
    assert (events[0].account, events[0].payer, events[0].amount, events[0].remaining) == (
        borrower.address,
        borrower.address,
        paid,
        expected_remaining,
    )
    assert vault.debt_of(borrower) == expected_remaining
    assert vault.cash() == cash + paid
    assert base_token.balanceOf(borrower) == BORROWED * unit


def test_repay__above_the_debt__takes_only_the_debt(accrued, chain, vault, base_token, fund, borrower, unit):
    fund(base_token, borrower, 2 * BORROWED * unit, vault)  # plus the borrowed 10,000 already held
    freeze(chain)
    debt = vault.debt_of(borrower)
    assert debt > BORROWED * unit
    tx = vault.repay(2 * BORROWED * unit, borrower, sender=borrower)
    assert tx.return_value == debt
    assert vault.Repaid.from_receipt(tx)[0].remaining == 0
    assert vault.debt_of(borrower) == vault.scaled_debt_of(borrower) == 0
    assert vault.total_debt() == vault.total_scaled_debt() == 0
    assert base_token.balanceOf(borrower) == 3 * BORROWED * unit - debt


def test_repay__max_uint__repays_everything(accrued, chain, vault, base_token, fund, borrower, unit):
    fund(base_token, borrower, BORROWED * unit, vault)
    base_token.approve(vault, MAX_UINT, sender=borrower)
    freeze(chain)
    debt = vault.debt_of(borrower)
    tx = vault.repay(MAX_UINT, borrower, sender=borrower)
    assert tx.return_value == debt
    assert vault.debt_of(borrower) == 0
    assert base_token.balanceOf(borrower) == 2 * BORROWED * unit - debt


def test_repay__by_a_third_party__clears_the_account_and_charges_the_payer(
    borrowed, chain, vault, base_token, fund, borrower, stranger, unit
):
    fund(base_token, stranger, 2 * BORROWED * unit, vault)
    freeze(chain)
    debt = vault.debt_of(borrower)
    tx = vault.repay(MAX_UINT, borrower, sender=stranger)
    event = vault.Repaid.from_receipt(tx)[0]
    assert (event.account, event.payer, event.amount) == (borrower.address, stranger.address, debt)
    assert vault.debt_of(borrower) == 0
    assert base_token.balanceOf(stranger) == 2 * BORROWED * unit - debt
    assert base_token.balanceOf(borrower) == BORROWED * unit


def test_repay__no_debt__reverts(lent, vault, base_token, fund, borrower, unit, snapshot):
    fund(base_token, borrower, unit, vault)
    before = snapshot()
    with ape.reverts("vault: no debt"):
        vault.repay(unit, borrower, sender=borrower)
    assert snapshot() == before


@decimals_free
def test_repay__zero_amount__reverts(borrowed, vault, borrower):
    with ape.reverts("vault: zero amount"):
        vault.repay(0, borrower, sender=borrower)


@decimals_free
def test_repay__zero_account__reverts(borrowed, vault, base_token, borrower, unit, snapshot):
    base_token.approve(vault, unit, sender=borrower)
    before = snapshot()
    with ape.reverts("vault: zero account"):
        vault.repay(unit, ZERO_ADDRESS, sender=borrower)
    assert snapshot() == before


@decimals_free
def test_repay__without_allowance__reverts(borrowed, vault, borrower, unit, snapshot):
    before = snapshot()
    with ape.reverts("erc20: insufficient allowance"):
        vault.repay(unit, borrower, sender=borrower)
    assert snapshot() == before


def test_repay__while_paused__succeeds(borrowed, chain, vault, base_token, fund, owner, borrower, unit):
    vault.set_paused(True, sender=owner)
    fund(base_token, borrower, unit, vault)
    base_token.approve(vault, MAX_UINT, sender=borrower)
    freeze(chain)
    debt = vault.debt_of(borrower)
    assert vault.repay(MAX_UINT, borrower, sender=borrower).return_value == debt
    assert vault.debt_of(borrower) == 0


# ---------------------------------------------------------------- interest


def expected_accrual(chain, vault, elapsed):
    """(new index, interest, reserves added) of an accrual `elapsed` seconds after the head block, which must be the
    block of the last accrual (the views then read the stored state, no pending interest)."""
    assert chain.blocks.head.timestamp == vault.last_accrual()
    index = vault.borrow_index()
    total_scaled = vault.total_scaled_debt()
    old_debt = ceil_div(total_scaled * index, WAD)
    utilisation = contract_utilisation(vault.cash(), old_debt, vault.reserves())
    rate = contract_annual_rate(utilisation, RateModel(*rates_of(vault)))
    new_index = index + ceil_div(index * rate * elapsed, WAD * YEAR)
    interest = ceil_div(total_scaled * new_index, WAD) - old_debt
    return new_index, interest, interest * vault.reserve_factor() // WAD


@pytest.mark.parametrize("reserve_factor", [0, 10 * PCT, 50 * PCT])
def test_accrue_interest__grows_the_index_and_feeds_the_reserve_factor_share_to_reserves(
    reserve_factor, borrowed, chain, vault, owner, borrower, unit
):
    vault.set_reserve_factor(reserve_factor, sender=owner)
    last = vault.last_accrual()
    debt, reserves, total_assets = vault.total_debt(), vault.reserves(), vault.totalAssets()
    rate = vault.borrow_rate()
    assert rate == 4 * PCT * vault.utilisation() // (80 * PCT)
    chain.pending_timestamp = last + 180 * DAY
    new_index, interest, reserves_added = expected_accrual(chain, vault, 180 * DAY)
    tx = vault.accrue_interest(sender=owner)
    events = vault.InterestAccrued.from_receipt(tx)
    assert len(events) == 1
    assert (events[0].borrow_index, events[0].interest, events[0].reserves_added) == (
        new_index,
        interest,
        reserves_added,
    )
    # simple interest at the current rate, within the index's resolution (one wei of index: debt / 1e18 units)
    assert abs(interest - debt * rate * 180 * DAY // (WAD * YEAR)) <= debt // WAD + 2
    assert reserves_added == interest * reserve_factor // WAD
    assert vault.borrow_index() == new_index
    assert vault.last_accrual() == tx.timestamp == last + 180 * DAY
    assert vault.reserves() == reserves + reserves_added
    assert vault.totalAssets() == total_assets + interest - reserves_added
    assert vault.debt_of(borrower) == vault.total_debt() == debt + interest


def test_accrue_interest__compounds_at_every_accrual(borrowed, chain, vault, owner):
    start = vault.last_accrual()
    rate = vault.borrow_rate()
    for step in (1, 2):
        chain.pending_timestamp = start + step * YEAR // 2
        index, _, _ = expected_accrual(chain, vault, YEAR // 2)
        vault.accrue_interest(sender=owner)
        assert vault.borrow_index() == index
    # two half-year accruals beat one year of simple interest at the starting rate
    assert vault.borrow_index() > WAD + rate


def test_accrue_interest__views_include_pending_interest(borrowed, chain, vault, owner, borrower, lender):
    advance(chain, 45 * DAY)
    freeze(chain)
    pending = (
        vault.borrow_index(),
        vault.debt_of(borrower),
        vault.total_debt(),
        vault.reserves(),
        vault.totalAssets(),
        vault.convertToAssets(vault.balanceOf(lender)),
    )
    assert pending[0] > WAD
    tx = vault.accrue_interest(sender=owner)
    assert vault.InterestAccrued.from_receipt(tx)[0].borrow_index == pending[0]
    assert (
        vault.borrow_index(),
        vault.debt_of(borrower),
        vault.total_debt(),
        vault.reserves(),
        vault.totalAssets(),
        vault.convertToAssets(vault.balanceOf(lender)),
    ) == pending


def test_accrue_interest__without_debt__moves_the_clock_only(lent, chain, vault, owner):
    advance(chain, 30 * DAY)
    tx = vault.accrue_interest(sender=owner)
    assert vault.InterestAccrued.from_receipt(tx) == []
    assert vault.borrow_index() == WAD
    assert vault.last_accrual() == tx.timestamp
    assert vault.totalAssets() == lent


def test_accrue_interest__twice_in_one_block__accrues_once(borrowed, chain, vault, owner):
    advance(chain, DAY)
    freeze(chain)
    vault.accrue_interest(sender=owner)
    index = vault.borrow_index()
    freeze(chain)
    tx = vault.accrue_interest(sender=owner)
    assert vault.InterestAccrued.from_receipt(tx) == []
    assert vault.borrow_index() == index


@decimals_free
def test_accrue_interest__index_past_192_bits__reverts_and_freezes_every_accruing_call(
    vault, owner, lend, post, base_token, fund, lender, borrower, weth, unit, chain
):
    # the index shares its slot with the timestamp: 192 bits, about 6e39 times its launch value. At the 1,400% maximum
    # rate and full utilisation that is ten accruals a thousand years apart (or some 34 yearly ones).
    set_rates(vault, owner, WAD, 3 * WAD, 10 * WAD, WAD // 2)
    lend(lender, unit)
    post(borrower, weth, WAD)
    vault.borrow(unit, borrower, sender=borrower)
    millennium = 1_000 * YEAR
    for _ in range(20):
        chain.pending_timestamp = chain.blocks.head.timestamp + millennium
        if expected_accrual(chain, vault, millennium)[0] >= 2**192:
            break
        vault.accrue_interest(sender=owner)
    index = vault.borrow_index()
    assert index < 2**192 <= index * 14_001  # one more millennium at 1,400% would not fit
    with ape.reverts("vault: borrow index overflow"):
        vault.accrue_interest(sender=owner)
    # nothing that accrues can run any more, repayment included
    fund(base_token, borrower, unit, vault)
    with ape.reverts("vault: borrow index overflow"):
        vault.repay(unit, borrower, sender=borrower)
    assert vault.scaled_debt_of(borrower) == unit


def test_debt_of__two_borrowers__total_debt_is_their_sum_within_rounding(
    borrowed, warp, vault, post, wbtc, borrower, other_borrower, unit
):
    post(other_borrower, wbtc, 10**8)
    warp(10 * DAY)
    vault.borrow(3_000 * unit + 1, other_borrower, sender=other_borrower)
    warp(100 * DAY)
    total = vault.total_debt()
    parts = vault.debt_of(borrower) + vault.debt_of(other_borrower)
    assert parts - 1 <= total <= parts
    assert vault.total_scaled_debt() == vault.scaled_debt_of(borrower) + vault.scaled_debt_of(other_borrower)


@pytest.mark.parametrize(
    "borrowed_pct, expected_rate",
    [(0, 1 * PCT), (40, 3 * PCT), (80, 5 * PCT), (90, 1 * PCT + 4 * PCT + 75 * PCT // 2), (100, 80 * PCT)],
)
def test_borrow_rate__follows_the_kinked_model(
    borrowed_pct, expected_rate, vault, owner, lend, post, lender, borrower, wbtc, unit
):
    set_rates(vault, owner, PCT, 4 * PCT, 75 * PCT, 80 * PCT)
    lend(lender, 1_000 * unit)
    post(borrower, wbtc, 10**8)
    if borrowed_pct:
        vault.borrow(borrowed_pct * 10 * unit, borrower, sender=borrower)
    assert vault.utilisation() == borrowed_pct * PCT
    assert vault.borrow_rate() == expected_rate


def test_utilisation__leaves_the_reserves_out_of_the_pool(accrued, chain, vault):
    freeze(chain)
    cash, debt, reserves = vault.cash(), vault.total_debt(), vault.reserves()
    assert reserves > 0
    assert vault.utilisation() == debt * WAD // (cash + debt - reserves)
    assert vault.borrow_rate() == contract_annual_rate(vault.utilisation(), RateModel(*DEFAULT_RATE_MODEL))


# ---------------------------------------------------------------- engine hooks: prepare_liquidation


def test_prepare_liquidation__accrues_and_returns_the_position(
    borrowed, warp, chain, vault, post, engine_signer, borrower, weth, gold, unit
):
    post(borrower, gold, 7)
    warp(20 * DAY)
    freeze(chain)
    new_index = vault.borrow_index()
    assert new_index > WAD
    view = vault.position_of(borrower)
    tx = vault.prepare_liquidation(borrower, sender=engine_signer)
    position = tx.return_value
    assert position == view
    assert vault.InterestAccrued.from_receipt(tx)[0].borrow_index == new_index
    assert vault.last_accrual() == tx.timestamp
    debt = vault.debt_of(borrower)
    assert debt > BORROWED * unit
    assert position.debt == debt
    # only what the account holds, in listing order (WETH, WBTC, GOLD)
    assert list(position.assets) == [weth.address, gold.address]
    assert list(position.amounts) == [WETH_POSTED * WAD, 7]


def test_position_of__stranger__has_nothing(vault, stranger):
    assert vault.position_of(stranger) == (0, [], [])


@decimals_free
@pytest.mark.parametrize("caller", ["owner", "stranger", "borrower"])
def test_prepare_liquidation__not_the_engine__reverts(caller, borrowed, vault, borrower, request):
    with ape.reverts("vault: caller is not the engine"):
        vault.prepare_liquidation(borrower, sender=request.getfixturevalue(caller))


@decimals_free
@pytest.mark.parametrize("caller", ["owner", "stranger"])
def test_list_collateral__not_the_engine__reverts(caller, vault, make_token, request):
    with ape.reverts("vault: caller is not the engine"):
        vault.list_collateral(make_token("NEW", 18), sender=request.getfixturevalue(caller))


@decimals_free
def test_list_collateral__already_listed__reverts(vault, engine_signer, weth):
    with ape.reverts("vault: already listed"):
        vault.list_collateral(weth, sender=engine_signer)


# ---------------------------------------------------------------- engine hooks: settle_liquidation


@pytest.fixture
def engine_pays(base_token, owner, engine_signer, vault):
    """The engine sends `amount` of the base asset to the vault, as it does before settling."""

    def pays(amount):
        base_token.mint(engine_signer, amount, sender=owner)
        base_token.transfer(vault, amount, sender=engine_signer)

    return pays


def test_settle_liquidation__books_the_repayment_and_the_fee_and_sends_the_seized_collateral(
    borrowed, chain, vault, engine_pays, engine_signer, borrower, bidder, weth, unit
):
    repaid, fee, seized = 4_000 * unit + 3, 40 * unit, 3 * WAD + 11
    engine_pays(repaid + fee)
    freeze(chain)
    vault.prepare_liquidation(borrower, sender=engine_signer)
    cash, reserves = vault.cash(), vault.reserves()
    expected_remaining = remaining_after(vault, borrower, repaid)
    freeze(chain)
    tx = vault.settle_liquidation(borrower, weth, seized, bidder, repaid, fee, False, sender=engine_signer)
    assert tx.return_value == 0
    assert vault.BadDebtWrittenOff.from_receipt(tx) == []
    assert weth.balanceOf(bidder) == seized
    assert vault.collateral_of(borrower, weth) == vault.total_collateral(weth) == WETH_POSTED * WAD - seized
    assert vault.debt_of(borrower) == expected_remaining
    assert vault.cash() == cash + repaid + fee
    assert vault.reserves() == reserves + fee
    assert vault.total_bad_debt() == 0


def test_settle_liquidation__funds_not_sent__reverts(borrowed, vault, engine_signer, borrower, bidder, weth, snapshot):
    before = snapshot(bidder)
    with ape.reverts("vault: liquidation funds missing"):
        vault.settle_liquidation(borrower, weth, WAD, bidder, 1_000, 0, True, sender=engine_signer)
    assert snapshot(bidder) == before


def test_settle_liquidation__funds_one_unit_short__reverts(
    borrowed, vault, engine_pays, engine_signer, borrower, bidder, weth, unit, snapshot
):
    engine_pays(1_000 * unit + 10 * unit - 1)
    before = snapshot(bidder)
    with ape.reverts("vault: liquidation funds missing"):
        vault.settle_liquidation(borrower, weth, WAD, bidder, 1_000 * unit, 10 * unit, True, sender=engine_signer)
    assert snapshot(bidder) == before


def test_settle_liquidation__seize_above_the_collateral__reverts(
    borrowed, vault, engine_pays, engine_signer, borrower, bidder, weth, unit, snapshot
):
    engine_pays(1_000 * unit)
    before = snapshot(bidder)
    with ape.reverts("vault: seize exceeds collateral"):
        vault.settle_liquidation(
            borrower, weth, WETH_POSTED * WAD + 1, bidder, 1_000 * unit, 0, True, sender=engine_signer
        )
    assert snapshot(bidder) == before


def test_settle_liquidation__repay_above_the_debt__reverts(
    borrowed, chain, vault, engine_pays, engine_signer, borrower, bidder, weth, snapshot
):
    freeze(chain)
    vault.prepare_liquidation(borrower, sender=engine_signer)
    debt = vault.debt_of(borrower)
    engine_pays(debt + 1)
    before = snapshot(bidder)
    with ape.reverts("vault: repay exceeds debt"):
        vault.settle_liquidation(borrower, weth, WAD, bidder, debt + 1, 0, True, sender=engine_signer)
    assert snapshot(bidder) == before


@decimals_free
@pytest.mark.parametrize("caller", ["owner", "stranger", "borrower"])
def test_settle_liquidation__not_the_engine__reverts(caller, borrowed, vault, weth, borrower, bidder, request):
    with ape.reverts("vault: caller is not the engine"):
        vault.settle_liquidation(borrower, weth, 0, bidder, 0, 0, True, sender=request.getfixturevalue(caller))


def test_settle_liquidation__full_repayment_of_a_collateral_less_account__writes_nothing_off(
    borrowed, chain, vault, engine_pays, engine_signer, borrower, bidder, weth
):
    freeze(chain)
    vault.prepare_liquidation(borrower, sender=engine_signer)
    debt = vault.debt_of(borrower)
    engine_pays(debt)
    freeze(chain)
    tx = vault.settle_liquidation(borrower, weth, WETH_POSTED * WAD, bidder, debt, 0, True, sender=engine_signer)
    assert tx.return_value == 0
    assert vault.BadDebtWrittenOff.from_receipt(tx) == []
    assert vault.debt_of(borrower) == vault.total_debt() == 0


def settle_everything(chain, vault, engine_pays, engine_signer, borrower, bidder, weth, repaid, fee, write_off=True):
    """Seize all of the borrower's WETH for `repaid` + `fee` at one timestamp; returns the receipt and prior state."""
    engine_pays(repaid + fee)
    freeze(chain)
    vault.prepare_liquidation(borrower, sender=engine_signer)
    state = {
        "debt": vault.debt_of(borrower),
        "reserves": vault.reserves(),
        "total_assets": vault.totalAssets(),
        "cash": vault.cash(),
        "remaining": remaining_after(vault, borrower, repaid),
    }
    freeze(chain)
    tx = vault.settle_liquidation(
        borrower, weth, vault.collateral_of(borrower, weth), bidder, repaid, fee, write_off, sender=engine_signer
    )
    return tx, state


def test_settle_liquidation__collateral_gone__reserves_absorb_bad_debt_first_and_lenders_the_rest(
    accrued, chain, vault, engine_pays, engine_signer, borrower, bidder, weth, lender, unit
):
    repaid, fee = 6_000 * unit, 25 * unit
    lender_assets = vault.convertToAssets(vault.balanceOf(lender))
    tx, before = settle_everything(chain, vault, engine_pays, engine_signer, borrower, bidder, weth, repaid, fee)
    bad_debt = before["remaining"]
    from_reserves = before["reserves"] + fee
    assert from_reserves < bad_debt
    assert tx.return_value == bad_debt
    events = vault.BadDebtWrittenOff.from_receipt(tx)
    assert len(events) == 1
    assert (events[0].account, events[0].amount, events[0].from_reserves, events[0].from_lenders) == (
        borrower.address,
        bad_debt,
        from_reserves,
        bad_debt - from_reserves,
    )
    assert vault.reserves() == 0
    assert vault.debt_of(borrower) == vault.scaled_debt_of(borrower) == vault.total_debt() == 0
    assert vault.total_bad_debt() == bad_debt
    assert vault.cash() == before["cash"] + repaid + fee
    # lenders lose what the reserves could not cover (less the unit by which the remaining debt may round up)
    assert vault.totalAssets() == before["total_assets"] - (before["debt"] - repaid - from_reserves)
    assert bad_debt - (before["debt"] - repaid) in (0, 1)
    assert vault.convertToAssets(vault.balanceOf(lender)) < lender_assets


def test_settle_liquidation__reserves_cover_the_bad_debt__lenders_untouched(
    borrowed, chain, vault, engine_pays, engine_signer, borrower, bidder, weth, unit
):
    repaid, fee = 9_000 * unit, 1_500 * unit
    tx, before = settle_everything(chain, vault, engine_pays, engine_signer, borrower, bidder, weth, repaid, fee)
    bad_debt = before["remaining"]
    event = vault.BadDebtWrittenOff.from_receipt(tx)[0]
    assert (event.amount, event.from_reserves, event.from_lenders) == (bad_debt, bad_debt, 0)
    assert vault.reserves() == before["reserves"] + fee - bad_debt
    # lenders lose nothing; they may gain the unit by which the rounded-up remaining debt exceeds debt - repaid
    rounding = bad_debt - (before["debt"] - repaid)
    assert rounding in (0, 1)
    assert vault.totalAssets() == before["total_assets"] + rounding
    assert vault.total_bad_debt() == bad_debt


def test_settle_liquidation__collateral_gone_but_write_off_cleared__the_debt_stays(
    accrued, chain, vault, engine_pays, engine_signer, borrower, bidder, weth, unit
):
    # what the engine does when it hands the last collateral to a Dutch auction: the proceeds are to come
    tx, before = settle_everything(
        chain, vault, engine_pays, engine_signer, borrower, bidder, weth, 1_000 * unit, 0, write_off=False
    )
    assert tx.return_value == 0
    assert vault.BadDebtWrittenOff.from_receipt(tx) == []
    assert vault.collateral_of(borrower, weth) == 0
    assert vault.debt_of(borrower) == before["remaining"] > 0
    assert vault.reserves() == before["reserves"]
    assert vault.total_bad_debt() == 0


# ---------------------------------------------------------------- views: account health


def test_account_health__matches_a_python_computation(
    lent, vault, oracle, post, set_price, base_token, borrower, collaterals, weth, wbtc, gold, unit, chain, lens
):
    post(borrower, weth, 3 * WAD + 3 * 10**17)
    post(borrower, wbtc, 25_000_001)
    post(borrower, gold, 4_500_007)
    vault.borrow(12_345 * unit + unit // 3, borrower, sender=borrower)
    set_price(weth, 1_987.654_321_09)
    set_price(wbtc, 58_123.456_78)
    set_price(gold, 2_432.1)
    set_price(base_token, 0.999_7)
    freeze(chain)
    on_chain = lens.account_health(borrower)
    replayed, exact = expected_health(vault, oracle, base_token, borrower, collaterals)
    assert tuple(on_chain) == (
        replayed.collateral_value,
        replayed.debt_value,
        replayed.health,
        replayed.risk_ratio,
        replayed.leverage,
        replayed.liquidatable,
    )
    # within one unit of rounding of the exact metrics, on the protocol's side
    assert exact.collateral_value - 3 <= on_chain.collateral_value <= exact.collateral_value
    assert exact.debt_value <= on_chain.debt_value <= exact.debt_value + 1
    assert exact.health - 1 <= on_chain.health <= exact.health
    assert exact.leverage <= on_chain.leverage <= exact.leverage + 1
    assert abs(on_chain.risk_ratio - exact.risk_ratio) <= 1
    assert not on_chain.liquidatable


def test_account_health__risk_ratio__never_below_the_exact_ratio_of_its_values(
    lent, no_interest, vault, post, set_price, weth, borrower, unit, lens
):
    # found by a search over small positions: the risk ratio's numerator rounds both of its products down
    # (value * f_i and debt value * f_base), so the rounded-up ratio can land a fraction of a wei below the exact one
    set_price(weth, 1_473.440_791_26)
    post(borrower, weth, 3_798_579_782_602_868)
    vault.borrow(1_293_626 * unit // 10**6, borrower, sender=borrower)  # 1.293626 tokens against $5.60
    health = lens.account_health(borrower)
    s, b = health.collateral_value, health.debt_value
    exact = (Fraction(s * 10 * PCT, WAD) + Fraction(b * 2 * PCT, WAD)) * WAD / (s - b)
    assert health.risk_ratio >= exact, f"risk ratio {health.risk_ratio} understated: exact {float(exact)}"


@decimals_free
def test_account_health__no_debt__health_unbounded_and_leverage_one(vault, post, weth, borrower, lens):
    post(borrower, weth, WAD)
    health = lens.account_health(borrower)
    assert health.collateral_value == 2_000 * WAD
    assert health.debt_value == 0
    assert health.health == MAX_UINT
    assert health.risk_ratio == 10 * PCT  # 200 / 2,000
    assert health.leverage == WAD
    assert not health.liquidatable


@decimals_free
def test_account_health__no_position__unbounded_and_not_liquidatable(vault, stranger, lens):
    assert lens.account_health(stranger) == (0, 0, MAX_UINT, MAX_UINT, MAX_UINT, False)


def wait_out_the_ramp(chain, feeds, owner):
    """Let a liq_ltv ramp (one day) finish, then post every feed's price again so that none is stale."""
    chain.pending_timestamp = chain.blocks.head.timestamp + LIQ_LTV_RAMP
    for feed in feeds.values():
        feed.update_answer(feed.latestRoundData()[1], sender=owner)


def test_account_health__below_liquidation_ltv__liquidatable_by_health_alone(
    lent, no_interest, vault, post, owner, set_price, weth, borrower, unit, chain, feeds, engine, lens
):
    post(borrower, weth, WETH_POSTED * WAD)
    vault.borrow(16_000 * unit, borrower, sender=borrower)
    # liq_ltv 80% puts the line exactly at 16,000 of debt: health 1.0 is not liquidatable
    engine.configure_collateral(weth, 79 * PCT, 80 * PCT, 10 * PCT, sender=owner)
    wait_out_the_ramp(chain, feeds, owner)
    health = lens.account_health(borrower)
    assert health.health == WAD
    assert not health.liquidatable
    set_price(weth, 1_999.999_999_99)
    health = lens.account_health(borrower)
    assert health.health < WAD
    assert health.risk_ratio < 3 * WAD // 2 and health.leverage < 15 * WAD
    assert health.liquidatable


def test_account_health__above_liquidation_risk_ratio__liquidatable_by_risk_ratio_alone(
    borrowed_without_interest, vault, owner, borrower, warp, engine, lens
):
    health = lens.account_health(borrower)
    risk_ratio = health.risk_ratio  # (2,000 + 200) / 10,000
    assert risk_ratio == 22 * PCT
    engine.set_risk_limits(2 * PCT, risk_ratio, risk_ratio, 10 * WAD, 15 * WAD, sender=owner)
    warp(DAY)  # the threshold ramps down
    assert not lens.account_health(borrower).liquidatable
    engine.set_risk_limits(2 * PCT, risk_ratio - 1, risk_ratio - 1, 10 * WAD, 15 * WAD, sender=owner)
    warp(DAY)
    health = lens.account_health(borrower)
    assert health.health >= WAD and health.leverage <= 15 * WAD
    assert health.liquidatable


def test_account_health__above_liquidation_leverage__liquidatable_by_leverage_alone(
    borrowed_without_interest, vault, owner, borrower, warp, engine, lens
):
    leverage = lens.account_health(borrower).leverage  # 20,000 / 10,000
    assert leverage == 2 * WAD
    engine.set_risk_limits(2 * PCT, WAD, 3 * WAD // 2, leverage, leverage, sender=owner)
    warp(DAY)  # the threshold ramps down
    assert not lens.account_health(borrower).liquidatable
    engine.set_risk_limits(2 * PCT, WAD, 3 * WAD // 2, leverage - 1, leverage - 1, sender=owner)
    warp(DAY)
    health = lens.account_health(borrower)
    assert health.health >= WAD and health.risk_ratio <= 3 * WAD // 2
    assert health.liquidatable


def test_account_health__collateral_worth_less_than_the_debt__liquidatable_with_unbounded_ratios(
    borrowed, vault, set_price, weth, borrower, lens
):
    set_price(weth, 999)  # $9,990 of collateral for $10,000 of debt
    health = lens.account_health(borrower)
    assert health.collateral_value < health.debt_value
    assert health.risk_ratio == health.leverage == MAX_UINT
    assert health.liquidatable


def test_account_health__counts_pending_interest(borrowed, warp, chain, vault, borrower, unit, lens):
    warp(90 * DAY)
    freeze(chain)
    assert lens.account_health(borrower).debt_value == ceil_div(vault.debt_of(borrower) * WAD, unit) > whole(BORROWED)


def test_accounts_health__batch_equals_one_view_per_account(
    borrowed, vault, post, set_price, borrower, other_borrower, stranger, lender, gold, wbtc, unit, lens
):
    post(other_borrower, gold, 3 * 10**6)
    post(other_borrower, wbtc, 10**7)
    vault.borrow(2_000 * unit, other_borrower, sender=other_borrower)
    set_price(gold, 2_222.22)
    accounts = [borrower, other_borrower, stranger, lender, borrower]
    batch = lens.accounts_health([a.address for a in accounts])
    assert len(batch) == len(accounts)
    for account, health in zip(accounts, batch, strict=True):
        assert health == lens.account_health(account)


@decimals_free
def test_accounts_health__empty_batch__returns_nothing(vault, lens):
    assert lens.accounts_health([]) == []


@decimals_free
def test_liquidation_snapshot__unknown_collateral__reverts(borrowed, vault, base_token, borrower, lens):
    with ape.reverts("lens: unknown collateral"):
        lens.liquidation_snapshot(borrower, base_token)


def test_liquidation_snapshot__counts_pending_interest(borrowed, warp, chain, vault, borrower, wbtc, unit, lens):
    warp(60 * DAY)
    freeze(chain)
    snapshot = lens.liquidation_snapshot(borrower, wbtc)
    assert snapshot.debt == vault.debt_of(borrower) > BORROWED * unit
    assert snapshot.debt_value == lens.account_health(borrower).debt_value
    assert snapshot.collateral_amount == 0
    assert snapshot.collateral_price == 60_000 * WAD


# ---------------------------------------------------------------- admin: configure_collateral


@pytest.fixture
def priced_token(project, owner, oracle, make_token):
    """A fresh token with a feed in the oracle, not yet listed."""

    def make(symbol, decimals, usd=10):
        token = make_token(symbol, decimals)
        oracle.set_feeds(token, [deploy_feed(project, owner, usd)], DAY, 0, sender=owner)
        return token

    return make


@decimals_free
def test_configure_collateral__lists_a_new_asset_and_emits_collateral_configured(
    vault, owner, priced_token, weth, wbtc, gold, engine
):
    token = priced_token("NEW", 12)
    tx = engine.configure_collateral(token, 30 * PCT, 40 * PCT, 20 * PCT, sender=owner)
    events = engine.CollateralConfigured.from_receipt(tx)
    assert len(events) == 1
    assert (events[0].asset, events[0].max_ltv, events[0].liq_ltv, events[0].risk_factor) == (
        token.address,
        30 * PCT,
        40 * PCT,
        20 * PCT,
    )
    assert engine.collateral_config(token) == (30 * PCT, 40 * PCT, 20 * PCT, 10**12, 1)
    assert vault.collateral_assets() == [weth.address, wbtc.address, gold.address, token.address]
    assert vault.CollateralListed.from_receipt(tx)[0].position == 3


@decimals_free
def test_configure_collateral__listed_asset__updates_in_place(vault, owner, weth, wbtc, gold, chain, feeds, engine):
    engine.configure_collateral(wbtc, 50 * PCT, 60 * PCT, 30 * PCT, sender=owner)
    wait_out_the_ramp(chain, feeds, owner)  # liq_ltv moves to 60% over a day
    assert engine.collateral_config(wbtc) == (50 * PCT, 60 * PCT, 30 * PCT, 10**8, 1)
    assert vault.collateral_assets() == [weth.address, wbtc.address, gold.address]


@decimals_free
def test_configure_collateral__accepts_the_edges_of_every_bound(vault, owner, gold, chain, feeds, engine):
    engine.configure_collateral(gold, 0, 97 * PCT, WAD, sender=owner)
    wait_out_the_ramp(chain, feeds, owner)  # liq_ltv moves to 97% over a day
    assert engine.collateral_config(gold)[:3] == (0, 97 * PCT, WAD)
    engine.configure_collateral(gold, 97 * PCT - 1, 97 * PCT, 0, sender=owner)
    assert engine.collateral_config(gold)[:2] == (97 * PCT - 1, 97 * PCT)
    assert engine.collateral_config(gold)[2] > 99 * PCT  # the risk factor ramps down from 100% over a day
    wait_out_the_ramp(chain, feeds, owner)
    assert engine.collateral_config(gold)[:3] == (97 * PCT - 1, 97 * PCT, 0)


@decimals_free
@pytest.mark.parametrize(
    "max_ltv, liq_ltv, risk_factor, reason",
    [
        (80 * PCT, 80 * PCT, 10 * PCT, "engine: max_ltv must be below liq_ltv"),
        (81 * PCT, 80 * PCT, 10 * PCT, "engine: max_ltv must be below liq_ltv"),
        (90 * PCT, 97 * PCT + 1, 10 * PCT, "engine: liq_ltv above bound"),
        (80 * PCT, 85 * PCT, WAD + 1, "engine: risk_factor above bound"),
    ],
)
def test_configure_collateral__out_of_bounds__reverts(
    max_ltv, liq_ltv, risk_factor, reason, vault, owner, weth, engine
):
    before = engine.collateral_config(weth)
    with ape.reverts(reason):
        engine.configure_collateral(weth, max_ltv, liq_ltv, risk_factor, sender=owner)
    assert engine.collateral_config(weth) == before


@decimals_free
def test_configure_collateral__zero_asset__reverts(vault, owner, engine):
    with ape.reverts("engine: zero asset"):
        engine.configure_collateral(ZERO_ADDRESS, 50 * PCT, 60 * PCT, 0, sender=owner)


@decimals_free
def test_configure_collateral__base_asset__reverts(vault, owner, base_token, engine):
    with ape.reverts("engine: base asset as collateral"):
        engine.configure_collateral(base_token, 50 * PCT, 60 * PCT, 0, sender=owner)


@decimals_free
def test_configure_collateral__ninth_asset__reverts(vault, owner, priced_token, wbtc, engine):
    for i in range(5):
        engine.configure_collateral(priced_token(f"C{i}", 18), 50 * PCT, 60 * PCT, 0, sender=owner)
    assert len(vault.collateral_assets()) == 8
    ninth = priced_token("C9", 18)
    with ape.reverts("vault: too many collaterals"):
        engine.configure_collateral(ninth, 50 * PCT, 60 * PCT, 0, sender=owner)
    assert engine.collateral_config(ninth).listed == 0
    # a listed asset can still be reconfigured at the cap
    engine.configure_collateral(wbtc, 10 * PCT, 20 * PCT, 0, sender=owner)
    assert len(vault.collateral_assets()) == 8


@decimals_free
def test_configure_collateral__more_than_18_decimals__reverts(project, vault, owner, engine):
    token = project.MockFeeToken.deploy(19, sender=owner)
    with ape.reverts("engine: decimals above 18"):
        engine.configure_collateral(token, 50 * PCT, 60 * PCT, 0, sender=owner)


@decimals_free
def test_configure_collateral__asset_without_oracle_feed__reverts_with_the_oracle_reason(
    vault, owner, make_token, engine
):
    token = make_token("NOFD", 18)
    with ape.reverts("oracle: unknown asset"):
        engine.configure_collateral(token, 50 * PCT, 60 * PCT, 0, sender=owner)
    assert len(vault.collateral_assets()) == 3


@decimals_free
def test_configure_collateral__asset_priced_at_zero__reverts(project, owner, zero_price_oracle_type, base_token, weth):
    zero_oracle = zero_price_oracle_type.deploy(sender=owner)
    vault = project.LendingVault.deploy(base_token, zero_oracle, deploy_rate_model(owner), "v", "v", sender=owner)
    engine = project.LiquidationEngine.deploy(
        vault, project.LiquidationQueue.deploy(base_token, sender=owner), sender=owner
    )
    vault.set_engine(engine, sender=owner)
    with ape.reverts("engine: unpriced asset"):
        engine.configure_collateral(weth, 50 * PCT, 60 * PCT, 0, sender=owner)
    assert vault.collateral_assets() == []


# ---------------------------------------------------------------- admin: risk limits, rate model, reserve factor


@decimals_free
def test_set_risk_limits__stores_and_emits(vault, owner, engine):
    limits = (5 * PCT, 2 * WAD, 3 * WAD, 4 * WAD, 6 * WAD)
    tx = engine.set_risk_limits(*limits, sender=owner)
    event = engine.RiskLimitsSet.from_receipt(tx)[0]
    assert (
        event.base_risk_factor,
        event.max_risk_ratio,
        event.liq_risk_ratio,
        event.max_leverage,
        event.liq_leverage,
    ) == limits
    assert engine.risk_limits() == limits


@decimals_free
def test_set_risk_limits__accepts_the_edges_of_every_bound(vault, owner, engine):
    engine.set_risk_limits(WAD, 100 * WAD, 100 * WAD, WAD + 1, 100 * WAD, sender=owner)
    assert engine.risk_limits() == (WAD, 100 * WAD, 100 * WAD, WAD + 1, 100 * WAD)
    engine.set_risk_limits(0, 1, 1, 100 * WAD, 100 * WAD, sender=owner)
    assert engine.risk_limits() == (0, 1, 1, 100 * WAD, 100 * WAD)


@decimals_free
@pytest.mark.parametrize(
    "limits, reason",
    [
        ((WAD + 1, WAD, 2 * WAD, 10 * WAD, 15 * WAD), "engine: base_risk_factor above bound"),
        ((0, 0, 2 * WAD, 10 * WAD, 15 * WAD), "engine: bad risk ratio limits"),
        ((0, 2 * WAD + 1, 2 * WAD, 10 * WAD, 15 * WAD), "engine: bad risk ratio limits"),
        ((0, WAD, 100 * WAD + 1, 10 * WAD, 15 * WAD), "engine: liq_risk_ratio above bound"),
        ((0, WAD, 2 * WAD, WAD, 15 * WAD), "engine: bad leverage limits"),
        ((0, WAD, 2 * WAD, 15 * WAD + 1, 15 * WAD), "engine: bad leverage limits"),
        ((0, WAD, 2 * WAD, 10 * WAD, 100 * WAD + 1), "engine: liq_leverage above bound"),
    ],
)
def test_set_risk_limits__out_of_bounds__reverts(limits, reason, vault, owner, engine):
    with ape.reverts(reason):
        engine.set_risk_limits(*limits, sender=owner)
    assert engine.risk_limits() == DEFAULT_LIMITS


@decimals_free
def test_set_rate_model__stores_and_emits(vault, owner):
    model = deploy_rate_model(owner, (2 * PCT, 5 * PCT, 100 * PCT, 90 * PCT))
    tx = vault.set_rate_model(model, sender=owner)
    assert vault.RateModelSet.from_receipt(tx)[0].rate_model == model.address
    assert vault.rate_model() == model.address
    assert rates_of(vault) == (2 * PCT, 5 * PCT, 100 * PCT, 90 * PCT)


@decimals_free
def test_set_rate_model__accepts_a_model_quoting_the_1400_percent_bound(project, vault, owner):
    model = project.MockRateModel.deploy(14 * WAD, sender=owner)
    vault.set_rate_model(model, sender=owner)
    assert vault.rate_model() == model.address


@decimals_free
@pytest.mark.parametrize("kind", ["zero address", "account", "not a model", "above 1400 percent", "reverting"])
def test_set_rate_model__not_a_working_model__reverts(kind, project, vault, owner, stranger, weth):
    if kind == "zero address":
        candidate = ZERO_ADDRESS
    elif kind == "account":
        candidate = stranger.address
    elif kind == "not a model":
        candidate = weth.address  # a contract without borrow_rate
    elif kind == "above 1400 percent":
        candidate = project.MockRateModel.deploy(14 * WAD + 1, sender=owner).address
    else:
        candidate = project.LiquidationQueue.deploy(weth, sender=owner).address  # reverts on unknown selectors
    before = vault.rate_model()
    with ape.reverts("vault: bad rate model"):
        vault.set_rate_model(candidate, sender=owner)
    assert vault.rate_model() == before


@decimals_free
def test_deploy__bad_rate_model__reverts(project, owner, base_token, oracle, stranger):
    with ape.reverts("vault: bad rate model"):
        project.LendingVault.deploy(base_token, oracle, stranger, "v", "v", sender=owner)


def test_accrue_interest__a_model_quoting_above_1400_percent__accrues_at_1400_percent(
    project, borrowed, chain, vault, owner
):
    model = project.MockRateModel.deploy(14 * WAD, sender=owner)
    tx = vault.set_rate_model(model, sender=owner)
    # in the same second as the accrual of set_rate_model, so the view reads the stored index
    chain.pending_timestamp = tx.timestamp
    model.set_rate(10**30, sender=owner)  # a broken model: the vault clamps what it quotes
    index, last = vault.borrow_index(), vault.last_accrual()
    assert last == tx.timestamp == chain.blocks.head.timestamp
    chain.pending_timestamp = last + 30 * DAY
    vault.accrue_interest(sender=owner)
    assert vault.borrow_index() == index + ceil_div(index * 14 * WAD * 30 * DAY, WAD * YEAR)


def test_set_rate_model__accrues_at_the_old_rate_first(borrowed, chain, vault, owner):
    chain.pending_timestamp = chain.blocks.head.timestamp  # the model's deployment in the last accrual's second
    model = deploy_rate_model(owner, (WAD, 3 * WAD, 10 * WAD, WAD // 2))
    chain.pending_timestamp = vault.last_accrual() + 90 * DAY
    old_index, _, _ = expected_accrual(chain, vault, 90 * DAY)
    tx = vault.set_rate_model(model, sender=owner)
    assert vault.InterestAccrued.from_receipt(tx)[0].borrow_index == old_index
    assert vault.last_accrual() == tx.timestamp
    chain.pending_timestamp = tx.timestamp + 90 * DAY
    new_index, _, _ = expected_accrual(chain, vault, 90 * DAY)
    vault.accrue_interest(sender=owner)
    assert vault.borrow_index() == new_index
    # the new model charges at least its 100% base rate
    assert new_index - old_index >= old_index * 90 * DAY // YEAR


def test_set_reserve_factor__stores_emits_and_accrues_at_the_old_factor_first(borrowed, chain, vault, owner):
    chain.pending_timestamp = vault.last_accrual() + 90 * DAY
    _, interest, reserves_added = expected_accrual(chain, vault, 90 * DAY)
    tx = vault.set_reserve_factor(50 * PCT, sender=owner)
    assert vault.ReserveFactorSet.from_receipt(tx)[0].reserve_factor == 50 * PCT
    assert vault.reserve_factor() == 50 * PCT
    accrued = vault.InterestAccrued.from_receipt(tx)[0]
    assert (accrued.interest, accrued.reserves_added) == (interest, reserves_added)
    assert reserves_added == interest * 10 * PCT // WAD


@decimals_free
def test_set_reserve_factor__above_half__reverts(vault, owner):
    vault.set_reserve_factor(50 * PCT, sender=owner)
    with ape.reverts("vault: reserve_factor above bound"):
        vault.set_reserve_factor(50 * PCT + 1, sender=owner)
    assert vault.reserve_factor() == 50 * PCT


# ---------------------------------------------------------------- admin: reserves


def test_withdraw_reserves__pays_the_receiver_from_the_reserves_and_emits(accrued, chain, vault, base_token, owner):
    freeze(chain)
    reserves, cash, total_assets = vault.reserves(), vault.cash(), vault.totalAssets()
    assert reserves > 0
    tx = vault.withdraw_reserves(reserves // 2, owner, sender=owner)
    event = vault.ReservesWithdrawn.from_receipt(tx)[0]
    assert (event.receiver, event.amount) == (owner.address, reserves // 2)
    assert base_token.balanceOf(owner) == reserves // 2
    assert vault.reserves() == reserves - reserves // 2
    assert vault.cash() == cash - reserves // 2
    assert vault.totalAssets() == total_assets


def test_withdraw_reserves__more_than_the_reserves__reverts(accrued, vault, owner, snapshot):
    before = snapshot()
    with ape.reverts("vault: exceeds reserves"):
        vault.withdraw_reserves(vault.reserves() + 1, owner, sender=owner)
    assert snapshot() == before


def test_withdraw_reserves__reserves_lent_out__reverts(vault, owner, lend, post, lender, borrower, wbtc, unit, chain):
    vault.set_reserve_factor(50 * PCT, sender=owner)
    lend(lender, 1_000 * unit)
    post(borrower, wbtc, 10**8)
    vault.borrow(1_000 * unit, borrower, sender=borrower)  # every unit of cash lent out
    chain.pending_timestamp = chain.blocks.head.timestamp + YEAR
    vault.accrue_interest(sender=owner)
    freeze(chain)
    reserves = vault.reserves()
    assert reserves > vault.cash() == 0
    with ape.reverts("vault: reserves not in cash"):
        vault.withdraw_reserves(reserves, owner, sender=owner)
    assert vault.reserves() == reserves


@decimals_free
def test_withdraw_reserves__zero_amount__reverts(accrued, vault, owner):
    with ape.reverts("vault: zero amount"):
        vault.withdraw_reserves(0, owner, sender=owner)


@decimals_free
def test_withdraw_reserves__zero_receiver__reverts(accrued, vault, owner):
    with ape.reverts("vault: zero receiver"):
        vault.withdraw_reserves(1, ZERO_ADDRESS, sender=owner)


# ---------------------------------------------------------------- admin: engine, guardian, pause


@pytest.fixture
def fresh_vault(project, owner, base_token, oracle):
    return project.LendingVault.deploy(base_token, oracle, deploy_rate_model(owner), "v", "v", sender=owner)


@decimals_free
def test_set_engine__once__stores_and_emits(fresh_vault, owner, engine_signer, stranger):
    assert fresh_vault.engine() == ZERO_ADDRESS
    tx = fresh_vault.set_engine(engine_signer, sender=owner)
    assert fresh_vault.EngineSet.from_receipt(tx)[0].engine == engine_signer.address
    assert fresh_vault.engine() == engine_signer.address
    with ape.reverts("vault: engine already set"):
        fresh_vault.set_engine(stranger, sender=owner)
    assert fresh_vault.engine() == engine_signer.address


@decimals_free
def test_set_engine__zero_address__reverts(fresh_vault, owner):
    with ape.reverts("vault: zero engine"):
        fresh_vault.set_engine(ZERO_ADDRESS, sender=owner)


@decimals_free
def test_set_engine__not_owner__reverts(fresh_vault, stranger):
    with ape.reverts(NOT_OWNER):
        fresh_vault.set_engine(stranger, sender=stranger)
    assert fresh_vault.engine() == ZERO_ADDRESS


@decimals_free
def test_set_guardian__stores_emits_and_may_clear(vault, owner, guardian):
    tx = vault.set_guardian(guardian, sender=owner)
    assert vault.GuardianSet.from_receipt(tx)[0].guardian == guardian.address
    assert vault.guardian() == guardian.address
    vault.set_guardian(ZERO_ADDRESS, sender=owner)
    assert vault.guardian() == ZERO_ADDRESS


@decimals_free
@pytest.mark.parametrize("pauser", ["guardian", "owner"])
def test_set_paused__guardian_or_owner_pauses__emits(pauser, vault, owner, guardian, request):
    vault.set_guardian(guardian, sender=owner)
    account = request.getfixturevalue(pauser)
    tx = vault.set_paused(True, sender=account)
    event = vault.PausedSet.from_receipt(tx)[0]
    assert (event.paused, event.by) == (True, account.address)
    assert vault.paused()


@decimals_free
def test_set_paused__stranger__reverts(vault, owner, guardian, stranger):
    vault.set_guardian(guardian, sender=owner)
    with ape.reverts("vault: not guardian or owner"):
        vault.set_paused(True, sender=stranger)
    assert not vault.paused()


@decimals_free
def test_set_paused__only_the_owner_unpauses(vault, owner, guardian):
    vault.set_guardian(guardian, sender=owner)
    vault.set_paused(True, sender=guardian)
    with ape.reverts(NOT_OWNER):
        vault.set_paused(False, sender=guardian)
    assert vault.paused()
    tx = vault.set_paused(False, sender=owner)
    event = vault.PausedSet.from_receipt(tx)[0]
    assert (event.paused, event.by) == (False, owner.address)
    assert not vault.paused()


def test_set_paused__withdraw_redeem_repay_and_add_collateral_still_work(
    borrowed, vault, owner, base_token, post, lender, borrower, gold, unit
):
    vault.set_paused(True, sender=owner)
    vault.withdraw(100 * unit, lender, lender, sender=lender)
    redeemed = vault.redeem(100 * unit * VIRTUAL_SHARES, lender, lender, sender=lender).return_value
    assert redeemed >= 100 * unit
    assert base_token.balanceOf(lender) == 100 * unit + redeemed
    base_token.approve(vault, 1_000 * unit, sender=borrower)
    vault.repay(1_000 * unit, borrower, sender=borrower)
    assert vault.debt_of(borrower) < BORROWED * unit
    post(borrower, gold, 10**6)
    assert vault.collateral_of(borrower, gold) == 10**6


# ---------------------------------------------------------------- admin: ownership and access


ADMIN_CALLS = {
    "configure_collateral": lambda v, a: engine_of(v).configure_collateral(
        a["weth"], 50 * PCT, 60 * PCT, 0, sender=a["caller"]
    ),
    "set_risk_limits": lambda v, a: engine_of(v).set_risk_limits(*DEFAULT_LIMITS, sender=a["caller"]),
    "set_rate_model": lambda v, a: v.set_rate_model(v.rate_model(), sender=a["caller"]),
    "set_reserve_factor": lambda v, a: v.set_reserve_factor(0, sender=a["caller"]),
    "withdraw_reserves": lambda v, a: v.withdraw_reserves(1, a["caller"], sender=a["caller"]),
    "set_engine": lambda v, a: v.set_engine(a["caller"], sender=a["caller"]),
    "set_guardian": lambda v, a: v.set_guardian(a["caller"], sender=a["caller"]),
    "unpause": lambda v, a: v.set_paused(False, sender=a["caller"]),
    "transfer_ownership": lambda v, a: v.transfer_ownership(a["caller"], sender=a["caller"]),
}


@decimals_free
@pytest.mark.parametrize("call", list(ADMIN_CALLS))
def test_admin__not_the_owner__reverts(call, vault, owner, guardian, stranger, engine_signer, weth):
    vault.set_guardian(guardian, sender=owner)
    for account in (stranger, guardian, engine_signer):
        with ape.reverts(NOT_OWNER):
            ADMIN_CALLS[call](vault, {"caller": account, "weth": weth})


@decimals_free
def test_transfer_ownership__two_steps__hands_over_the_admin(vault, owner, stranger, other_lender, guardian):
    tx = vault.transfer_ownership(stranger, sender=owner)
    started = vault.OwnershipTransferStarted.from_receipt(tx)[0]
    assert (started.previous_owner, started.new_owner) == (owner.address, stranger.address)
    assert vault.owner() == owner.address
    assert vault.pending_owner() == stranger.address
    with ape.reverts(NOT_NEW_OWNER):
        vault.accept_ownership(sender=other_lender)
    tx = vault.accept_ownership(sender=stranger)
    transferred = vault.OwnershipTransferred.from_receipt(tx)[0]
    assert (transferred.previous_owner, transferred.new_owner) == (owner.address, stranger.address)
    assert vault.owner() == stranger.address
    assert vault.pending_owner() == ZERO_ADDRESS
    with ape.reverts(NOT_OWNER):
        vault.set_guardian(guardian, sender=owner)
    vault.set_guardian(guardian, sender=stranger)
    assert vault.guardian() == guardian.address


@decimals_free
def test_accept_ownership__nothing_pending__reverts(vault, owner, stranger):
    with ape.reverts(NOT_NEW_OWNER):
        vault.accept_ownership(sender=stranger)
    assert vault.owner() == owner.address
