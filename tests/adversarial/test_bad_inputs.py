"""Bad input to every external function of PriceOracle, LendingVault, LiquidationQueue and LiquidationEngine.

Zero and max amounts, unknown assets, zero and non-contract addresses, out-of-bound parameters and wrong callers
each revert with the function's own reason (a token's reason where the token refuses a transfer, snekmate's where
its modules guard), and the mined, reverted transaction changes nothing: no storage write in its prestate diff,
and every balance and storage view of the market reads the same before and after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.adversarial.conftest import MAX_UINT, USDA, WAD, ZERO, fingerprint, revert_checker

NOT_OWNER = "ownable: caller is not the owner"
NOT_ENGINE = "vault: caller is not the engine"
DAY = 86_400


@pytest.fixture(scope="module")
def oddities(project, market, owner, chain):
    """Things no honest caller passes: feeds that are broken in every way, an unpriced token, a 19-decimal one."""
    now = chain.blocks.head.timestamp
    feed = project.MockAggregator
    return {
        "feed_19_decimals": feed.deploy(19, "X / USD", 10**19, sender=owner),
        "feed_negative": feed.deploy(8, "X / USD", -1, sender=owner),
        "feed_stale": _feed_at(feed.deploy(8, "X / USD", 0, sender=owner), owner, 10**8, now - 2 * DAY),
        "feed_incomplete": _feed_at(feed.deploy(8, "X / USD", 0, sender=owner), owner, 10**8, 0),
        "unpriced_token": project.MockERC20.deploy("NOPE", "NOPE", 18, sender=owner),
        "token_19_decimals": project.MockFeeToken.deploy(19, sender=owner),
        "rate_model_1500_percent": project.MockRateModel.deploy(15 * WAD, sender=owner),
    }


def _feed_at(feed, owner, answer, updated_at):
    feed.update_round_data(answer, updated_at, updated_at, sender=owner)
    return feed


@dataclass(frozen=True)
class Case:
    """`contract.function(*args(market, oddities))` sent by `caller` reverts with `reason`."""

    contract: str
    function: str
    args: Any
    caller: str
    reason: str


def feed_of(m, symbol="WETH"):
    return m.system.feeds[symbol][0].address


CASES = {
    # ------------------------------------------------------------------ PriceOracle
    "set_feeds__zero_asset": Case(
        "oracle", "set_feeds", lambda m, o: (ZERO, [feed_of(m)], DAY, 0), "owner", "oracle: zero asset"
    ),
    "set_feeds__no_feeds": Case("oracle", "set_feeds", lambda m, o: (m.weth, [], DAY, 0), "owner", "oracle: no feeds"),
    "set_feeds__max_age_below_60_s": Case(
        "oracle", "set_feeds", lambda m, o: (m.weth, [feed_of(m)], 59, 0), "owner", "oracle: max_age out of bounds"
    ),
    "set_feeds__max_age_above_3_days": Case(
        "oracle",
        "set_feeds",
        lambda m, o: (m.weth, [feed_of(m)], 3 * DAY + 1, 0),
        "owner",
        "oracle: max_age out of bounds",
    ),
    "set_feeds__max_age_max_uint": Case(
        "oracle",
        "set_feeds",
        lambda m, o: (m.weth, [feed_of(m)], MAX_UINT, 0),
        "owner",
        "oracle: max_age out of bounds",
    ),
    "set_feeds__max_spread_above_20_percent": Case(
        "oracle",
        "set_feeds",
        lambda m, o: (m.weth, [feed_of(m)], DAY, 2 * 10**17 + 1),
        "owner",
        "oracle: max_spread out of bounds",
    ),
    "set_feeds__max_spread_max_uint": Case(
        "oracle",
        "set_feeds",
        lambda m, o: (m.weth, [feed_of(m)], DAY, MAX_UINT),
        "owner",
        "oracle: max_spread out of bounds",
    ),
    "set_feeds__two_feeds_zero_spread": Case(
        "oracle",
        "set_feeds",
        lambda m, o: (m.weth, [feed_of(m), feed_of(m, "WBTC")], DAY, 0),
        "owner",
        "oracle: max_spread out of bounds",
    ),
    "set_feeds__zero_feed": Case(
        "oracle", "set_feeds", lambda m, o: (m.weth, [ZERO], DAY, 0), "owner", "oracle: zero feed"
    ),
    "set_feeds__duplicate_feed": Case(
        "oracle",
        "set_feeds",
        lambda m, o: (m.weth, [feed_of(m), feed_of(m)], DAY, 10**16),
        "owner",
        "oracle: duplicate feed",
    ),
    "set_feeds__non_contract_feed": Case(
        "oracle",
        "set_feeds",
        lambda m, o: (m.weth, [m.roles["stranger"].address], DAY, 0),
        "owner",
        "oracle: feed not a contract",
    ),
    "set_feeds__feed_with_19_decimals": Case(
        "oracle",
        "set_feeds",
        lambda m, o: (m.weth, [o["feed_19_decimals"]], DAY, 0),
        "owner",
        "oracle: feed decimals above 18",
    ),
    "set_feeds__negative_feed": Case(
        "oracle",
        "set_feeds",
        lambda m, o: (m.weth, [o["feed_negative"]], DAY, 0),
        "owner",
        "oracle: non-positive price",
    ),
    "set_feeds__stale_feed": Case(
        "oracle", "set_feeds", lambda m, o: (m.weth, [o["feed_stale"]], DAY, 0), "owner", "oracle: stale price"
    ),
    "set_feeds__incomplete_round": Case(
        "oracle",
        "set_feeds",
        lambda m, o: (m.weth, [o["feed_incomplete"]], DAY, 0),
        "owner",
        "oracle: incomplete round",
    ),
    "set_feeds__a_token_as_feed": Case(
        "oracle", "set_feeds", lambda m, o: (m.weth, [m.wbtc], DAY, 0), "owner", "oracle: feed call failed"
    ),
    "set_feeds__stranger": Case(
        "oracle", "set_feeds", lambda m, o: (m.weth, [feed_of(m)], DAY, 0), "stranger", NOT_OWNER
    ),
    "set_min_sources__zero": Case(
        "oracle", "set_min_sources", lambda m, o: (m.weth, 0), "owner", "oracle: min_sources out of bounds"
    ),
    "set_min_sources__above_the_feed_count": Case(
        "oracle", "set_min_sources", lambda m, o: (m.weth, 2), "owner", "oracle: min_sources out of bounds"
    ),
    "set_min_sources__max_uint": Case(
        "oracle", "set_min_sources", lambda m, o: (m.weth, MAX_UINT), "owner", "oracle: min_sources out of bounds"
    ),
    "set_min_sources__unknown_asset": Case(
        "oracle", "set_min_sources", lambda m, o: (o["unpriced_token"], 1), "owner", "oracle: unknown asset"
    ),
    "set_min_sources__stranger": Case("oracle", "set_min_sources", lambda m, o: (m.weth, 1), "stranger", NOT_OWNER),
    "remove_asset__unknown_asset": Case(
        "oracle", "remove_asset", lambda m, o: (o["unpriced_token"],), "owner", "oracle: unknown asset"
    ),
    "remove_asset__zero_asset": Case("oracle", "remove_asset", lambda m, o: (ZERO,), "owner", "oracle: unknown asset"),
    "remove_asset__stranger": Case("oracle", "remove_asset", lambda m, o: (m.weth,), "stranger", NOT_OWNER),
    "oracle_transfer_ownership__stranger": Case(
        "oracle", "transfer_ownership", lambda m, o: (m.roles["stranger"],), "stranger", NOT_OWNER
    ),
    "oracle_accept_ownership__not_offered": Case(
        "oracle", "accept_ownership", lambda m, o: (), "stranger", "ownable_2step: caller is not the new owner"
    ),
    # ------------------------------------------------------------------ LendingVault: lenders
    "deposit__zero_amount": Case(
        "vault", "deposit", lambda m, o: (0, m.roles["lender"]), "lender", "vault: zero amount"
    ),
    "deposit__zero_receiver": Case("vault", "deposit", lambda m, o: (USDA, ZERO), "lender", "vault: zero receiver"),
    "deposit__max_amount": Case(
        "vault", "deposit", lambda m, o: (MAX_UINT, m.roles["lender"]), "lender", "math: mul_div overflow"
    ),
    "deposit__more_than_the_balance": Case(
        "vault", "deposit", lambda m, o: (10**30, m.roles["lender"]), "lender", "erc20: transfer amount exceeds balance"
    ),
    "deposit__without_allowance": Case(
        "vault", "deposit", lambda m, o: (USDA, m.roles["stranger"]), "stranger", "erc20: insufficient allowance"
    ),
    "mint__zero_amount": Case("vault", "mint", lambda m, o: (0, m.roles["lender"]), "lender", "vault: zero amount"),
    "mint__zero_receiver": Case("vault", "mint", lambda m, o: (10**6, ZERO), "lender", "vault: zero receiver"),
    "mint__max_amount": Case(
        "vault", "mint", lambda m, o: (MAX_UINT, m.roles["lender"]), "lender", "erc20: transfer amount exceeds balance"
    ),
    "withdraw__zero_amount": Case(
        "vault", "withdraw", lambda m, o: (0, m.roles["lender"], m.roles["lender"]), "lender", "vault: zero amount"
    ),
    "withdraw__zero_receiver": Case(
        "vault", "withdraw", lambda m, o: (USDA, ZERO, m.roles["lender"]), "lender", "vault: zero receiver"
    ),
    "withdraw__max_amount": Case(
        "vault",
        "withdraw",
        lambda m, o: (MAX_UINT, m.roles["lender"], m.roles["lender"]),
        "lender",
        "math: mul_div overflow",
    ),
    "withdraw__above_liquidity": Case(
        "vault",
        "withdraw",
        lambda m, o: (990_000 * USDA, m.roles["lender"], m.roles["lender"]),
        "lender",
        "vault: insufficient liquidity",
    ),
    "withdraw__someone_elses_shares": Case(
        "vault",
        "withdraw",
        lambda m, o: (USDA, m.roles["stranger"], m.roles["lender"]),
        "stranger",
        "erc20: insufficient allowance",
    ),
    "redeem__zero_amount": Case(
        "vault", "redeem", lambda m, o: (0, m.roles["lender"], m.roles["lender"]), "lender", "vault: zero amount"
    ),
    "redeem__zero_receiver": Case(
        "vault", "redeem", lambda m, o: (10**12, ZERO, m.roles["lender"]), "lender", "vault: zero receiver"
    ),
    "redeem__max_amount": Case(
        "vault",
        "redeem",
        lambda m, o: (MAX_UINT, m.roles["lender"], m.roles["lender"]),
        "lender",
        "vault: insufficient liquidity",
    ),
    "redeem__one_share_worth_nothing": Case(
        "vault", "redeem", lambda m, o: (1, m.roles["lender"], m.roles["lender"]), "lender", "vault: zero assets"
    ),
    "redeem__someone_elses_shares": Case(
        "vault",
        "redeem",
        lambda m, o: (10**12, m.roles["stranger"], m.roles["lender"]),
        "stranger",
        "erc20: insufficient allowance",
    ),
    "redeem__more_shares_than_held": Case(
        "vault",
        "redeem",
        lambda m, o: (10**12, m.roles["stranger"], m.roles["stranger"]),
        "stranger",
        "erc20: burn amount exceeds balance",
    ),
    # ------------------------------------------------------------------ LendingVault: borrowers
    "add_collateral__zero_amount": Case(
        "vault", "add_collateral", lambda m, o: (m.weth, 0, m.roles["borrower"]), "borrower", "vault: zero amount"
    ),
    "add_collateral__zero_account": Case(
        "vault", "add_collateral", lambda m, o: (m.weth, 1, ZERO), "borrower", "vault: zero account"
    ),
    "add_collateral__unknown_asset": Case(
        "vault",
        "add_collateral",
        lambda m, o: (o["unpriced_token"], 1, m.roles["borrower"]),
        "borrower",
        "vault: unknown collateral",
    ),
    "add_collateral__base_asset": Case(
        "vault",
        "add_collateral",
        lambda m, o: (m.base, 1, m.roles["borrower"]),
        "borrower",
        "vault: unknown collateral",
    ),
    "add_collateral__zero_asset": Case(
        "vault", "add_collateral", lambda m, o: (ZERO, 1, m.roles["borrower"]), "borrower", "vault: unknown collateral"
    ),
    "add_collateral__max_amount": Case(
        "vault",
        "add_collateral",
        lambda m, o: (m.weth, MAX_UINT, m.roles["borrower"]),
        "borrower",
        "erc20: transfer amount exceeds balance",
    ),
    "add_collateral__without_allowance": Case(
        "vault",
        "add_collateral",
        lambda m, o: (m.weth, 1, m.roles["stranger"]),
        "stranger",
        "erc20: insufficient allowance",
    ),
    "remove_collateral__zero_amount": Case(
        "vault",
        "remove_collateral",
        lambda m, o: (m.wbtc, 0, m.roles["other_borrower"]),
        "other_borrower",
        "vault: zero amount",
    ),
    "remove_collateral__zero_receiver": Case(
        "vault", "remove_collateral", lambda m, o: (m.wbtc, 1, ZERO), "other_borrower", "vault: zero receiver"
    ),
    "remove_collateral__unknown_asset": Case(
        "vault",
        "remove_collateral",
        lambda m, o: (o["unpriced_token"], 1, m.roles["other_borrower"]),
        "other_borrower",
        "vault: unknown collateral",
    ),
    "remove_collateral__more_than_posted": Case(
        "vault",
        "remove_collateral",
        lambda m, o: (m.wbtc, 10**8 + 1, m.roles["other_borrower"]),
        "other_borrower",
        "vault: insufficient collateral",
    ),
    "remove_collateral__max_with_nothing_posted": Case(
        "vault",
        "remove_collateral",
        lambda m, o: (m.gold, MAX_UINT, m.roles["other_borrower"]),
        "other_borrower",
        "vault: insufficient collateral",
    ),
    "remove_collateral__below_max_ltv": Case(
        "vault",
        "remove_collateral",
        lambda m, o: (m.wbtc, MAX_UINT, m.roles["other_borrower"]),
        "other_borrower",
        "engine: exceeds max ltv",
    ),
    "borrow__zero_amount": Case(
        "vault", "borrow", lambda m, o: (0, m.roles["other_borrower"]), "other_borrower", "vault: zero amount"
    ),
    "borrow__zero_receiver": Case(
        "vault", "borrow", lambda m, o: (USDA, ZERO), "other_borrower", "vault: zero receiver"
    ),
    "borrow__max_amount": Case(
        "vault",
        "borrow",
        lambda m, o: (MAX_UINT, m.roles["other_borrower"]),
        "other_borrower",
        "vault: insufficient liquidity",
    ),
    "borrow__without_collateral": Case(
        "vault", "borrow", lambda m, o: (USDA, m.roles["stranger"]), "stranger", "engine: exceeds max ltv"
    ),
    "borrow__above_max_ltv": Case(
        "vault",
        "borrow",
        lambda m, o: (30_000 * USDA, m.roles["other_borrower"]),
        "other_borrower",
        "engine: exceeds max ltv",
    ),
    "repay__zero_amount": Case(
        "vault", "repay", lambda m, o: (0, m.roles["borrower"]), "borrower", "vault: zero amount"
    ),
    "repay__zero_account": Case("vault", "repay", lambda m, o: (USDA, ZERO), "borrower", "vault: zero account"),
    "repay__account_without_debt": Case(
        "vault", "repay", lambda m, o: (USDA, m.roles["stranger"]), "borrower", "vault: no debt"
    ),
    "repay__without_allowance": Case(
        "vault", "repay", lambda m, o: (USDA, m.roles["borrower"]), "stranger", "erc20: insufficient allowance"
    ),
    # ------------------------------------------------------------------ LendingVault: engine hooks and admin
    "prepare_liquidation__stranger": Case(
        "vault", "prepare_liquidation", lambda m, o: (m.roles["borrower"],), "stranger", NOT_ENGINE
    ),
    "prepare_liquidation__owner": Case(
        "vault", "prepare_liquidation", lambda m, o: (m.roles["borrower"],), "owner", NOT_ENGINE
    ),
    "list_collateral__stranger": Case(
        "vault", "list_collateral", lambda m, o: (o["unpriced_token"],), "stranger", NOT_ENGINE
    ),
    "list_collateral__owner": Case(
        "vault", "list_collateral", lambda m, o: (o["unpriced_token"],), "owner", NOT_ENGINE
    ),
    "list_collateral__engine_listed_twice": Case(
        "vault", "list_collateral", lambda m, o: (m.weth,), "engine", "vault: already listed"
    ),
    "settle_liquidation__stranger": Case(
        "vault",
        "settle_liquidation",
        lambda m, o: (m.roles["borrower"], m.weth, 1, m.roles["stranger"], 0, 0, True),
        "stranger",
        NOT_ENGINE,
    ),
    "settle_liquidation__engine_funds_missing": Case(
        "vault",
        "settle_liquidation",
        lambda m, o: (m.roles["borrower"], m.weth, 0, m.queue, USDA, 0, True),
        "engine",
        "vault: liquidation funds missing",
    ),
    "settle_liquidation__engine_seizes_too_much": Case(
        "vault",
        "settle_liquidation",
        lambda m, o: (m.roles["borrower"], m.weth, 10 * WAD + 1, m.queue, 0, 0, True),
        "engine",
        "vault: seize exceeds collateral",
    ),
    "configure_collateral__stranger": Case(
        "engine", "configure_collateral", lambda m, o: (m.weth, 5 * 10**17, 6 * 10**17, 0), "stranger", NOT_OWNER
    ),
    "configure_collateral__zero_asset": Case(
        "engine", "configure_collateral", lambda m, o: (ZERO, 5 * 10**17, 6 * 10**17, 0), "owner", "engine: zero asset"
    ),
    "configure_collateral__base_asset": Case(
        "engine",
        "configure_collateral",
        lambda m, o: (m.base, 5 * 10**17, 6 * 10**17, 0),
        "owner",
        "engine: base asset as collateral",
    ),
    "configure_collateral__max_ltv_at_liq_ltv": Case(
        "engine",
        "configure_collateral",
        lambda m, o: (m.weth, 6 * 10**17, 6 * 10**17, 0),
        "owner",
        "engine: max_ltv must be below liq_ltv",
    ),
    "configure_collateral__liq_ltv_above_97_percent": Case(
        "engine",
        "configure_collateral",
        lambda m, o: (m.weth, 5 * 10**17, 97 * 10**16 + 1, 0),
        "owner",
        "engine: liq_ltv above bound",
    ),
    "configure_collateral__max_ltv_max_uint": Case(
        "engine",
        "configure_collateral",
        lambda m, o: (m.weth, MAX_UINT, 6 * 10**17, 0),
        "owner",
        "engine: max_ltv must be below liq_ltv",
    ),
    "configure_collateral__risk_factor_above_100_percent": Case(
        "engine",
        "configure_collateral",
        lambda m, o: (m.weth, 5 * 10**17, 6 * 10**17, WAD + 1),
        "owner",
        "engine: risk_factor above bound",
    ),
    "configure_collateral__unpriced_asset": Case(
        "engine",
        "configure_collateral",
        lambda m, o: (o["unpriced_token"], 5 * 10**17, 6 * 10**17, 0),
        "owner",
        "oracle: unknown asset",
    ),
    "configure_collateral__19_decimals": Case(
        "engine",
        "configure_collateral",
        lambda m, o: (o["token_19_decimals"], 5 * 10**17, 6 * 10**17, 0),
        "owner",
        "engine: decimals above 18",
    ),
    "set_risk_limits__stranger": Case(
        "engine", "set_risk_limits", lambda m, o: (0, WAD, WAD, 2 * WAD, 2 * WAD), "stranger", NOT_OWNER
    ),
    "set_risk_limits__base_risk_factor_above_100_percent": Case(
        "engine",
        "set_risk_limits",
        lambda m, o: (WAD + 1, WAD, WAD, 2 * WAD, 2 * WAD),
        "owner",
        "engine: base_risk_factor above bound",
    ),
    "set_risk_limits__zero_max_risk_ratio": Case(
        "engine",
        "set_risk_limits",
        lambda m, o: (0, 0, WAD, 2 * WAD, 2 * WAD),
        "owner",
        "engine: bad risk ratio limits",
    ),
    "set_risk_limits__max_above_liq_risk_ratio": Case(
        "engine",
        "set_risk_limits",
        lambda m, o: (0, 2 * WAD, WAD, 2 * WAD, 2 * WAD),
        "owner",
        "engine: bad risk ratio limits",
    ),
    "set_risk_limits__liq_risk_ratio_above_100": Case(
        "engine",
        "set_risk_limits",
        lambda m, o: (0, WAD, 100 * WAD + 1, 2 * WAD, 2 * WAD),
        "owner",
        "engine: liq_risk_ratio above bound",
    ),
    "set_risk_limits__max_leverage_one": Case(
        "engine", "set_risk_limits", lambda m, o: (0, WAD, WAD, WAD, 2 * WAD), "owner", "engine: bad leverage limits"
    ),
    "set_risk_limits__max_above_liq_leverage": Case(
        "engine",
        "set_risk_limits",
        lambda m, o: (0, WAD, WAD, 3 * WAD, 2 * WAD),
        "owner",
        "engine: bad leverage limits",
    ),
    "set_risk_limits__liq_leverage_above_100": Case(
        "engine",
        "set_risk_limits",
        lambda m, o: (0, WAD, WAD, 2 * WAD, 100 * WAD + 1),
        "owner",
        "engine: liq_leverage above bound",
    ),
    "set_rate_model__stranger": Case(
        "vault", "set_rate_model", lambda m, o: (m.system.vault.rate_model(),), "stranger", NOT_OWNER
    ),
    "set_rate_model__zero_address": Case(
        "vault", "set_rate_model", lambda m, o: (ZERO,), "owner", "vault: bad rate model"
    ),
    "set_rate_model__not_a_contract": Case(
        "vault", "set_rate_model", lambda m, o: (m.roles["stranger"].address,), "owner", "vault: bad rate model"
    ),
    "set_rate_model__a_token": Case(
        "vault", "set_rate_model", lambda m, o: (m.weth,), "owner", "vault: bad rate model"
    ),
    "set_rate_model__quotes_above_1400_percent": Case(
        "vault", "set_rate_model", lambda m, o: (o["rate_model_1500_percent"],), "owner", "vault: bad rate model"
    ),
    "set_reserve_factor__stranger": Case("vault", "set_reserve_factor", lambda m, o: (0,), "stranger", NOT_OWNER),
    "set_reserve_factor__above_50_percent": Case(
        "vault", "set_reserve_factor", lambda m, o: (WAD // 2 + 1,), "owner", "vault: reserve_factor above bound"
    ),
    "set_reserve_factor__max_uint": Case(
        "vault", "set_reserve_factor", lambda m, o: (MAX_UINT,), "owner", "vault: reserve_factor above bound"
    ),
    "withdraw_reserves__stranger": Case(
        "vault", "withdraw_reserves", lambda m, o: (1, m.roles["stranger"]), "stranger", NOT_OWNER
    ),
    "withdraw_reserves__zero_amount": Case(
        "vault", "withdraw_reserves", lambda m, o: (0, m.roles["owner"]), "owner", "vault: zero amount"
    ),
    "withdraw_reserves__zero_receiver": Case(
        "vault", "withdraw_reserves", lambda m, o: (1, ZERO), "owner", "vault: zero receiver"
    ),
    "withdraw_reserves__more_than_the_reserves": Case(
        "vault", "withdraw_reserves", lambda m, o: (MAX_UINT, m.roles["owner"]), "owner", "vault: exceeds reserves"
    ),
    "vault_set_engine__stranger": Case(
        "vault", "set_engine", lambda m, o: (m.roles["stranger"],), "stranger", NOT_OWNER
    ),
    "vault_set_engine__zero_engine": Case("vault", "set_engine", lambda m, o: (ZERO,), "owner", "vault: zero engine"),
    "vault_set_engine__second_time": Case(
        "vault", "set_engine", lambda m, o: (m.roles["stranger"],), "owner", "vault: engine already set"
    ),
    "set_guardian__stranger": Case("vault", "set_guardian", lambda m, o: (m.roles["stranger"],), "stranger", NOT_OWNER),
    "set_guardian__guardian": Case("vault", "set_guardian", lambda m, o: (m.roles["stranger"],), "guardian", NOT_OWNER),
    "set_paused__stranger_pauses": Case(
        "vault", "set_paused", lambda m, o: (True,), "stranger", "vault: not guardian or owner"
    ),
    "set_paused__guardian_unpauses": Case("vault", "set_paused", lambda m, o: (False,), "guardian", NOT_OWNER),
    "share_transfer__to_zero_address": Case(
        "vault", "transfer", lambda m, o: (ZERO, 1), "lender", "erc20: transfer to the zero address"
    ),
    "share_transfer__more_than_held": Case(
        "vault", "transfer", lambda m, o: (m.roles["lender"], 1), "stranger", "erc20: transfer amount exceeds balance"
    ),
    "share_transfer_from__without_allowance": Case(
        "vault",
        "transferFrom",
        lambda m, o: (m.roles["lender"], m.roles["stranger"], 1),
        "stranger",
        "erc20: insufficient allowance",
    ),
    "share_approve__zero_spender": Case(
        "vault", "approve", lambda m, o: (ZERO, 1), "lender", "erc20: approve to the zero address"
    ),
    "vault_transfer_ownership__stranger": Case(
        "vault", "transfer_ownership", lambda m, o: (m.roles["stranger"],), "stranger", NOT_OWNER
    ),
    "vault_accept_ownership__not_offered": Case(
        "vault", "accept_ownership", lambda m, o: (), "stranger", "ownable_2step: caller is not the new owner"
    ),
    # ------------------------------------------------------------------ LiquidationQueue
    "queue_set_engine__stranger": Case(
        "queue", "set_engine", lambda m, o: (m.roles["stranger"],), "stranger", NOT_OWNER
    ),
    "queue_set_engine__zero_address": Case("queue", "set_engine", lambda m, o: (ZERO,), "owner", "queue: zero address"),
    "set_pool_params__stranger": Case(
        "queue", "set_pool_params", lambda m, o: (m.weth, 10**16, 10, 600, 0), "stranger", NOT_OWNER
    ),
    "set_pool_params__zero_collateral": Case(
        "queue", "set_pool_params", lambda m, o: (ZERO, 10**16, 10, 600, 0), "owner", "queue: zero address"
    ),
    "set_pool_params__base_asset": Case(
        "queue",
        "set_pool_params",
        lambda m, o: (m.base, 10**16, 10, 600, 0),
        "owner",
        "queue: collateral is the base asset",
    ),
    "set_pool_params__zero_premium_step": Case(
        "queue", "set_pool_params", lambda m, o: (m.weth, 0, 10, 600, 0), "owner", "queue: zero premium step"
    ),
    "set_pool_params__zero_max_slot": Case(
        "queue", "set_pool_params", lambda m, o: (m.weth, 10**16, 0, 600, 0), "owner", "queue: max slot out of range"
    ),
    "set_pool_params__max_slot_101": Case(
        "queue", "set_pool_params", lambda m, o: (m.weth, 10**15, 101, 600, 0), "owner", "queue: max slot out of range"
    ),
    "set_pool_params__max_slot_max_uint": Case(
        "queue",
        "set_pool_params",
        lambda m, o: (m.weth, 10**16, MAX_UINT, 600, 0),
        "owner",
        "queue: max slot out of range",
    ),
    "set_pool_params__premium_step_50_percent": Case(
        "queue", "set_pool_params", lambda m, o: (m.weth, WAD // 2, 1, 600, 0), "owner", "queue: premium cap too high"
    ),
    "set_pool_params__premium_cap_50_percent": Case(
        "queue", "set_pool_params", lambda m, o: (m.weth, 10**16, 50, 600, 0), "owner", "queue: premium cap too high"
    ),
    "set_pool_params__premium_step_max_uint": Case(
        "queue", "set_pool_params", lambda m, o: (m.weth, MAX_UINT, 1, 600, 0), "owner", "queue: premium cap too high"
    ),
    "set_pool_params__waiting_period_above_a_week": Case(
        "queue",
        "set_pool_params",
        lambda m, o: (m.weth, 10**16, 10, 7 * DAY + 1, 0),
        "owner",
        "queue: waiting period too long",
    ),
    "set_pool_params__19_decimals": Case(
        "queue",
        "set_pool_params",
        lambda m, o: (o["token_19_decimals"], 10**16, 10, 600, 0),
        "owner",
        "queue: decimals above 18",
    ),
    "set_min_bid__stranger": Case("queue", "set_min_bid", lambda m, o: (m.weth, USDA), "stranger", NOT_OWNER),
    "set_min_bid__above_ten_thousand_base_tokens": Case(
        "queue", "set_min_bid", lambda m, o: (m.weth, 10_000 * USDA + 1), "owner", "queue: min bid too high"
    ),
    "set_min_bid__collateral_not_enabled": Case(
        "queue", "set_min_bid", lambda m, o: (o["unpriced_token"], USDA), "owner", "queue: collateral not enabled"
    ),
    "submit_bid__collateral_not_enabled": Case(
        "queue", "submit_bid", lambda m, o: (o["unpriced_token"], 0, USDA), "bidder", "queue: collateral not enabled"
    ),
    "submit_bid__zero_collateral": Case(
        "queue", "submit_bid", lambda m, o: (ZERO, 0, USDA), "bidder", "queue: collateral not enabled"
    ),
    "submit_bid__base_asset_as_collateral": Case(
        "queue", "submit_bid", lambda m, o: (m.base, 0, USDA), "bidder", "queue: collateral not enabled"
    ),
    "submit_bid__slot_above_max_slot": Case(
        "queue", "submit_bid", lambda m, o: (m.weth, 11, USDA), "bidder", "queue: slot above max slot"
    ),
    "submit_bid__slot_max_uint": Case(
        "queue", "submit_bid", lambda m, o: (m.weth, MAX_UINT, USDA), "bidder", "queue: slot above max slot"
    ),
    "submit_bid__zero_amount": Case("queue", "submit_bid", lambda m, o: (m.weth, 0, 0), "bidder", "queue: zero amount"),
    "submit_bid__amount_above_2_pow_128": Case(
        "queue", "submit_bid", lambda m, o: (m.weth, 0, 2**128 + 1), "bidder", "queue: amount too large"
    ),
    "submit_bid__max_amount": Case(
        "queue", "submit_bid", lambda m, o: (m.weth, 0, MAX_UINT), "bidder", "queue: amount too large"
    ),
    "submit_bid__without_allowance": Case(
        "queue", "submit_bid", lambda m, o: (m.weth, 0, USDA), "stranger", "erc20: insufficient allowance"
    ),
    "activate_bids__unknown_bid": Case(
        "queue", "activate_bids", lambda m, o: ([999],), "keeper", "queue: bid not pending"
    ),
    "activate_bids__bid_zero": Case("queue", "activate_bids", lambda m, o: ([0],), "keeper", "queue: bid not pending"),
    "activate_bids__already_active": Case(
        "queue", "activate_bids", lambda m, o: ([m.active_bid],), "keeper", "queue: bid not pending"
    ),
    "activate_bids__not_due": Case(
        "queue", "activate_bids", lambda m, o: ([m.pending_bid],), "keeper", "queue: bid not due"
    ),
    "activate_bids__due_then_unknown": Case(
        "queue", "activate_bids", lambda m, o: ([m.due_bid, 999],), "keeper", "queue: bid not pending"
    ),
    "activate_bids__due_then_not_due": Case(
        "queue", "activate_bids", lambda m, o: ([m.due_bid, m.pending_bid],), "keeper", "queue: bid not due"
    ),
    "retract_bid__not_the_owner": Case(
        "queue", "retract_bid", lambda m, o: (m.active_bid, MAX_UINT), "stranger", "queue: not bid owner"
    ),
    "retract_bid__unknown_bid": Case(
        "queue", "retract_bid", lambda m, o: (999, MAX_UINT), "bidder", "queue: not bid owner"
    ),
    "retract_bid__zero_amount": Case(
        "queue", "retract_bid", lambda m, o: (m.active_bid, 0), "bidder", "queue: zero amount"
    ),
    "retract_bid__more_than_the_bid": Case(
        "queue", "retract_bid", lambda m, o: (m.active_bid, 50_000 * USDA + 1), "bidder", "queue: amount exceeds bid"
    ),
    "claim__not_the_owner": Case("queue", "claim", lambda m, o: ([m.active_bid],), "stranger", "queue: not bid owner"),
    "claim__unknown_bid": Case("queue", "claim", lambda m, o: ([999],), "bidder", "queue: not bid owner"),
    "claim__own_then_someone_elses": Case(
        "queue", "claim", lambda m, o: ([m.active_bid, m.pending_bid],), "bidder", "queue: not bid owner"
    ),
    "fill__stranger": Case(
        "queue",
        "fill",
        lambda m, o: (m.weth, WAD, WAD, 1, 1, m.roles["stranger"], 0, m.roles["stranger"]),
        "stranger",
        "queue: caller is not the engine",
    ),
    "fill__owner": Case(
        "queue",
        "fill",
        lambda m, o: (m.weth, WAD, WAD, 1, 1, m.roles["owner"], 0, m.roles["owner"]),
        "owner",
        "queue: caller is not the engine",
    ),
    "fill__engine_zero_collateral_price": Case(
        "queue",
        "fill",
        lambda m, o: (m.weth, 0, WAD, 1, 1, m.roles["keeper"], 0, m.vault),
        "engine",
        "queue: zero price",
    ),
    "fill__engine_zero_base_price": Case(
        "queue",
        "fill",
        lambda m, o: (m.weth, WAD, 0, 1, 1, m.roles["keeper"], 0, m.vault),
        "engine",
        "queue: zero price",
    ),
    "fill__engine_keeper_fee_above_100_percent": Case(
        "queue",
        "fill",
        lambda m, o: (m.weth, WAD, WAD, 1, 1, m.roles["keeper"], WAD + 1, m.vault),
        "engine",
        "queue: keeper fee above 100%",
    ),
    "queue_transfer_ownership__stranger": Case(
        "queue", "transfer_ownership", lambda m, o: (m.roles["stranger"],), "stranger", NOT_OWNER
    ),
    "queue_accept_ownership__not_offered": Case(
        "queue", "accept_ownership", lambda m, o: (), "stranger", "ownable_2step: caller is not the new owner"
    ),
    # ------------------------------------------------------------------ LiquidationEngine
    "liquidate__zero_account": Case(
        "engine", "liquidate", lambda m, o: (ZERO, m.weth, MAX_UINT), "keeper", "engine: zero account"
    ),
    "liquidate__zero_max_repay": Case(
        "engine", "liquidate", lambda m, o: (m.roles["borrower"], m.weth, 0), "keeper", "engine: zero max repay"
    ),
    "liquidate__unknown_collateral": Case(
        "engine",
        "liquidate",
        lambda m, o: (m.roles["borrower"], o["unpriced_token"], MAX_UINT),
        "keeper",
        "engine: unknown collateral",
    ),
    "liquidate__zero_collateral": Case(
        "engine",
        "liquidate",
        lambda m, o: (m.roles["borrower"], ZERO, MAX_UINT),
        "keeper",
        "engine: unknown collateral",
    ),
    "liquidate__healthy_account": Case(
        "engine", "liquidate", lambda m, o: (m.roles["other_borrower"], m.wbtc, MAX_UINT), "keeper", "engine: healthy"
    ),
    "liquidate__account_without_debt": Case(
        "engine", "liquidate", lambda m, o: (m.roles["stranger"], m.weth, MAX_UINT), "keeper", "engine: healthy"
    ),
    "liquidate__collateral_not_held": Case(
        "engine",
        "liquidate",
        lambda m, o: (m.roles["borrower"], m.gold, MAX_UINT),
        "keeper",
        "engine: no such collateral",
    ),
    "set_close_ratio__stranger": Case("engine", "set_close_ratio", lambda m, o: (WAD // 2,), "stranger", NOT_OWNER),
    "set_close_ratio__below_10_percent": Case(
        "engine", "set_close_ratio", lambda m, o: (10**17 - 1,), "owner", "engine: close_ratio out of bounds"
    ),
    "set_close_ratio__zero": Case(
        "engine", "set_close_ratio", lambda m, o: (0,), "owner", "engine: close_ratio out of bounds"
    ),
    "set_close_ratio__above_100_percent": Case(
        "engine", "set_close_ratio", lambda m, o: (WAD + 1,), "owner", "engine: close_ratio out of bounds"
    ),
    "set_dust_value__stranger": Case("engine", "set_dust_value", lambda m, o: (0,), "stranger", NOT_OWNER),
    "set_dust_value__above_10_000_dollars": Case(
        "engine", "set_dust_value", lambda m, o: (10_000 * WAD + 1,), "owner", "engine: dust_value above bound"
    ),
    "set_dust_value__max_uint": Case(
        "engine", "set_dust_value", lambda m, o: (MAX_UINT,), "owner", "engine: dust_value above bound"
    ),
    "set_fees__stranger": Case("engine", "set_fees", lambda m, o: (0, 0), "stranger", NOT_OWNER),
    "set_fees__keeper_fee_above_5_percent": Case(
        "engine", "set_fees", lambda m, o: (5 * 10**16 + 1, 0), "owner", "engine: keeper_fee above bound"
    ),
    "set_fees__protocol_fee_above_10_percent": Case(
        "engine", "set_fees", lambda m, o: (0, 10**17 + 1), "owner", "engine: protocol_fee above bound"
    ),
    "set_fees__max_uint": Case(
        "engine", "set_fees", lambda m, o: (MAX_UINT, MAX_UINT), "owner", "engine: keeper_fee above bound"
    ),
    "engine_transfer_ownership__stranger": Case(
        "engine", "transfer_ownership", lambda m, o: (m.roles["stranger"],), "stranger", NOT_OWNER
    ),
    "engine_accept_ownership__not_offered": Case(
        "engine", "accept_ownership", lambda m, o: (), "stranger", "ownable_2step: caller is not the new owner"
    ),
}


@pytest.mark.parametrize("case_id", list(CASES))
def test_bad_input__reverts_with_its_own_reason_and_changes_nothing(
    case_id, market, oddities, reverts_and_changes_nothing
):
    case = CASES[case_id]
    method = getattr(getattr(market.system, case.contract), case.function)
    reverts_and_changes_nothing(case.reason, market.roles[case.caller], method, *case.args(market, oddities))


def test_liquidate__max_repay_that_leaves_dust__reverts_and_changes_nothing(
    market, owner, keeper, borrower, reverts_and_changes_nothing
):
    # with a close ratio of 100% a liquidation may repay everything: a cap leaving ~$5 of debt is refused
    market.engine.set_close_ratio(WAD, sender=owner)
    max_repay = market.vault.debt_of(borrower) - 5 * USDA
    reverts_and_changes_nothing(
        "engine: max repay leaves dust", keeper, market.engine.liquidate, borrower, market.weth, max_repay
    )


def test_price__unknown_asset__reverts_with_its_own_reason(market, oddities):
    import ape

    with ape.reverts("oracle: unknown asset"):
        market.oracle.price(oddities["unpriced_token"])


# ------------------------------------------------------------------ non-contract addresses where a token is expected


def test_configure_collateral__non_contract_asset__reverts_with_its_own_reason(market, stranger, owner, fast):
    """The vault reads `decimals()` of a new asset: an account without code is refused first, with a reason."""
    reverts_and_changes_nothing = revert_checker(fast, lambda: fingerprint(fast, market))
    reverts_and_changes_nothing(
        "engine: collateral not a contract",
        owner,
        market.engine.configure_collateral,
        stranger,
        5 * 10**17,
        6 * 10**17,
        0,
    )


def test_set_pool_params__non_contract_collateral__reverts_with_its_own_reason(market, stranger, owner, fast):
    """As above, in the queue."""
    reverts_and_changes_nothing = revert_checker(fast, lambda: fingerprint(fast, market))
    reverts_and_changes_nothing(
        "queue: collateral not a contract", owner, market.queue.set_pool_params, stranger, 10**16, 10, 600, 0
    )


# ------------------------------------------------------------------ arrays above their declared bounds


@pytest.mark.parametrize(
    ("contract", "function", "args", "caller"),
    [
        ("queue", "activate_bids", lambda m: (list(range(1, 102)),), "keeper"),
        ("queue", "claim", lambda m: ([m.active_bid] * 101,), "bidder"),
        (
            "oracle",
            "set_feeds",
            lambda m: (m.weth, [f.address for fs in m.system.feeds.values() for f in fs], DAY, 10**16),
            "owner",
        ),
    ],
    ids=["activate_bids__101_ids", "claim__101_ids", "set_feeds__4_feeds"],
)
def test_array_above_its_bound__is_refused_by_the_abi_decoder_and_changes_nothing(
    contract, function, args, caller, market, fast
):
    """DynArray bounds are enforced by Vyper's ABI decoder before the function body runs: the revert carries no reason
    string (the only reverts in this suite that do not), and nothing changes."""
    method = getattr(getattr(market.system, contract), function)
    revert_checker(fast, lambda: fingerprint(fast, market))(
        "execution reverted", market.roles[caller], method, *args(market)
    )
