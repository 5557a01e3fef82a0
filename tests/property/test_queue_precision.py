"""LiquidationQueue precision regression: 1,000 consecutive fills of one slot.

Random fill sizes, among them near-total drains (99.9999%, 1 - 1e-9, 1 - 1e-12, 1 - 1e-15, down to a single unit
left) that drive the running product through many scale steps, total drains that start new epochs, and new bidders
joining at every depth. The failure modes this guards against are those of the Liquity stability-pool history: a
product that reaches zero or loses its precision after a near-total drain, gains ignored across scale steps, and
rounding remainders that leave the last bidder unable to withdraw or the pool short of what it owes.

Transactions go straight to Anvil (web3, no ape receipt processing) to keep the thousand fills fast.
"""

import random
from fractions import Fraction

import eth_abi
from eth_utils import keccak

WAD = 10**18
MAX_UINT = 2**256 - 1
BASE_DECIMALS = 18
# one collateral unit is worth exactly one base unit, so every fill spends exactly the base it is asked for (the
# quote buys whole collateral units only) and the near-total drains below leave exactly what they aim to
COLLATERAL_DECIMALS = 18
COLLATERAL_PRICE = WAD
FILLS = 1_000
CHECK_EVERY = 200
P_FLOOR = 10**27
RECEIVER = "0x00000000000000000000000000000000000fa017"
SLOT_FILLED = keccak(text="SlotFilled(address,uint256,uint256,uint256,uint256)")


def send(chain, method, args, sender):
    """One transaction through web3; it must succeed."""
    web3 = chain.provider.web3
    data = "0x" + bytes(method.encode_input(*args)).hex()
    tx_hash = web3.eth.send_transaction(
        {"from": sender.address, "to": method.contract.address, "data": data, "gas": 2_000_000}
    )
    receipt = web3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.005)
    if receipt["status"] != 1:
        reason = "?"
        try:  # replay it as a call on the state it saw, for the reason
            web3.eth.call(
                {"from": sender.address, "to": method.contract.address, "data": data}, receipt["blockNumber"] - 1
            )
        except Exception as error:
            reason = str(error)
        raise AssertionError(f"{method} {args} reverted: {reason}")
    return receipt


def draw_fill(rng: random.Random, total: int) -> int:
    """Base one fill takes from a slot holding `total`."""
    roll = rng.random()
    if roll < 0.78:
        spent = int(total * rng.uniform(1e-4, 0.3))
    elif roll < 0.81:
        spent = total - total // 10**6  # 99.9999%
    elif roll < 0.83:
        spent = total - total // 10**9
    elif roll < 0.845:
        spent = total - total // 10**12
    elif roll < 0.855:
        spent = total - total // 10**15
    elif roll < 0.865:
        spent = total - 1  # a single unit left
    elif roll < 0.875:
        spent = total - rng.randint(2, 1_000)
    elif roll < 0.88:
        spent = total  # total drain: a new epoch
    else:
        spent = rng.randint(1, 1_000)
    return min(max(spent, 1), total)


