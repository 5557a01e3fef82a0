"""LiquidationQueue: bid lifecycle, the same-block rule, slot-ordered fills, O(1) pro-rata, epochs and payouts.

`engine_account` plays the liquidation engine: it calls `fill` directly and, like the engine, delivers the
collateral right after each fill (the tests mint it to the queue).
"""

from fractions import Fraction

import ape
import eth_abi
import pytest
import web3.exceptions

WAD = 10**18
MAX_UINT = 2**256 - 1
STEP = WAD // 100  # 1% per slot
MAX_SLOT = 10
WAIT = 3_600
BASE_PRICE = WAD  # $1
COLLATERAL_PRICE = 2_000 * WAD  # $2,000
NO_CAP = 2**200
# stands in for the vault, which receives the repayment
RECEIVER = "0x00000000000000000000000000000000000fa017"


# ------------------------------------------------------------------------------------------------ helpers


def slot_price(price: int, slot: int, step: int = STEP) -> int:
    return price * (WAD - slot * step) // WAD


def quote(active, funds_left, collateral_left, slot_p, base_decimals, collateral_decimals, base_price=BASE_PRICE):
    """(u, x) of one slot, exactly as the contract rounds: whole collateral units, rounded down, then the base that
    pays for them, rounded up."""
    base_value = base_price * 10**collateral_decimals
    slot_value = 10**base_decimals * slot_p
    x = min(min(active, funds_left) * base_value // slot_value, collateral_left)
    u = -(-x * slot_value // base_value)
    return u, x


def same_block(chain, *calls):
    """Send `(method, args, sender)` calls as separate transactions mined in ONE block; return their receipts."""
    provider = chain.provider
    w3 = provider.web3
    provider.make_request("evm_setAutomine", [False])
    try:
        hashes = [
            w3.eth.send_transaction(
                {
                    "from": sender.address,
                    "to": method.contract.address,
                    "data": "0x" + bytes(method.encode_input(*args)).hex(),
                    "gas": 3_000_000,
                }
            )
            for method, args, sender in calls
        ]
        provider.make_request("evm_mine", [])
    finally:
        provider.make_request("evm_setAutomine", [True])
    receipts = [w3.eth.wait_for_transaction_receipt(h, timeout=60, poll_latency=0.005) for h in hashes]
    assert len({r["blockNumber"] for r in receipts}) == 1
    return receipts


# ------------------------------------------------------------------------------------------------ fixtures


# Module-scoped: deployed once, and ape restores the chain to that point after every test.


@pytest.fixture(scope="module", autouse=True)
def _actors(accounts, owner, bidder, other_bidder, keeper, stranger, engine_account):
    """Resolve the session-scoped actors before any test's snapshot (ape's isolation needs broader scopes first)."""


@pytest.fixture(scope="module")
def base_decimals():
    return 6


@pytest.fixture(scope="module")
def collateral_decimals():
    return 18


@pytest.fixture(scope="module")
def base(project, owner, base_decimals):
    return project.MockERC20.deploy("USD", "USD", base_decimals, sender=owner)


@pytest.fixture(scope="module")
def collateral(project, owner, collateral_decimals):
    return project.MockERC20.deploy("Wrapped Ether", "WETH", collateral_decimals, sender=owner)


@pytest.fixture(scope="module")
def queue(project, owner, base, collateral, engine_account, bidder, other_bidder):
    """Slots of 1% up to slot 10, a one-hour wait and no threshold: bids wait unless a test lowers the bar.
    `bidder` and `other_bidder` hold plenty of base and have approved the queue."""
    queue = project.LiquidationQueue.deploy(base, sender=owner)
    queue.set_engine(engine_account, sender=owner)
    queue.set_pool_params(collateral, STEP, MAX_SLOT, WAIT, 0, sender=owner)
    for account in (bidder, other_bidder):
        base.mint(account, 10**40, sender=owner)
        base.approve(queue, MAX_UINT, sender=account)
    return queue


@pytest.fixture(scope="module")
def unit(base_decimals):
    return 10**base_decimals


@pytest.fixture
def submit(queue, base, collateral):
    """Submit a bid (funding the bidder first if needed); return its id."""

    def submit(bidder, slot, amount, token=None):
        if base.allowance(bidder, queue) < amount:
            base.mint(bidder, amount, sender=bidder)
            base.approve(queue, amount, sender=bidder)
        tx = queue.submit_bid(token or collateral, slot, amount, sender=bidder)
        return tx.decode_logs(queue.BidSubmitted)[0].bid_id

    return submit


@pytest.fixture
def place(queue, submit, chain, keeper):
    """Submit bids `(bidder, slot, amount)`, wait them out and activate them in one call; they fill from the
    next block on."""

    def place(*bids):
        ids = [submit(bidder, slot, amount) for bidder, slot, amount in bids]
        chain.pending_timestamp += WAIT
        queue.activate_bids(ids, sender=keeper)
        chain.mine()  # views run in the latest block: one more block and the bids show as active
        return ids

    return place


@pytest.fixture
def fill(queue, collateral, engine_account, keeper):
    """Fill as the engine, then deliver the collateral bought; return the receipt."""

    def fill(funds, max_collateral=NO_CAP, price=COLLATERAL_PRICE, keeper_fee=0):
        tx = queue.fill(
            collateral, price, BASE_PRICE, funds, max_collateral, keeper, keeper_fee, RECEIVER, sender=engine_account
        )
        bought = sum(log.collateral_bought for log in tx.decode_logs(queue.SlotFilled))
        if bought:
            collateral.mint(queue, bought, sender=engine_account)
        return tx

    return fill


# ------------------------------------------------------------------------------------------------ deployment and admin


def test_deploy__records_base_asset_and_owner(queue, base, owner, engine_account, collateral):
    assert queue.base_asset() == base.address
    assert queue.owner() == owner.address
    assert queue.engine() == engine_account.address
    assert queue.next_bid_id() == 1
    assert queue.pool_params(collateral) == (STEP, MAX_SLOT, WAIT, 0)
    assert queue.total_active(collateral) == 0


def deploy_revert_reason(project, owner, base_asset) -> str:
    """Reason of a reverting deployment, from an eth_call of the creation code (ape's trace display cannot decode
    a reverted constructor)."""
    creation = project.LiquidationQueue.contract_type.deployment_bytecode.bytecode
    data = creation + eth_abi.encode(["address"], [str(base_asset)]).hex()
    with pytest.raises(web3.exceptions.ContractLogicError) as error:
        owner.provider.web3.eth.call({"from": owner.address, "data": data})
    return str(error.value.message)


def test_deploy__zero_base_asset__reverts(project, owner):
    reason = deploy_revert_reason(project, owner, "0x0000000000000000000000000000000000000000")
    assert reason.endswith("queue: zero address")


def test_deploy__base_with_19_decimals__reverts(project, owner):
    token = project.MockFeeToken.deploy(19, sender=owner)
    assert deploy_revert_reason(project, owner, token.address).endswith("queue: decimals above 18")


def test_set_engine__owner__sets_and_emits(project, base, owner, keeper):
    queue = project.LiquidationQueue.deploy(base, sender=owner)
    tx = queue.set_engine(keeper, sender=owner)
    assert queue.engine() == keeper.address
    assert [log.engine for log in tx.decode_logs(queue.EngineSet)] == [keeper.address]


def test_set_engine__second_time__reverts_even_for_the_owner(queue, owner, engine_account):
    with ape.reverts("queue: engine already set"):
        queue.set_engine(owner, sender=owner)
    assert queue.engine() == engine_account.address


def test_set_engine__stranger__reverts(queue, stranger):
    with ape.reverts("ownable: caller is not the owner"):
        queue.set_engine(stranger, sender=stranger)


def test_set_engine__zero_address__reverts(queue, owner):
    with ape.reverts("queue: zero address"):
        queue.set_engine("0x0000000000000000000000000000000000000000", sender=owner)


def test_set_pool_params__first_call__enables_collateral_and_emits(project, queue, owner, bidder, submit):
    wbtc = project.MockERC20.deploy("Wrapped Bitcoin", "WBTC", 8, sender=owner)
    with ape.reverts("queue: collateral not enabled"):
        submit(bidder, 0, 1, token=wbtc)
    tx = queue.set_pool_params(wbtc, 2 * STEP, 20, 600, 10**9, sender=owner)
    assert queue.pool_params(wbtc) == (2 * STEP, 20, 600, 10**9)
    [log] = tx.decode_logs(queue.PoolParamsSet)
    assert (log.collateral, log.premium_step, log.max_slot, log.waiting_period, log.bid_threshold) == (
        wbtc.address,
        2 * STEP,
        20,
        600,
        10**9,
    )
    assert submit(bidder, 20, 1, token=wbtc) == 1


def test_set_pool_params__update__replaces_params(queue, owner, collateral, chain):
    # the waiting period and the threshold at once, the terms of the standing bids a day later
    queue.set_pool_params(collateral, STEP // 2, 40, 0, 123, sender=owner)
    assert queue.pool_params(collateral) == (STEP, MAX_SLOT, 0, 123)
    chain.pending_timestamp += 86_400
    chain.mine()
    assert queue.pool_params(collateral) == (STEP // 2, 40, 0, 123)


def test_set_pool_params__limits__are_inclusive(queue, owner, collateral, chain):
    # 100 slots whose premiums stop one wei short of 50%, and a week-long wait
    step = (WAD // 2 - 1) // 100
    queue.set_pool_params(collateral, step, 100, 7 * 86_400, 0, sender=owner)
    chain.pending_timestamp += 7 * 86_400  # the new terms wait out the (new) waiting period, a week
    chain.mine()
    assert queue.pool_params(collateral) == (step, 100, 7 * 86_400, 0)


def test_set_pool_params__stranger__reverts(queue, stranger, collateral):
    with ape.reverts("ownable: caller is not the owner"):
        queue.set_pool_params(collateral, STEP, MAX_SLOT, WAIT, 0, sender=stranger)


@pytest.mark.parametrize(
    "step, max_slot, waiting, reason",
    [
        (0, 10, 0, "queue: zero premium step"),
        (STEP, 0, 0, "queue: max slot out of range"),
        (STEP // 10, 101, 0, "queue: max slot out of range"),
        (STEP, 50, 0, "queue: premium cap too high"),
        (WAD // 2, 1, 0, "queue: premium cap too high"),
        (2**255, 2, 0, "queue: premium cap too high"),
        (STEP, 10, 7 * 86_400 + 1, "queue: waiting period too long"),
    ],
)
def test_set_pool_params__out_of_bounds__reverts(queue, owner, collateral, step, max_slot, waiting, reason):
    with ape.reverts(reason):
        queue.set_pool_params(collateral, step, max_slot, waiting, 0, sender=owner)


def test_set_pool_params__base_asset_or_zero_address__reverts(queue, owner, base):
    with ape.reverts("queue: collateral is the base asset"):
        queue.set_pool_params(base, STEP, MAX_SLOT, WAIT, 0, sender=owner)
    with ape.reverts("queue: zero address"):
        queue.set_pool_params("0x0000000000000000000000000000000000000000", STEP, MAX_SLOT, WAIT, 0, sender=owner)


def test_set_pool_params__collateral_with_19_decimals__reverts(project, queue, owner):
    token = project.MockFeeToken.deploy(19, sender=owner)
    with ape.reverts("queue: decimals above 18"):
        queue.set_pool_params(token, STEP, MAX_SLOT, WAIT, 0, sender=owner)


def test_ownership__two_step_transfer__needs_acceptance(queue, owner, stranger):
    queue.transfer_ownership(stranger, sender=owner)
    assert queue.owner() == owner.address
    assert queue.pending_owner() == stranger.address
    queue.accept_ownership(sender=stranger)
    assert queue.owner() == stranger.address
    with ape.reverts("ownable: caller is not the owner"):
        queue.set_engine(owner, sender=owner)


# ------------------------------------------------------------------------------------------------ submit_bid


def test_submit_bid__above_threshold__pulls_base_and_waits(queue, base, collateral, bidder, submit, unit, chain):
    before = base.balanceOf(bidder)
    bid_id = submit(bidder, 3, 500 * unit)
    assert bid_id == 1
    assert queue.next_bid_id() == 2
    assert base.balanceOf(queue) == 500 * unit
    assert base.balanceOf(bidder) == before - 500 * unit
    info = queue.bid_info(bid_id)
    submitted_at = chain.blocks.head.timestamp
    assert (info.owner, info.collateral, info.slot, info.amount, info.claimable) == (
        bidder.address,
        collateral.address,
        3,
        500 * unit,
        0,
    )
    assert info.pending and info.activates_at == submitted_at + WAIT
    assert queue.slot_info(collateral, 3) == (0, 500 * unit, 3 * STEP)
    assert queue.total_active(collateral) == 0
    assert queue.usable_liquidity(collateral) == 0


def test_submit_bid__emits_bid_submitted(queue, base, collateral, bidder, unit, chain):
    tx = queue.submit_bid(collateral, 2, 7 * unit, sender=bidder)
    [log] = tx.decode_logs(queue.BidSubmitted)
    assert (log.bid_id, log.owner, log.collateral, log.slot, log.amount, log.immediate) == (
        1,
        bidder.address,
        collateral.address,
        2,
        7 * unit,
        False,
    )
    assert log.activates_at == chain.blocks.head.timestamp + WAIT


def test_submit_bid__below_threshold__activates_next_block(queue, owner, collateral, bidder, submit, unit, chain):
    queue.set_pool_params(collateral, STEP, MAX_SLOT, WAIT, 1_000 * unit, sender=owner)
    bid_id = submit(bidder, 0, 100 * unit)
    info = queue.bid_info(bid_id)
    assert not info.pending and info.activates_at == 0 and info.amount == 100 * unit
    assert queue.total_active(collateral) == 100 * unit
    # views run in the latest block, the bid's own: it is not usable there
    assert queue.slot_info(collateral, 0) == (0, 100 * unit, 0)
    assert queue.usable_liquidity(collateral) == 0
    assert queue.preview_fill(collateral, COLLATERAL_PRICE, BASE_PRICE, unit, NO_CAP, 0).raised == 0
    chain.mine()
    assert queue.slot_info(collateral, 0) == (100 * unit, 0, 0)
    assert queue.usable_liquidity(collateral) == 100 * unit
    assert queue.preview_fill(collateral, COLLATERAL_PRICE, BASE_PRICE, unit, NO_CAP, 0).raised == unit


def test_submit_bid__below_threshold__never_fills_in_its_own_block(
    queue, owner, base, collateral, bidder, engine_account, keeper, unit, chain
):
    queue.set_pool_params(collateral, STEP, MAX_SLOT, WAIT, 1_000 * unit, sender=owner)
    fill_args = (collateral, COLLATERAL_PRICE, BASE_PRICE, 50 * unit, NO_CAP, keeper, 0, RECEIVER)
    submit_rcpt, fill_rcpt = same_block(
        chain,
        (queue.submit_bid, (collateral, 0, 100 * unit), bidder),
        (queue.fill, fill_args, engine_account),
    )
    assert submit_rcpt["status"] == 1 and fill_rcpt["status"] == 1
    assert base.balanceOf(RECEIVER) == 0
    assert queue.bid_info(1).amount == 100 * unit
    # the next block may use it
    queue.fill(*fill_args, sender=engine_account)
    assert base.balanceOf(RECEIVER) == 50 * unit
    assert queue.bid_info(1).amount == 50 * unit


def test_submit_bid__threshold__compares_total_active_bids(queue, owner, collateral, bidder, submit, unit):
    queue.set_pool_params(collateral, STEP, MAX_SLOT, WAIT, 100 * unit, sender=owner)
    first = submit(bidder, 0, 60 * unit)
    second = submit(bidder, 5, 40 * unit)  # 60 < 100: still immediate
    third = submit(bidder, 0, 1)  # 100 is not below 100
    assert [queue.bid_info(i).pending for i in (first, second, third)] == [False, False, True]
    assert queue.total_active(collateral) == 100 * unit


def test_submit_bid__collateral_not_enabled__reverts(project, owner, bidder, submit):
    other = project.MockERC20.deploy("Other", "OTH", 18, sender=owner)
    with ape.reverts("queue: collateral not enabled"):
        submit(bidder, 0, 1, token=other)


def test_submit_bid__slot_above_max_slot__reverts(bidder, submit):
    with ape.reverts("queue: slot above max slot"):
        submit(bidder, MAX_SLOT + 1, 1)


def test_submit_bid__zero_amount__reverts(bidder, submit):
    with ape.reverts("queue: zero amount"):
        submit(bidder, 0, 0)


def test_submit_bid__amount_above_2_pow_128__reverts(bidder, submit):
    with ape.reverts("queue: amount too large"):
        submit(bidder, 0, 2**128 + 1)


def test_submit_bid__slot_total_above_2_pow_128__reverts(queue, collateral, bidder, other_bidder, submit):
    submit(bidder, 4, 2**128)
    with ape.reverts("queue: slot full"):
        submit(other_bidder, 4, 1)
    submit(other_bidder, 5, 1)  # other slots are not affected
    assert queue.slot_info(collateral, 4).pending == 2**128


def test_submit_bid__fee_on_transfer_base__reverts(project, owner, bidder, collateral):
    fee_token = project.MockFeeToken.deploy(6, sender=owner)
    queue = project.LiquidationQueue.deploy(fee_token, sender=owner)
    queue.set_pool_params(collateral, STEP, MAX_SLOT, WAIT, 0, sender=owner)
    fee_token.mint(bidder, 1_000, sender=bidder)
    fee_token.approve(queue, 1_000, sender=bidder)
    with ape.reverts("transfers: fee-on-transfer token"):
        queue.submit_bid(collateral, 0, 1_000, sender=bidder)


def test_submit_bid__without_allowance__reverts(queue, base, collateral, stranger, unit):
    base.mint(stranger, unit, sender=stranger)
    with ape.reverts():
        queue.submit_bid(collateral, 0, unit, sender=stranger)


# ------------------------------------------------------------------------------------------------ activate_bids


def test_activate_bids__before_due__reverts(queue, bidder, keeper, submit, chain):
    bid_id = submit(bidder, 0, 1_000)
    chain.pending_timestamp += WAIT - 5
    with ape.reverts("queue: bid not due"):
        queue.activate_bids([bid_id], sender=keeper)


@pytest.mark.parametrize("which", ["unknown", "active", "retracted"])
def test_activate_bids__bid_not_pending__reverts(queue, bidder, keeper, submit, place, which):
    if which == "unknown":
        bid_id = 42
    elif which == "active":
        [bid_id] = place((bidder, 0, 1_000))
    else:
        bid_id = submit(bidder, 0, 1_000)
        queue.retract_bid(bid_id, MAX_UINT, sender=bidder)
    with ape.reverts("queue: bid not pending"):
        queue.activate_bids([bid_id], sender=keeper)


def test_activate_bids__due__anyone_activates_and_emits(
    queue, collateral, bidder, other_bidder, stranger, submit, chain
):
    first = submit(bidder, 1, 1_000)
    second = submit(other_bidder, 1, 3_000)
    chain.pending_timestamp += WAIT
    tx = queue.activate_bids([first, second], sender=stranger)
    logs = tx.decode_logs(queue.BidActivated)
    assert [(log.bid_id, log.collateral, log.slot, log.amount) for log in logs] == [
        (first, collateral.address, 1, 1_000),
        (second, collateral.address, 1, 3_000),
    ]
    assert not queue.bid_info(first).pending
    assert queue.total_active(collateral) == 4_000
    assert queue.slot_info(collateral, 1) == (0, 4_000, STEP)  # activated in the latest block
    chain.mine()
    assert queue.slot_info(collateral, 1) == (4_000, 0, STEP)


def test_activate_bids__twice__reverts(queue, bidder, keeper, submit, chain):
    bid_id = submit(bidder, 0, 1_000)
    chain.pending_timestamp += WAIT
    with ape.reverts("queue: bid not pending"):
        queue.activate_bids([bid_id, bid_id], sender=keeper)


def test_activate_bids__in_the_block_of_a_fill__bid_sits_out_that_fill(
    queue, base, collateral, bidder, other_bidder, keeper, engine_account, submit, place, chain, unit
):
    [early] = place((bidder, 0, 100 * unit))
    late = submit(other_bidder, 0, 100 * unit)
    chain.pending_timestamp += WAIT
    fill_args = (collateral, COLLATERAL_PRICE, BASE_PRICE, 150 * unit, NO_CAP, keeper, 0, RECEIVER)
    same_block(chain, (queue.activate_bids, ([late],), keeper), (queue.fill, fill_args, engine_account))
    # only the early bid was there to fill
    assert base.balanceOf(RECEIVER) == 100 * unit
    assert queue.bid_info(early).amount == 0
    assert queue.bid_info(late).amount == 100 * unit
    chain.mine()
    assert queue.slot_info(collateral, 0).active == 100 * unit


def test_activate_bids__between_fills_of_one_block__join_after_the_last_of_them(
    queue, collateral, bidder, other_bidder, keeper, engine_account, submit, place, chain, unit
):
    [early] = place((bidder, 0, 1_000 * unit))
    first, second = submit(other_bidder, 0, 1_000 * unit), submit(bidder, 0, 1_000 * unit)
    chain.pending_timestamp += WAIT

    def fill_call(funds):
        args = (collateral, COLLATERAL_PRICE, BASE_PRICE, funds, NO_CAP, keeper, 0, RECEIVER)
        return queue.fill, args, engine_account

    receipts = same_block(
        chain,
        (queue.activate_bids, ([first],), keeper),
        fill_call(200 * unit),
        (queue.activate_bids, ([second],), keeper),
        fill_call(300 * unit),
    )
    assert all(r["status"] == 1 for r in receipts)
    x1, x2 = 200 * 10**18 // 2_000, 300 * 10**18 // 2_000  # ether bought at $2,000 (exact)
    # both fills of that block came out of the early bid alone
    assert queue.bid_info(early).amount == 500 * unit
    assert queue.bid_info(first).amount == queue.bid_info(second).amount == 1_000 * unit
    assert queue.claimable(first) == queue.claimable(second) == 0
    # from the next block on all three share: 500 : 1,000 : 1,000
    tx = queue.fill(*fill_call(1_000 * unit)[1], sender=engine_account)
    [log] = tx.decode_logs(queue.SlotFilled)
    collateral.mint(queue, x1 + x2 + log.collateral_bought, sender=engine_account)
    assert [queue.bid_info(i).amount for i in (early, first, second)] == [300 * unit, 600 * unit, 600 * unit]
    assert queue.claimable(early) == x1 + x2 + log.collateral_bought // 5
    assert queue.claimable(first) == queue.claimable(second) == log.collateral_bought * 2 // 5
    queue.claim([second], sender=bidder)
    queue.retract_bid(first, MAX_UINT, sender=other_bidder)
    assert queue.claim([first], sender=other_bidder).return_value == log.collateral_bought * 2 // 5


def test_activate_bids__in_the_block_of_a_draining_fill__joins_the_next_epoch_alone(
    queue, collateral, bidder, other_bidder, keeper, engine_account, submit, place, fill, chain, unit
):
    [early] = place((bidder, 0, 100 * unit))
    late = submit(other_bidder, 0, 100 * unit)
    chain.pending_timestamp += WAIT
    fill_args = (collateral, COLLATERAL_PRICE, BASE_PRICE, 200 * unit, NO_CAP, keeper, 0, RECEIVER)
    receipts = same_block(chain, (queue.activate_bids, ([late],), keeper), (queue.fill, fill_args, engine_account))
    assert all(r["status"] == 1 for r in receipts)
    drained = 100 * 10**18 // 2_000  # the early bid's 100 USD buy 0.05 ether at $2,000 (exact)
    collateral.mint(queue, drained, sender=engine_account)
    assert (queue.bid_info(early).amount, queue.claimable(early)) == (0, drained)
    assert (queue.bid_info(late).amount, queue.claimable(late)) == (100 * unit, 0)
    # the late bid joined the epoch the drain started, at the state after the drain: the next fill is its alone
    [log] = fill(50 * unit).decode_logs(queue.SlotFilled)
    assert log.collateral_bought == 50 * 10**18 // 2_000
    assert (queue.bid_info(late).amount, queue.claimable(late)) == (50 * unit, log.collateral_bought)
    assert queue.claimable(early) == drained
    assert queue.claim([early], sender=bidder).return_value == drained
    assert queue.claim([late], sender=other_bidder).return_value == log.collateral_bought
    assert collateral.balanceOf(queue) == 0


def test_pending_bid__never_fills(queue, base, collateral, bidder, submit, fill, unit):
    bid_id = submit(bidder, 0, 100 * unit)
    tx = fill(100 * unit)
    assert not tx.decode_logs(queue.SlotFilled)
    assert base.balanceOf(RECEIVER) == 0
    assert queue.bid_info(bid_id).amount == 100 * unit
    assert queue.bid_info(bid_id).pending


# ------------------------------------------------------------------------------------------------ fill


def test_fill__stranger__reverts(queue, collateral, stranger, keeper):
    with ape.reverts("queue: caller is not the engine"):
        queue.fill(collateral, COLLATERAL_PRICE, BASE_PRICE, 1, 1, keeper, 0, RECEIVER, sender=stranger)


def test_fill__pool_params_set_before_the_engine__only_the_engine_fills(
    project, owner, base, bidder, engine_account, keeper, stranger, unit, chain
):
    wbtc = project.MockERC20.deploy("Wrapped Bitcoin", "WBTC", 8, sender=owner)
    queue = project.LiquidationQueue.deploy(base, sender=owner)
    queue.set_pool_params(wbtc, STEP, MAX_SLOT, 0, 10**30, sender=owner)  # before the engine; bids activate at once
    queue.set_engine(engine_account, sender=owner)
    base.mint(bidder, 1_000 * unit, sender=owner)
    base.approve(queue, 1_000 * unit, sender=bidder)
    queue.submit_bid(wbtc, 0, 1_000 * unit, sender=bidder)
    chain.mine()
    args = (wbtc, 20_000 * WAD, BASE_PRICE, 100 * unit, NO_CAP, keeper, 0, RECEIVER)
    for update in (False, True):
        if update:  # an update records the engine beside the parameters and keeps the collateral's decimals
            queue.set_pool_params(wbtc, STEP, MAX_SLOT, 0, 10**30, sender=owner)
        with ape.reverts("queue: caller is not the engine"):
            queue.fill(*args, sender=stranger)
        [log] = queue.fill(*args, sender=engine_account).decode_logs(queue.SlotFilled)
        assert log.collateral_bought == 10**8 // 200  # 100 USD buy 0.005 WBTC at $20,000


@pytest.mark.parametrize("collateral_price, base_price", [(0, WAD), (WAD, 0)])
def test_fill__zero_price__reverts(queue, collateral, engine_account, keeper, collateral_price, base_price):
    with ape.reverts("queue: zero price"):
        queue.fill(collateral, collateral_price, base_price, 1, 1, keeper, 0, RECEIVER, sender=engine_account)
    with ape.reverts("queue: zero price"):
        queue.preview_fill(collateral, collateral_price, base_price, 1, 1, 0)


def test_fill__keeper_fee_above_100_percent__reverts(queue, collateral, engine_account, keeper):
    with ape.reverts("queue: keeper fee above 100%"):
        queue.fill(collateral, WAD, WAD, 1, 1, keeper, WAD + 1, RECEIVER, sender=engine_account)
    with ape.reverts("queue: keeper fee above 100%"):
        queue.preview_fill(collateral, WAD, WAD, 1, 1, WAD + 1)


def test_fill__no_active_bids__returns_zeros(project, queue, owner, collateral, engine_account, keeper, fill):
    assert queue.preview_fill(collateral, COLLATERAL_PRICE, BASE_PRICE, 10**9, NO_CAP, 0) == (0, 0, 0, 0, 0)
    tx = fill(10**9)
    assert not tx.decode_logs(queue.SlotFilled)
    unknown = project.MockERC20.deploy("Unknown", "UNK", 18, sender=owner)
    tx = queue.fill(unknown, WAD, WAD, 10**9, NO_CAP, keeper, 0, RECEIVER, sender=engine_account)
    assert not tx.decode_logs(queue.SlotFilled)


def test_fill__one_slot__prices_collateral_at_the_slot_premium(
    queue, base, collateral, bidder, place, fill, unit, base_decimals, collateral_decimals
):
    [bid_id] = place((bidder, 3, 10_000 * unit))
    p3 = slot_price(COLLATERAL_PRICE, 3)
    expected_u, expected_x = quote(10_000 * unit, 4_000 * unit, NO_CAP, p3, base_decimals, collateral_decimals)
    assert queue.preview_fill(collateral, COLLATERAL_PRICE, BASE_PRICE, 4_000 * unit, NO_CAP, 0) == (
        expected_u,
        expected_x,
        0,
        3,
        3,
    )
    tx = fill(4_000 * unit)
    [log] = tx.decode_logs(queue.SlotFilled)
    assert (log.collateral, log.slot, log.base_spent, log.collateral_bought, log.price) == (
        collateral.address,
        3,
        expected_u,
        expected_x,
        p3,
    )
    # $4,000 at $1,940: whole collateral units rounded down, paid for by the base they are worth, rounded up
    assert expected_x == 4_000 * 10**collateral_decimals // 1_940
    assert expected_u == -(-expected_x * 1_940 * unit // 10**collateral_decimals) <= 4_000 * unit
    assert base.balanceOf(RECEIVER) == expected_u
    assert queue.bid_info(bid_id).amount == 10_000 * unit - expected_u
    assert queue.claimable(bid_id) == expected_x
    assert queue.slot_info(collateral, 3).active == 10_000 * unit - expected_u
    assert queue.total_active(collateral) == 10_000 * unit - expected_u


def test_fill__slots__fill_cheapest_first_and_stop_when_funds_are_raised(
    queue, base, collateral, bidder, other_bidder, place, fill, unit
):
    slot0, slot2, slot5 = place((bidder, 0, 1_000 * unit), (other_bidder, 2, 2_000 * unit), (bidder, 5, 4_000 * unit))
    preview = queue.preview_fill(collateral, COLLATERAL_PRICE, BASE_PRICE, 2_500 * unit, NO_CAP, 0)
    tx = fill(2_500 * unit)
    logs = tx.decode_logs(queue.SlotFilled)
    assert [(log.slot, log.base_spent) for log in logs] == [(0, 1_000 * unit), (2, 1_500 * unit)]
    assert [log.price for log in logs] == [COLLATERAL_PRICE, slot_price(COLLATERAL_PRICE, 2)]
    assert (preview.raised, preview.first_slot, preview.last_slot) == (2_500 * unit, 0, 2)
    assert preview.collateral == sum(log.collateral_bought for log in logs)
    assert [queue.bid_info(i).amount for i in (slot0, slot2, slot5)] == [0, 500 * unit, 4_000 * unit]
    assert queue.claimable(slot5) == 0
    assert queue.usable_liquidity(collateral) == 4_500 * unit


def test_fill__slot_k_has_funds__slot_k_plus_1_is_untouched(queue, collateral, bidder, place, fill, unit):
    low, high = place((bidder, 1, 1_000 * unit), (bidder, 2, 1_000 * unit))
    for _ in range(3):
        tx = fill(300 * unit)
        assert [log.slot for log in tx.decode_logs(queue.SlotFilled)] == [1]
    assert queue.bid_info(high).amount == 1_000 * unit
    tx = fill(300 * unit)
    assert [(log.slot, log.base_spent) for log in tx.decode_logs(queue.SlotFilled)] == [
        (1, 100 * unit),
        (2, 200 * unit),
    ]
    assert queue.bid_info(low).amount == 0


def test_fill__hundred_slots__walks_only_the_non_empty_ones_up_to_slot_100(
    queue, owner, collateral, bidder, place, fill, unit, chain
):
    step = WAD // 201  # 100 slots stay below a 50% premium
    queue.set_pool_params(collateral, step, 100, WAIT, 0, sender=owner)
    chain.pending_timestamp += 86_400  # the new terms apply a day later
    place((bidder, 100, 300 * unit), (bidder, 57, 200 * unit), (bidder, 0, 100 * unit))
    tx = fill(10**6 * unit)
    logs = tx.decode_logs(queue.SlotFilled)
    assert [(log.slot, log.base_spent) for log in logs] == [(0, 100 * unit), (57, 200 * unit), (100, 300 * unit)]
    assert logs[-1].price == COLLATERAL_PRICE * (WAD - 100 * step) // WAD
    assert queue.usable_liquidity(collateral) == 0


def test_fill__collateral_cap__gives_at_most_max_collateral_and_rounds_base_up(
    queue, base, collateral, bidder, place, fill, unit, base_decimals, collateral_decimals
):
    place((bidder, 0, 5_000 * unit), (bidder, 1, 5_000 * unit))
    cap = 3 * 10**collateral_decimals + 7  # three coins and change: slot 0 takes 2.5 coins, slot 1 the rest
    preview = queue.preview_fill(collateral, COLLATERAL_PRICE, BASE_PRICE, 10_000 * unit, cap, 0)
    tx = fill(10_000 * unit, max_collateral=cap)
    logs = tx.decode_logs(queue.SlotFilled)
    assert [log.slot for log in logs] == [0, 1]
    u0, x0 = quote(5_000 * unit, 10_000 * unit, cap, COLLATERAL_PRICE, base_decimals, collateral_decimals)
    p1 = slot_price(COLLATERAL_PRICE, 1)
    u1, x1 = quote(5_000 * unit, 10_000 * unit - u0, cap - x0, p1, base_decimals, collateral_decimals)
    assert [(log.base_spent, log.collateral_bought) for log in logs] == [(u0, x0), (u1, x1)]
    assert x0 + x1 == cap
    assert u1 == -(-(cap - x0) * p1 * unit // (BASE_PRICE * 10**collateral_decimals))
    assert (preview.raised, preview.collateral) == (u0 + u1, cap)
    assert base.balanceOf(RECEIVER) == u0 + u1


def test_fill__collateral_worth_less_than_one_base_unit__costs_one_base_unit(
    queue, collateral, bidder, place, fill, unit
):
    [bid_id] = place((bidder, 0, 1_000 * unit))
    # one wei of an 18-decimal coin at $2,000 is worth 2e-15 USD: the pool pays one base unit for it (the base rounds
    # up), so what is left of an account can always be bought and never hides its debt
    assert queue.preview_fill(collateral, COLLATERAL_PRICE, BASE_PRICE, 1_000 * unit, 1, 0) == (1, 1, 0, 0, 0)
    tx = fill(1_000 * unit, max_collateral=1)
    [log] = tx.decode_logs(queue.SlotFilled)
    assert (log.base_spent, log.collateral_bought) == (1, 1)
    assert queue.bid_info(bid_id).amount == 1_000 * unit - 1


def test_fill__keeper_fee__cut_goes_to_keeper_and_the_rest_to_receiver(
    queue, base, collateral, bidder, keeper, place, fill, unit
):
    place((bidder, 0, 1_000 * unit))
    fee = WAD // 200  # 0.5%
    raised = 777 * unit + 3
    preview = queue.preview_fill(collateral, COLLATERAL_PRICE, BASE_PRICE, raised, NO_CAP, fee)
    fill(raised, keeper_fee=fee)
    cut = raised * fee // WAD
    assert preview.keeper_cut == cut
    assert base.balanceOf(keeper) == cut
    assert base.balanceOf(RECEIVER) == raised - cut


def test_fill__whole_keeper_fee__sends_nothing_to_receiver(queue, base, bidder, keeper, place, fill, unit):
    place((bidder, 0, 1_000 * unit))
    fill(400 * unit, keeper_fee=WAD)
    assert base.balanceOf(keeper) == 400 * unit
    assert base.balanceOf(RECEIVER) == 0


def test_fill__slots_above_max_slot__are_ignored(queue, owner, collateral, bidder, place, fill, unit, chain):
    low, high = place((bidder, 2, 100 * unit), (bidder, 8, 100 * unit))
    queue.set_pool_params(collateral, STEP, 5, WAIT, 0, sender=owner)
    chain.pending_timestamp += 86_400  # the lower max slot applies a day later
    chain.mine()
    assert queue.usable_liquidity(collateral) == 100 * unit
    tx = fill(1_000 * unit)
    assert [log.slot for log in tx.decode_logs(queue.SlotFilled)] == [2]
    assert queue.bid_info(low).amount == 0
    assert queue.bid_info(high).amount == 100 * unit
    queue.retract_bid(high, MAX_UINT, sender=bidder)  # still retractable
    assert queue.bid_info(high).owner == "0x0000000000000000000000000000000000000000"


def test_fill__many_bidders__costs_the_same_gas_as_one(
    project, owner, base, collateral, engine_account, keeper, accounts, unit, chain
):
    def second_fill_gas(bidders):
        queue = project.LiquidationQueue.deploy(base, sender=owner)
        queue.set_engine(engine_account, sender=owner)
        queue.set_pool_params(collateral, STEP, MAX_SLOT, 0, 10**30, sender=owner)  # bids activate at once
        for bidder in bidders:
            amount = 8_000 * unit // len(bidders)
            base.mint(bidder, amount, sender=bidder)
            base.approve(queue, amount, sender=bidder)
            queue.submit_bid(collateral, 1, amount, sender=bidder)
        args = (collateral, COLLATERAL_PRICE, BASE_PRICE, 100 * unit, NO_CAP, keeper, WAD // 100, RECEIVER)
        queue.fill(*args, sender=engine_account)  # merges the bucket and writes the slot's first sums
        collateral.mint(queue, 10**17, sender=engine_account)
        return queue.fill(*args, sender=engine_account).gas_used

    one = second_fill_gas([accounts[12]])
    eight = second_fill_gas([accounts[i] for i in range(12, 20)])
    assert one == eight


def test_fill__first_fill_after_activation__writes_no_fresh_storage(queue, base, collateral, bidder, place, fill, unit):
    base.mint(RECEIVER, 1, sender=bidder)  # the receiver's balance is no fresh write in the token either
    place((bidder, 0, 1_000 * unit))
    first = fill(100 * unit).gas_used  # merges the bucket the activation opened: the slot's first fill
    later = fill(100 * unit).gas_used
    # merging reads the bucket's word (2,100 gas); one fresh storage write would add 17,100 more than an update
    assert first - later < 5_000


@pytest.mark.parametrize("base_decimals_", [6, 8, 18])
@pytest.mark.parametrize("collateral_decimals_", [6, 8, 18])
def test_fill__decimals__pro_rata_split_matches_the_formula(
    project, owner, engine_account, keeper, bidder, other_bidder, chain, base_decimals_, collateral_decimals_
):
    base = project.MockERC20.deploy("USD", "USD", base_decimals_, sender=owner)
    collateral = project.MockERC20.deploy("COL", "COL", collateral_decimals_, sender=owner)
    queue = project.LiquidationQueue.deploy(base, sender=owner)
    queue.set_engine(engine_account, sender=owner)
    queue.set_pool_params(collateral, STEP, MAX_SLOT, 0, 2**200, sender=owner)  # bids activate at once
    unit = 10**base_decimals_
    deposits = {}
    for who, amount in ((bidder, 1_000 * unit + 1), (other_bidder, 3_000 * unit + 2)):
        base.mint(who, amount, sender=owner)
        base.approve(queue, amount, sender=who)
        tx = queue.submit_bid(collateral, 4, amount, sender=who)
        deposits[tx.decode_logs(queue.BidSubmitted)[0].bid_id] = amount
    total = sum(deposits.values())
    funds = 1_234 * unit + 5
    price = 1_777 * WAD + 123
    u, x = quote(total, funds, NO_CAP, slot_price(price, 4), base_decimals_, collateral_decimals_)
    tx = queue.fill(collateral, price, BASE_PRICE, funds, NO_CAP, keeper, 0, RECEIVER, sender=engine_account)
    [log] = tx.decode_logs(queue.SlotFilled)
    assert (log.base_spent, log.collateral_bought) == (u, x)
    collateral.mint(queue, x, sender=owner)
    for bid_id, deposit in deposits.items():
        exact_left = Fraction(deposit * (total - u), total)
        exact_gain = Fraction(x * deposit, total)
        info = queue.bid_info(bid_id)
        # one fill: below the exact share by less than one unit, plus deposit / 1e27 from the floor of S
        assert exact_left - 1 < info.amount <= exact_left
        assert exact_gain - 1 - Fraction(deposit, 10**27) < info.claimable <= exact_gain
    assert sum(queue.claimable(i) for i in deposits) <= x
    for bid_id in deposits:
        who = bidder if bid_id == min(deposits) else other_bidder
        queue.claim([bid_id], sender=who)
        queue.retract_bid(bid_id, MAX_UINT, sender=who)
    assert base.balanceOf(queue) <= 1 and collateral.balanceOf(queue) <= len(deposits)  # one floor per bid


# ------------------------------------------------------------------------------------------------ pro rata, epochs


def test_fill__two_bids__share_each_fill_pro_rata(queue, collateral, bidder, other_bidder, place, fill, unit):
    one, three = place((bidder, 0, 1_000 * unit), (other_bidder, 0, 3_000 * unit))
    tx = fill(2_000 * unit)
    [log] = tx.decode_logs(queue.SlotFilled)
    assert queue.bid_info(one).amount == 500 * unit
    assert queue.bid_info(three).amount == 1_500 * unit
    assert queue.claimable(one) == log.collateral_bought // 4
    assert queue.claimable(three) == log.collateral_bought * 3 // 4


def test_fill__bid_joining_later__shares_only_later_fills(
    queue, collateral, bidder, other_bidder, place, fill, unit, collateral_decimals
):
    [first] = place((bidder, 0, 4_000 * unit))
    fill(2_000 * unit)  # one coin to the first bid alone
    [second] = place((other_bidder, 0, 2_000 * unit))
    fill(2_000 * unit)  # one coin shared 1:1
    coin = 10**collateral_decimals
    assert queue.claimable(first) == coin + coin // 2
    assert queue.claimable(second) == coin // 2
    assert queue.bid_info(first).amount == 1_000 * unit
    assert queue.bid_info(second).amount == 1_000 * unit


def test_fill__total_drain__starts_an_epoch_that_old_bids_do_not_share(
    queue, collateral, bidder, other_bidder, place, fill, unit, collateral_decimals
):
    coin = 10**collateral_decimals
    old_a, old_b = place((bidder, 0, 1_000 * unit), (other_bidder, 0, 1_000 * unit))
    fill(5_000 * unit)  # takes everything
    assert queue.slot_info(collateral, 0).active == 0
    assert queue.usable_liquidity(collateral) == 0
    assert [queue.bid_info(i).amount for i in (old_a, old_b)] == [0, 0]
    assert queue.claimable(old_a) == queue.claimable(old_b) == coin // 2
    [new] = place((other_bidder, 0, 2_000 * unit))
    fill(2_000 * unit)
    assert queue.claimable(new) == coin
    assert queue.claimable(old_a) == coin // 2
    assert queue.claim([old_a], sender=bidder).return_value == coin // 2
    assert queue.claim([new, old_b], sender=other_bidder).return_value == coin + coin // 2
    assert collateral.balanceOf(queue) == 0


def test_fill__near_total_drains__rescale_and_keep_every_bid_whole(
    queue, base, collateral, bidder, other_bidder, place, fill, unit
):
    a, b = place((bidder, 0, 10**6 * unit), (other_bidder, 0, 3 * 10**6 * unit))
    bought = []
    # leave 1,000 units of 4e12 (P falls below its floor and is rescaled), then a single unit
    for keep in (1_000, 1):
        [log] = fill(queue.slot_info(collateral, 0).active - keep).decode_logs(queue.SlotFilled)
        bought.append(log.collateral_bought)
        if keep == 1_000:
            assert (queue.bid_info(a).amount, queue.bid_info(b).amount) == (250, 750)
    assert (queue.bid_info(a).amount, queue.bid_info(b).amount) == (0, 0)  # exactly 1/4 and 3/4 of a unit
    assert queue.slot_info(collateral, 0).active == 1  # owned by nobody: the rounding dust
    for bid_id, share in ((a, Fraction(1, 4)), (b, Fraction(3, 4))):
        exact = share * sum(bought)
        assert exact - 2 < queue.claimable(bid_id) <= exact
    # a bid joining the near-empty slot is not diluted by what the old bids lost
    [late] = place((bidder, 0, 1_000 * unit))
    [log] = fill(500 * unit).decode_logs(queue.SlotFilled)
    total = 1_000 * unit + 1
    assert queue.bid_info(late).amount == 1_000 * unit * (total - 500 * unit) // total
    assert queue.claimable(late) == log.collateral_bought * 1_000 * unit // total
    for bid_id, who in ((a, bidder), (b, other_bidder), (late, bidder)):
        if queue.bid_info(late).amount and bid_id == late:
            queue.retract_bid(late, MAX_UINT, sender=who)
        queue.claim([bid_id], sender=who)
    assert base.balanceOf(queue) == queue.slot_info(collateral, 0).active == queue.total_active(collateral) == 1
    assert collateral.balanceOf(queue) <= 3  # one floor per bid


# ------------------------------------------------------------------------------------------------ retract_bid


def test_retract_bid__pending_part__returns_base_and_emits(queue, base, collateral, bidder, submit, unit):
    bid_id = submit(bidder, 0, 100 * unit)
    before = base.balanceOf(bidder)
    tx = queue.retract_bid(bid_id, 30 * unit, sender=bidder)
    [log] = tx.decode_logs(queue.BidRetracted)
    assert (log.bid_id, log.owner, log.amount, log.remaining) == (bid_id, bidder.address, 30 * unit, 70 * unit)
    assert base.balanceOf(bidder) == before + 30 * unit
    assert queue.bid_info(bid_id).amount == 70 * unit
    assert queue.slot_info(collateral, 0).pending == 70 * unit


def test_retract_bid__pending_all__deletes_the_bid(queue, base, collateral, bidder, submit, unit):
    before = base.balanceOf(bidder)
    bid_id = submit(bidder, 0, 100 * unit)
    queue.retract_bid(bid_id, MAX_UINT, sender=bidder)
    assert base.balanceOf(bidder) == before
    assert base.balanceOf(queue) == 0
    assert queue.bid_info(bid_id).owner == "0x0000000000000000000000000000000000000000"
    assert queue.slot_info(collateral, 0) == (0, 0, 0)


def test_retract_bid__incoming_in_its_activation_block__returns_base(
    queue, owner, base, collateral, bidder, unit, chain
):
    queue.set_pool_params(collateral, STEP, MAX_SLOT, WAIT, 10**6 * unit, sender=owner)
    before = base.balanceOf(bidder)
    receipts = same_block(
        chain,
        (queue.submit_bid, (collateral, 0, 100 * unit), bidder),
        (queue.retract_bid, (1, 40 * unit), bidder),
        (queue.submit_bid, (collateral, 0, 10 * unit), bidder),
    )
    assert all(r["status"] == 1 for r in receipts)
    assert base.balanceOf(bidder) == before - 70 * unit
    assert queue.bid_info(1).amount == 60 * unit
    assert queue.slot_info(collateral, 0) == (0, 70 * unit, 0)
    chain.mine()
    assert queue.slot_info(collateral, 0) == (70 * unit, 0, 0)
    assert queue.total_active(collateral) == 70 * unit
    queue.retract_bid(1, MAX_UINT, sender=bidder)
    queue.retract_bid(2, MAX_UINT, sender=bidder)
    assert base.balanceOf(bidder) == before
    assert queue.usable_liquidity(collateral) == 0


def test_retract_bid__whole_bucket_in_its_block__the_next_activation_opens_it_again(
    queue, owner, base, collateral, bidder, other_bidder, place, fill, unit, chain
):
    [early] = place((bidder, 0, 60 * unit))
    queue.set_pool_params(collateral, STEP, MAX_SLOT, WAIT, 10**6 * unit, sender=owner)  # bids activate at once
    emptied, reopened = queue.next_bid_id(), queue.next_bid_id() + 1
    before = base.balanceOf(other_bidder)
    receipts = same_block(
        chain,
        (queue.submit_bid, (collateral, 0, 100 * unit), other_bidder),
        (queue.retract_bid, (emptied, MAX_UINT), other_bidder),
        (queue.submit_bid, (collateral, 0, 40 * unit), other_bidder),
    )
    assert all(r["status"] == 1 for r in receipts)
    assert base.balanceOf(other_bidder) == before - 40 * unit
    assert queue.bid_info(emptied).owner == "0x0000000000000000000000000000000000000000"
    assert queue.slot_info(collateral, 0) == (60 * unit, 40 * unit, 0)
    assert queue.total_active(collateral) == 100 * unit
    chain.mine()
    assert queue.slot_info(collateral, 0) == (100 * unit, 0, 0)
    # both share the next fill 60 : 40
    [log] = fill(50 * unit).decode_logs(queue.SlotFilled)
    assert [queue.bid_info(i).amount for i in (early, reopened)] == [30 * unit, 20 * unit]
    assert queue.claimable(early) == log.collateral_bought * 3 // 5
    assert queue.claimable(reopened) == log.collateral_bought * 2 // 5


def test_retract_bid__after_partial_fill__returns_what_is_left_and_keeps_gains(
    queue, base, collateral, bidder, other_bidder, place, fill, unit
):
    mine, theirs = place((bidder, 0, 1_000 * unit), (other_bidder, 0, 1_000 * unit))
    before = base.balanceOf(bidder)
    [log] = fill(1_000 * unit).decode_logs(queue.SlotFilled)
    gained = queue.claimable(mine)
    assert gained == log.collateral_bought // 2
    with ape.reverts("queue: amount exceeds bid"):
        queue.retract_bid(mine, 500 * unit + 1, sender=bidder)
    queue.retract_bid(mine, 200 * unit, sender=bidder)
    assert queue.bid_info(mine).amount == 300 * unit
    assert queue.claimable(mine) == gained
    # the re-snapshotted bid keeps sharing later fills pro rata (300 of 800)
    [log] = fill(400 * unit).decode_logs(queue.SlotFilled)
    assert queue.bid_info(mine).amount == 150 * unit
    assert queue.bid_info(theirs).amount == 250 * unit
    assert (
        gained + log.collateral_bought * 3 // 8 - 1 <= queue.claimable(mine) <= gained + log.collateral_bought * 3 // 8
    )
    queue.retract_bid(mine, MAX_UINT, sender=bidder)
    assert base.balanceOf(bidder) == before + 350 * unit
    info = queue.bid_info(mine)
    assert info.amount == 0 and info.claimable > gained  # kept for claim
    paid = queue.claim([mine], sender=bidder).return_value
    assert paid == info.claimable == collateral.balanceOf(bidder)
    assert queue.bid_info(mine).owner == "0x0000000000000000000000000000000000000000"


def test_retract_bid__after_total_fill__nothing_to_retract(queue, collateral, bidder, place, fill, unit):
    [bid_id] = place((bidder, 0, 1_000 * unit))
    fill(1_000 * unit)
    with ape.reverts("queue: zero amount"):
        queue.retract_bid(bid_id, MAX_UINT, sender=bidder)
    with ape.reverts("queue: amount exceeds bid"):
        queue.retract_bid(bid_id, 1, sender=bidder)


def test_retract_bid__not_owner__reverts(queue, bidder, stranger, submit):
    bid_id = submit(bidder, 0, 100)
    with ape.reverts("queue: not bid owner"):
        queue.retract_bid(bid_id, 1, sender=stranger)
    with ape.reverts("queue: not bid owner"):
        queue.retract_bid(99, 1, sender=stranger)


def test_retract_bid__zero_amount__reverts(queue, bidder, submit):
    bid_id = submit(bidder, 0, 100)
    with ape.reverts("queue: zero amount"):
        queue.retract_bid(bid_id, 0, sender=bidder)


def test_retract_bid__pending_more_than_bid__reverts(queue, bidder, submit):
    bid_id = submit(bidder, 0, 100)
    with ape.reverts("queue: amount exceeds bid"):
        queue.retract_bid(bid_id, 101, sender=bidder)


def test_retract_bid__last_bidder__withdraws_everything_left(
    queue, base, collateral, bidder, other_bidder, place, fill, unit
):
    bids = place((bidder, 0, 333 * unit + 1), (other_bidder, 0, 667 * unit + 2), (bidder, 0, 7))
    for funds in (123 * unit + 4, 77 * unit, 5 * unit + 1):
        fill(funds)
    owners = (bidder, other_bidder, bidder)
    for bid_id, who in zip(bids, owners, strict=True):
        queue.retract_bid(bid_id, MAX_UINT, sender=who)
        queue.claim([bid_id], sender=who)
    assert base.balanceOf(queue) == queue.slot_info(collateral, 0).active <= 3
    assert collateral.balanceOf(queue) <= 3


# ------------------------------------------------------------------------------------------------ claim


def test_claim__after_fills__pays_collateral_and_emits(queue, collateral, bidder, other_bidder, place, fill, unit):
    mine, theirs = place((bidder, 0, 1_000 * unit), (other_bidder, 0, 1_000 * unit))
    fill(500 * unit)
    owed = queue.claimable(mine)
    tx = queue.claim([mine], sender=bidder)
    assert tx.return_value == owed > 0
    [log] = tx.decode_logs(queue.BidClaimed)
    assert (log.bid_id, log.owner, log.collateral_amount) == (mine, bidder.address, owed)
    assert collateral.balanceOf(bidder) == owed
    assert queue.claimable(mine) == 0
    assert queue.bid_info(mine).amount == 750 * unit
    # a second claim has nothing to pay, a later fill adds to it again
    assert queue.claim([mine], sender=bidder).return_value == 0
    fill(500 * unit)
    assert queue.claimable(mine) == queue.claimable(theirs) - owed


def test_claim__nothing_to_claim__pays_zero(queue, collateral, bidder, submit, place):
    waiting = submit(bidder, 0, 100)
    [active] = place((bidder, 1, 100))
    tx = queue.claim([waiting, active], sender=bidder)
    assert tx.return_value == 0
    assert not tx.decode_logs(queue.BidClaimed)
    assert queue.bid_info(waiting).amount == queue.bid_info(active).amount == 100


def test_claim__drained_bid__is_deleted_after_payout(queue, collateral, bidder, place, fill, unit):
    [bid_id] = place((bidder, 0, 1_000 * unit))
    fill(1_000 * unit)
    owed = queue.claimable(bid_id)
    assert queue.claim([bid_id], sender=bidder).return_value == owed
    assert queue.bid_info(bid_id) == ("0x0000000000000000000000000000000000000000",) * 2 + (0,) * 3 + (False, 0)
    with ape.reverts("queue: not bid owner"):
        queue.claim([bid_id], sender=bidder)


def test_claim__several_bids_and_collaterals__pays_each_token(
    project, queue, owner, base, collateral, bidder, engine_account, keeper, place, fill, unit, submit, chain
):
    wbtc = project.MockERC20.deploy("Wrapped Bitcoin", "WBTC", 8, sender=owner)
    queue.set_pool_params(wbtc, STEP, MAX_SLOT, WAIT, 0, sender=owner)
    first, second = place((bidder, 0, 1_000 * unit), (bidder, 1, 1_000 * unit))
    btc_bid = submit(bidder, 0, 1_000 * unit, token=wbtc)
    chain.pending_timestamp += WAIT
    queue.activate_bids([btc_bid], sender=keeper)
    fill(1_500 * unit)
    tx = queue.fill(wbtc, 60_000 * WAD, BASE_PRICE, 600 * unit, NO_CAP, keeper, 0, RECEIVER, sender=engine_account)
    btc = sum(log.collateral_bought for log in tx.decode_logs(queue.SlotFilled))
    wbtc.mint(queue, btc, sender=engine_account)
    owed = [queue.claimable(i) for i in (first, btc_bid, second)]
    assert owed[1] == btc == 10**6  # 600 USD of bitcoin at 60,000
    tx = queue.claim([first, btc_bid, second], sender=bidder)
    assert tx.return_value == sum(owed)
    assert [log.collateral_amount for log in tx.decode_logs(queue.BidClaimed)] == owed
    assert collateral.balanceOf(bidder) == owed[0] + owed[2]
    assert wbtc.balanceOf(bidder) == btc


def test_claim__not_owner__reverts(queue, bidder, stranger, place):
    [bid_id] = place((bidder, 0, 100))
    with ape.reverts("queue: not bid owner"):
        queue.claim([bid_id], sender=stranger)
    with ape.reverts("queue: not bid owner"):
        queue.claim([77], sender=stranger)


# ------------------------------------------------------------------------------------------------ views


def test_views__unknown_bid__are_empty(queue):
    assert queue.bid_info(5).owner == "0x0000000000000000000000000000000000000000"
    assert queue.claimable(5) == 0


def test_slot_info__reports_active_pending_and_premium(queue, collateral, bidder, submit, place, unit):
    place((bidder, 7, 300 * unit))
    submit(bidder, 7, 50 * unit)
    assert queue.slot_info(collateral, 7) == (300 * unit, 50 * unit, 7 * STEP)
    assert queue.slot_info(collateral, 6) == (0, 0, 6 * STEP)
    assert queue.usable_liquidity(collateral) == queue.total_active(collateral) == 300 * unit


# ------------------------------------------------------------------------------------------------ minimum bid
# Griefing by many small bids: one-unit bids in every slot make the next liquidation walk (and write) 100 slots. A
# per-collateral minimum bid prices that attack in capital; a partial retraction may not leave a bid below it.

MIN_BID = 100  # whole base tokens


@pytest.fixture
def min_bid(queue, owner, collateral, unit):
    queue.set_min_bid(collateral, MIN_BID * unit, sender=owner)
    return MIN_BID * unit


def test_set_min_bid__owner__sets_and_emits(queue, owner, collateral, unit):
    assert queue.min_bid(collateral) == 0
    tx = queue.set_min_bid(collateral, 25 * unit, sender=owner)
    assert queue.min_bid(collateral) == 25 * unit
    [log] = tx.decode_logs(queue.MinBidSet)
    assert (log.collateral, log.min_bid) == (collateral.address, 25 * unit)


def test_set_min_bid__stranger__reverts(queue, stranger, collateral, unit):
    with ape.reverts("ownable: caller is not the owner"):
        queue.set_min_bid(collateral, unit, sender=stranger)


def test_set_min_bid__above_ten_thousand_base_tokens__reverts(queue, owner, collateral, unit):
    queue.set_min_bid(collateral, 10_000 * unit, sender=owner)  # inclusive
    with ape.reverts("queue: min bid too high"):
        queue.set_min_bid(collateral, 10_000 * unit + 1, sender=owner)
    assert queue.min_bid(collateral) == 10_000 * unit


def test_set_min_bid__collateral_not_enabled__reverts(project, queue, owner, unit):
    wbtc = project.MockERC20.deploy("Wrapped Bitcoin", "WBTC", 8, sender=owner)
    with ape.reverts("queue: collateral not enabled"):
        queue.set_min_bid(wbtc, unit, sender=owner)


def test_submit_bid__below_the_minimum__reverts_and_changes_nothing(queue, base, collateral, bidder, submit, min_bid):
    held = base.balanceOf(bidder)
    with ape.reverts("queue: bid below minimum"):
        queue.submit_bid(collateral, 3, min_bid - 1, sender=bidder)
    assert base.balanceOf(bidder) == held
    assert queue.slot_info(collateral, 3).pending == 0
    assert queue.next_bid_id() == 1
    assert submit(bidder, 3, min_bid) == 1  # the minimum itself is a bid


def test_submit_bid__one_unit_in_every_slot__refused_once_a_minimum_is_set(queue, collateral, bidder, min_bid):
    for slot in (0, 1, MAX_SLOT):
        with ape.reverts("queue: bid below minimum"):
            queue.submit_bid(collateral, slot, 1, sender=bidder)


def test_retract_bid__pending_part_leaving_less_than_the_minimum__reverts(queue, bidder, submit, min_bid, unit):
    bid = submit(bidder, 2, min_bid + 10 * unit)
    with ape.reverts("queue: bid left below minimum"):
        queue.retract_bid(bid, 10 * unit + 1, sender=bidder)
    assert queue.bid_info(bid).amount == min_bid + 10 * unit
    queue.retract_bid(bid, 10 * unit, sender=bidder)  # leaves exactly the minimum
    assert queue.bid_info(bid).amount == min_bid


@pytest.mark.parametrize("everything", [MAX_UINT, "exact"])
def test_retract_bid__whole_bid_below_the_minimum__is_always_allowed(
    queue, base, bidder, submit, min_bid, unit, everything
):
    bid = submit(bidder, 2, min_bid + unit)
    held = base.balanceOf(bidder)
    queue.retract_bid(bid, min_bid + unit if everything == "exact" else everything, sender=bidder)
    assert base.balanceOf(bidder) == held + min_bid + unit
    assert queue.bid_info(bid).owner == "0x0000000000000000000000000000000000000000"


def test_fill__may_leave_a_bid_below_the_minimum__which_retracts_only_whole(
    queue, base, collateral, bidder, place, fill, min_bid, unit
):
    [bid] = place((bidder, 0, min_bid))
    fill(min_bid - 3 * unit)  # fills are never refused for the remainder they leave
    left = queue.bid_info(bid).amount
    assert 0 < left < min_bid
    with ape.reverts("queue: bid left below minimum"):
        queue.retract_bid(bid, unit, sender=bidder)
    held = base.balanceOf(bidder)
    queue.retract_bid(bid, MAX_UINT, sender=bidder)
    assert base.balanceOf(bidder) == held + left


def test_set_min_bid__raised_above_a_standing_bid__leaves_it_whole_and_retractable(
    queue, owner, base, collateral, bidder, place, fill, unit
):
    [bid] = place((bidder, 0, 50 * unit))
    queue.set_min_bid(collateral, 100 * unit, sender=owner)
    tx = fill(20 * unit)  # the standing bid still fills
    assert tx.decode_logs(queue.SlotFilled)[0].base_spent > 0
    held = base.balanceOf(bidder)
    queue.retract_bid(bid, MAX_UINT, sender=bidder)
    assert base.balanceOf(bidder) > held


# ------------------------------------------------------------------------------------------------ pool terms
# Nothing moves under a standing bid (invariant 12): a new premium_step or max_slot changes what a standing bid buys
# and where, so it is queued and takes effect TERMS_DELAY later (at least a day, and at least the waiting period, so
# that a bidder who moves has his new bid active before the change bites); the bidder may retract meanwhile.

DAY = 86_400


def test_set_pool_params__new_premium_step__standing_bid_keeps_its_premium_until_the_delay_ends(
    queue, owner, collateral, bidder, place, fill, unit, chain
):
    place((bidder, 5, 1_000 * unit))
    queue.set_pool_params(collateral, 2 * STEP, MAX_SLOT, WAIT, 0, sender=owner)
    assert queue.slot_info(collateral, 5).premium == 5 * STEP
    assert queue.pool_params(collateral).premium_step == STEP
    tx = fill(100 * unit)
    assert tx.decode_logs(queue.SlotFilled)[0].price == slot_price(COLLATERAL_PRICE, 5)
    chain.pending_timestamp += DAY
    chain.mine()
    assert queue.slot_info(collateral, 5).premium == 10 * STEP
    tx = fill(100 * unit)
    assert tx.decode_logs(queue.SlotFilled)[0].price == slot_price(COLLATERAL_PRICE, 5, 2 * STEP)
    assert queue.pool_params(collateral).premium_step == 2 * STEP
    assert queue.pending_pool_terms(collateral) == (0, 0, 0)


def test_set_pool_params__terms_change__is_announced_by_view_and_event(queue, owner, collateral, chain):
    tx = queue.set_pool_params(collateral, 2 * STEP, 20, WAIT, 0, sender=owner)
    effective_at = chain.blocks[tx.block_number].timestamp + DAY
    [log] = tx.decode_logs(queue.PoolTermsQueued)
    assert (log.collateral, log.premium_step, log.max_slot, log.effective_at) == (
        collateral.address,
        2 * STEP,
        20,
        effective_at,
    )
    assert queue.pending_pool_terms(collateral) == (2 * STEP, 20, effective_at)
    assert queue.pool_params(collateral) == (STEP, MAX_SLOT, WAIT, 0)
    [params_log] = tx.decode_logs(queue.PoolParamsSet)  # the terms in force, which did not change
    assert (params_log.premium_step, params_log.max_slot) == (STEP, MAX_SLOT)


def test_set_pool_params__long_waiting_period__delays_the_terms_by_the_waiting_period(queue, owner, collateral, chain):
    tx = queue.set_pool_params(collateral, 2 * STEP, MAX_SLOT, 3 * DAY, 0, sender=owner)
    assert queue.pending_pool_terms(collateral).effective_at == chain.blocks[tx.block_number].timestamp + 3 * DAY
    assert queue.pool_params(collateral).waiting_period == 3 * DAY  # the waiting period itself applies at once


def test_set_pool_params__terms_due__take_effect_at_the_effective_time_not_before(
    queue, owner, collateral, chain, bidder, submit, unit
):
    tx = queue.set_pool_params(collateral, STEP, 20, WAIT, 0, sender=owner)
    effective_at = chain.blocks[tx.block_number].timestamp + DAY
    chain.pending_timestamp = effective_at - 1
    with ape.reverts("queue: slot above max slot"):
        queue.submit_bid(collateral, 20, unit, sender=bidder)
    chain.pending_timestamp = effective_at
    submit(bidder, 20, unit)
    assert queue.pool_params(collateral).max_slot == 20


def test_set_pool_params__lower_max_slot__standing_bid_above_it_fills_until_the_delay_ends(
    queue, owner, collateral, bidder, place, fill, unit, chain
):
    place((bidder, 8, 100 * unit))
    queue.set_pool_params(collateral, STEP, 5, WAIT, 0, sender=owner)
    assert [log.slot for log in fill(10 * unit).decode_logs(queue.SlotFilled)] == [8]
    chain.pending_timestamp += DAY
    assert fill(10 * unit).decode_logs(queue.SlotFilled) == []


def test_set_pool_params__same_pending_terms_again__keep_their_effective_time(queue, owner, collateral, chain):
    queue.set_pool_params(collateral, 2 * STEP, MAX_SLOT, WAIT, 0, sender=owner)
    first = queue.pending_pool_terms(collateral).effective_at
    chain.pending_timestamp += DAY // 2
    tx = queue.set_pool_params(collateral, 2 * STEP, MAX_SLOT, WAIT, 5, sender=owner)
    assert queue.pending_pool_terms(collateral).effective_at == first
    assert tx.decode_logs(queue.PoolTermsQueued) == []
    assert queue.pool_params(collateral).bid_threshold == 5  # the threshold applies at once


def test_set_pool_params__back_to_the_terms_in_force__cancels_the_change(queue, owner, collateral, chain):
    queue.set_pool_params(collateral, 2 * STEP, MAX_SLOT, WAIT, 0, sender=owner)
    queue.set_pool_params(collateral, STEP, MAX_SLOT, WAIT, 0, sender=owner)
    assert queue.pending_pool_terms(collateral) == (0, 0, 0)
    chain.pending_timestamp += 2 * DAY
    chain.mine()
    assert queue.pool_params(collateral).premium_step == STEP


def test_set_pool_params__during_the_delay__bidder_retracts_everything(
    queue, owner, base, collateral, bidder, place, unit
):
    [bid] = place((bidder, 5, 1_000 * unit))
    queue.set_pool_params(collateral, 4 * STEP, MAX_SLOT, WAIT, 0, sender=owner)
    held = base.balanceOf(bidder)
    queue.retract_bid(bid, MAX_UINT, sender=bidder)
    assert base.balanceOf(bidder) == held + 1_000 * unit


def test_set_pool_params__threshold_and_waiting_period__apply_at_once(queue, owner, collateral):
    queue.set_pool_params(collateral, STEP, MAX_SLOT, 0, 123, sender=owner)
    assert queue.pool_params(collateral) == (STEP, MAX_SLOT, 0, 123)
    assert queue.pending_pool_terms(collateral) == (0, 0, 0)


def test_set_pool_params__same_pending_terms_with_a_longer_wait__apply_no_sooner_than_a_new_bid_could_activate(
    queue, owner, collateral, chain
):
    queue.set_pool_params(collateral, 2 * STEP, MAX_SLOT, WAIT, 0, sender=owner)
    first = queue.pending_pool_terms(collateral).effective_at
    chain.pending_timestamp += DAY // 2
    tx = queue.set_pool_params(collateral, 2 * STEP, MAX_SLOT, 2 * DAY, 0, sender=owner)
    # a bidder who moves now waits two days for his new bid: the queued terms wait as long
    later = chain.blocks[tx.block_number].timestamp + 2 * DAY
    assert queue.pending_pool_terms(collateral).effective_at == later > first
    [log] = tx.decode_logs(queue.PoolTermsQueued)
    assert log.effective_at == later