def test_queue__thousand_fills_with_near_total_drains__stay_exact(
    project, owner, engine_account, keeper, accounts, chain
):
    rng = random.Random(0xA1A)
    base = project.MockERC20.deploy("USD", "USD", BASE_DECIMALS, sender=owner)
    collateral = project.MockERC20.deploy("Dollar coin", "DAI", COLLATERAL_DECIMALS, sender=owner)
    queue = project.LiquidationQueue.deploy(base, sender=owner)
    queue.set_engine(engine_account, sender=owner)
    queue.set_pool_params(collateral, WAD // 100, 1, 0, 2**200, sender=owner)  # every bid is active at once
    bidders = [accounts[i] for i in (3, 7, 12, 13, 14)]
    for bidder in bidders:
        base.mint(bidder, 10**40, sender=owner)
        base.approve(queue, MAX_UINT, sender=bidder)

    deposit: dict[int, Fraction] = {}  # exact unspent base per bid
    resnapshots: dict[int, int] = {}  # partial retractions per bid
    gained: dict[int, Fraction] = {}  # exact collateral bought per bid
    claimed: dict[int, int] = {}
    fills_seen: dict[int, int] = {}
    owner_of: dict[int, object] = {}
    delivered = 0
    undelivered = 0
    max_total = 1
    near_drains = epochs = 0

    def add_bid():
        bidder = rng.choice(bidders)
        amount = rng.choice([rng.randint(1, 10**6), rng.randint(10**20, 10**24), rng.randint(10**24, 10**25)])
        amount = rng.choice([amount, rng.randint(10**23, 10**25)])
        bid_id = queue.next_bid_id()
        send(chain, queue.submit_bid, (collateral, 0, amount), bidder)
        deposit[bid_id], gained[bid_id], claimed[bid_id] = Fraction(amount), Fraction(0), 0
        fills_seen[bid_id] = resnapshots[bid_id] = 0
        owner_of[bid_id] = bidder

    def deliver():
        nonlocal delivered, undelivered
        if undelivered:
            send(chain, collateral.mint, (queue.address, undelivered), engine_account)
            delivered += undelivered
            undelivered = 0

    def check(final: bool = False):
        deliver()
        owed = 0
        for bid_id in deposit:
            info = queue.bid_info(bid_id)
            slack = Fraction((fills_seen[bid_id] + 1) * max_total, P_FLOOR)
            exact = gained[bid_id] - claimed[bid_id]
            if info.owner == "0x0000000000000000000000000000000000000000":
                assert deposit[bid_id] <= fills_seen[bid_id] and exact <= fills_seen[bid_id] + slack
                continue
            assert info.amount <= deposit[bid_id] and deposit[bid_id] - info.amount <= fills_seen[bid_id]
            assert info.claimable <= exact + slack
            assert exact - info.claimable <= fills_seen[bid_id] + slack
            owed += info.claimable
        total = sum(deposit.values())
        assert queue.total_active(collateral) == total
        assert base.balanceOf(queue) == total
        assert collateral.balanceOf(queue) == delivered - sum(claimed.values()) >= owed

    for _ in range(4):
        add_bid()
    for number in range(1, FILLS + 1):
        total = int(sum(deposit.values()))
        if total < 10**9 or number % 50 == 0:
            # new bidders join at whatever depth (scale, epoch) the slot has reached
            for _ in range(rng.randint(1, 2)):
                add_bid()
            total = int(sum(deposit.values()))
        max_total = max(max_total, total)
        spent = draw_fill(rng, total)
        receipt = send(
            chain,
            queue.fill,
            (collateral, COLLATERAL_PRICE, WAD, spent, 2**200, keeper, 0, RECEIVER),
            engine_account,
        )
        [log] = [entry for entry in receipt["logs"] if bytes(entry["topics"][0]) == SLOT_FILLED]
        u, x, price = eth_abi.decode(["uint256", "uint256", "uint256"], bytes(log["data"]))
        assert (u, x, price) == (spent, spent, COLLATERAL_PRICE)
        undelivered += x
        near_drains += total - spent < total // 10**6
        epochs += spent == total
        for bid_id, amount in deposit.items():
            if amount:
                fills_seen[bid_id] += 1
                share = amount / total
                gained[bid_id] += x * share
                deposit[bid_id] = amount - spent * share

        if number % 50 == 0:
            # some bidders claim, some take part of their base back (the bid is re-snapshotted)
            live = [i for i in deposit if queue.bid_info(i).owner != "0x0000000000000000000000000000000000000000"]
            deliver()
            bid_id = rng.choice(live)
            before = collateral.balanceOf(owner_of[bid_id])
            send(chain, queue.claim, ([bid_id],), owner_of[bid_id])
            claimed[bid_id] += collateral.balanceOf(owner_of[bid_id]) - before
            bid_id = rng.choice(live)
            left = queue.bid_info(bid_id).amount
            if left > 1:
                taken = left // rng.randint(2, 5)
                send(chain, queue.retract_bid, (bid_id, taken), owner_of[bid_id])
                deposit[bid_id] -= taken
                resnapshots[bid_id] += 1
        if number % CHECK_EVERY == 0:
            check()

    # everyone leaves: every bid can claim and withdraw everything the contract says it holds
    for bid_id in list(deposit):
        info = queue.bid_info(bid_id)
        if info.owner == "0x0000000000000000000000000000000000000000":
            continue
        if info.amount:
            send(chain, queue.retract_bid, (bid_id, MAX_UINT), owner_of[bid_id])
            deposit[bid_id] -= info.amount
            if queue.bid_info(bid_id).owner == "0x0000000000000000000000000000000000000000":
                continue  # nothing left to claim either: the retraction deleted it
        before = collateral.balanceOf(owner_of[bid_id])
        send(chain, queue.claim, ([bid_id],), owner_of[bid_id])
        claimed[bid_id] += collateral.balanceOf(owner_of[bid_id]) - before
        assert queue.bid_info(bid_id).owner == "0x0000000000000000000000000000000000000000"
    check()

    # reconciliation: what stays behind is the rounding dust of the whole run, owned by nobody
    base_dust = base.balanceOf(queue)
    collateral_dust = collateral.balanceOf(queue)
    assert base_dust == queue.slot_info(collateral, 0).active == queue.total_active(collateral)
    assert base_dust == sum(deposit.values()) <= len(deposit)
    assert collateral_dust == delivered - sum(claimed.values())
    # each bid loses less than one unit per floored scale term of each snapshot period it had
    assert collateral_dust <= sum(9 * (1 + resnapshots[i]) for i in deposit)
    # the run did what it is meant to
    assert near_drains >= 40 and epochs >= 3 and len(deposit) >= 50
