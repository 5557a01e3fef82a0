"""LiquidationQueue against an exact model: random submit / activate / retract / fill / claim sequences.

The model shares every fill pro rata in exact rational arithmetic (`fractions.Fraction`) over the bids that were
active before the fill's block. After every step:

- every live bid's unspent base is at most its exact share and below it by at most one unit per fill it took part
  in (strictly never in the bidder's favour: only floors touch base);
- its claimable collateral is below its exact share by at most one unit per fill (plus deposit / 1e27 of a unit
  per fill from the floor of S), and above it by at most its share of the sub-unit remainders the slot carries
  forward (< deposit / 1e27 of a unit);
- the slot totals equal the model's sums exactly, and the queue's token balances equal what the model owes and
  cover what the contract owes every bid.

With a minimum bid, the model predicts every refusal: a bid below it (`queue: bid below minimum`) and a partial
retraction that would leave a bid with less (`queue: bid left below minimum`) revert and change nothing; a fill may
leave any remainder, and the whole bid can always be retracted.
"""

from dataclasses import dataclass
from fractions import Fraction

import ape
import eth_abi
import pytest
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from tests.utils.isolation import isolated

WAD = 10**18
MAX_UINT = 2**256 - 1
STEP = 2 * WAD // 100
MAX_SLOT = 3
WAIT = 100
NO_CAP = 2**200
RECEIVER = "0x00000000000000000000000000000000000fa017"
ZERO = "0x0000000000000000000000000000000000000000"
P_FLOOR = 10**27
SLOT_FILLED = keccak(text="SlotFilled(address,uint256,uint256,uint256,uint256)")
BID_CLAIMED = keccak(text="BidClaimed(uint256,address,uint256)")


def send(chain, method, args, sender):
    """One transaction straight through web3 (a third of ape's overhead); it must succeed."""
    web3 = chain.provider.web3
    data = "0x" + bytes(method.encode_input(*args)).hex()
    tx_hash = web3.eth.send_transaction(
        {"from": sender.address, "to": method.contract.address, "data": data, "gas": 3_000_000}
    )
    receipt = web3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.005)
    assert receipt["status"] == 1, f"{method} {args} reverted"
    return receipt


def events(receipt, topic):
    return [entry for entry in receipt["logs"] if bytes(entry["topics"][0]) == topic]


@dataclass
class ModelBid:
    owner: int
    slot: int
    deposit: Fraction
    activates_at: int
    waiting: bool = True
    gained: Fraction = Fraction(0)
    claimed: int = 0
    fills: int = 0  # fills this bid took part in with a non-zero deposit
    max_deposit: int = 0
    deleted: bool = False


class Model:
    def __init__(self, base_decimals: int, collateral_decimals: int):
        self.base_unit = 10**base_decimals
        self.collateral_unit = 10**collateral_decimals
        self.bids: dict[int, ModelBid] = {}
        self.delivered = 0

    def members(self, slot):
        return [bid for bid in self.bids.values() if not bid.waiting and bid.slot == slot]

    def slot_total(self, slot) -> Fraction:
        return sum((bid.deposit for bid in self.members(slot)), Fraction(0))

    def fill(self, collateral_price, funds, cap):
        """Exactly the contract's walk; returns [(slot, u, x)]."""
        out = []
        funds_left, collateral_left = funds, cap
        for slot in range(MAX_SLOT + 1):
            if funds_left == 0 or collateral_left == 0:
                break
            total = self.slot_total(slot)
            assert total.denominator == 1, "the slot total is an integer"
            total = int(total)
            if total == 0:
                continue
            price = collateral_price * (WAD - slot * STEP) // WAD
            base_value = WAD * self.collateral_unit
            slot_value = price * self.base_unit
            # collateral rounds down (never more than the base is worth), the base paid for it rounds up
            x = min(min(total, funds_left) * base_value // slot_value, collateral_left)
            u = -(-x * slot_value // base_value)
            if u == 0:
                if total < funds_left:
                    continue  # a slot too small to buy one collateral unit is skipped
                break
            for bid in self.members(slot):
                if bid.deposit > 0:
                    bid.fills += 1
                bid.gained += Fraction(x) * bid.deposit / total
                bid.deposit -= Fraction(u) * bid.deposit / total
            out.append((slot, u, x))
            funds_left -= u
            collateral_left -= x
        self.delivered += sum(x for _, _, x in out)
        return out


# the moves that touch active bids, shared by both tests
fill_retract_claim = st.one_of(
    st.tuples(
        st.just("fill"),
        st.fractions(0, Fraction(6, 5), max_denominator=10**6),  # of the usable liquidity
        st.one_of(st.none(), st.fractions(0, 1, max_denominator=1000)),  # collateral cap, of what it buys
        st.integers(500, 5_000),  # collateral price in dollars
    ),
    st.tuples(st.just("retract"), st.integers(0, 50), st.one_of(st.none(), st.fractions(0, 1, max_denominator=97))),
    st.tuples(st.just("claim"), st.integers(0, 50)),
)

actions = st.lists(
    st.one_of(
        st.tuples(
            st.just("submit"),
            st.integers(0, 2),  # bidder
            st.integers(0, MAX_SLOT),
            st.one_of(st.integers(1, 1_000), st.integers(1, 10**6)),  # amount, in milli-tokens
        ),
        st.tuples(st.just("wait"), st.integers(1, 2 * WAIT)),
        st.tuples(st.just("activate"), st.integers(0, 50)),
        fill_retract_claim,
    ),
    min_size=4,
    max_size=24,
)


@pytest.fixture
def bidders(accounts):
    return [accounts[3], accounts[7], accounts[12]]


@pytest.fixture
def markets(project, owner, engine_account, bidders):
    """(base, collateral, queue) per pair of decimals, deployed at first use and kept for the whole test: each
    hypothesis example then starts from the fresh market inside its own `isolated(chain)`."""
    cache = {}

    def market(base_decimals, collateral_decimals):
        key = (base_decimals, collateral_decimals)
        if key not in cache:
            base = project.MockERC20.deploy("USD", "USD", base_decimals, sender=owner)
            collateral = project.MockERC20.deploy("COL", "COL", collateral_decimals, sender=owner)
            queue = project.LiquidationQueue.deploy(base, sender=owner)
            queue.set_engine(engine_account, sender=owner)
            for bidder in bidders:
                base.mint(bidder, 10**40, sender=owner)
                base.approve(queue, MAX_UINT, sender=bidder)
            cache[key] = base, collateral, queue
        return cache[key]

    return market


@given(
    base_decimals=st.sampled_from([6, 8, 18]),
    collateral_decimals=st.sampled_from([6, 8, 18]),
    threshold_tokens=st.sampled_from([0, 1_000, 10**9]),
    steps=actions,
    min_bid_milli=st.sampled_from([0, 0, 500, 50_000]),  # none, half a token, 50 tokens
)
def test_queue__random_operations__match_the_exact_model(
    owner,
    engine_account,
    keeper,
    bidders,
    markets,
    chain,
    base_decimals,
    collateral_decimals,
    threshold_tokens,
    steps,
    min_bid_milli,
):
    run(
        owner,
        engine_account,
        keeper,
        bidders,
        markets,
        chain,
        base_decimals,
        collateral_decimals,
        threshold_tokens,
        steps,
        min_bid_milli,
    )


shared_slot_steps = st.lists(fill_retract_claim, min_size=3, max_size=12)


@given(
    base_decimals=st.sampled_from([6, 8, 18]),
    collateral_decimals=st.sampled_from([6, 8, 18]),
    milli_amounts=st.lists(st.integers(1, 10**6), min_size=2, max_size=4),
    steps=shared_slot_steps,
)
def test_queue__bids_sharing_a_slot__partial_fills_match_the_exact_model(
    owner, engine_account, keeper, bidders, markets, chain, base_decimals, collateral_decimals, milli_amounts, steps
):
    """Several bids active at once in slot 0, then fills, retractions and claims: every fill splits a slot between
    bids, where a rounding in the bidders' favour shows (a lone bid is capped by its slot's exact total)."""
    opening = [("submit", i % 3, 0, milli) for i, milli in enumerate(milli_amounts)]
    run(
        owner,
        engine_account,
        keeper,
        bidders,
        markets,
        chain,
        base_decimals,
        collateral_decimals,
        10**9,
        opening + steps,
    )


def run(
    owner,
    engine_account,
    keeper,
    bidders,
    markets,
    chain,
    base_decimals,
    collateral_decimals,
    threshold_tokens,
    steps,
    min_bid_milli=0,
):
    """Apply `steps` to a fresh market (bids below `threshold_tokens` of active base activate at once, bids below
    `min_bid_milli` thousandths of a token are refused) and check the queue against the model after every fill,
    retraction and claim."""
    base, collateral, queue = markets(base_decimals, collateral_decimals)
    with isolated(chain):
        threshold = threshold_tokens * 10**base_decimals
        min_bid = min_bid_milli * 10**base_decimals // 1_000
        send(chain, queue.set_pool_params, (collateral, STEP, MAX_SLOT, WAIT, threshold), owner)
        send(chain, queue.set_min_bid, (collateral, min_bid), owner)
        model = Model(base_decimals, collateral_decimals)
        ids: list[int] = []
        max_slot_total = 1

        for step in steps:
            kind = step[0]
            live = [i for i in ids if not model.bids[i].deleted]
            if kind == "submit":
                _, who, slot, milli = step
                amount = milli * 10**base_decimals // 1_000 or 1
                if amount < min_bid:
                    with ape.reverts("queue: bid below minimum"):
                        queue.submit_bid(collateral, slot, amount, sender=bidders[who])
                    continue
                immediate = sum(b.deposit for b in model.bids.values() if not b.waiting) < threshold
                bid_id = len(ids) + 1
                send(chain, queue.submit_bid, (collateral, slot, amount), bidders[who])
                activates_at = queue.bid_info(bid_id).activates_at
                model.bids[bid_id] = ModelBid(
                    who, slot, Fraction(amount), activates_at, not immediate, max_deposit=amount
                )
                ids.append(bid_id)
            elif kind == "wait":
                chain.pending_timestamp += step[1]
            elif kind == "activate":
                waiting = [i for i in live if model.bids[i].waiting]
                if not waiting:
                    continue
                bid_id = waiting[step[1] % len(waiting)]
                if chain.pending_timestamp < model.bids[bid_id].activates_at:
                    continue  # the unit tests cover "queue: bid not due"
                send(chain, queue.activate_bids, ([bid_id],), keeper)
                model.bids[bid_id].waiting = False
            elif kind == "fill":
                _, fraction, cap_fraction, dollars = step
                chain.mine()  # views run in the latest block: let bids activated in it show as active
                price = dollars * WAD
                usable = sum(int(model.slot_total(k)) for k in range(MAX_SLOT + 1))
                funds = int(fraction * usable)
                cap = NO_CAP
                if cap_fraction is not None:
                    cap = int(queue.preview_fill(collateral, price, WAD, funds, NO_CAP, 0).collateral * cap_fraction)
                expected = model.fill(price, funds, cap)
                preview = queue.preview_fill(collateral, price, WAD, funds, cap, 0)
                receipt = send(
                    chain, queue.fill, (collateral, price, WAD, funds, cap, keeper, 0, RECEIVER), engine_account
                )
                filled = [
                    (int.from_bytes(log["topics"][2], "big"), *eth_abi.decode(["uint256"] * 3, bytes(log["data"]))[:2])
                    for log in events(receipt, SLOT_FILLED)
                ]
                assert filled == expected
                assert preview.raised == sum(u for _, u, _ in expected)
                assert preview.collateral == sum(x for _, _, x in expected)
                if preview.collateral:
                    send(chain, collateral.mint, (queue.address, preview.collateral), engine_account)
            elif kind == "retract":
                if not live:
                    continue
                bid_id = live[step[1] % len(live)]
                bid = model.bids[bid_id]
                left = queue.bid_info(bid_id).amount
                amount = MAX_UINT if step[2] is None else int(left * step[2])
                taken = left if amount == MAX_UINT else amount
                if taken == 0:
                    continue
                if 0 < left - taken < min_bid:
                    with ape.reverts("queue: bid left below minimum"):
                        queue.retract_bid(bid_id, amount, sender=bidders[bid.owner])
                    continue
                send(chain, queue.retract_bid, (bid_id, amount), bidders[bid.owner])
                # a retraction re-snapshots the bid at the base the contract says is left (its floor of the exact
                # share): the sub-unit rest stays in the slot's active base, owned by nobody, and so do its gains
                dust = bid.deposit - left
                if dust:
                    orphan = ModelBid(-1, bid.slot, dust, 0, waiting=False, deleted=True)
                    model.bids[-len(model.bids) - 1] = orphan
                bid.deposit = Fraction(left - taken)
            elif kind == "claim":
                if not live:
                    continue
                bid_id = live[step[1] % len(live)]
                bid = model.bids[bid_id]
                receipt = send(chain, queue.claim, ([bid_id],), bidders[bid.owner])
                bid.claimed += sum(int.from_bytes(bytes(log["data"]), "big") for log in events(receipt, BID_CLAIMED))

            for slot in range(MAX_SLOT + 1):
                max_slot_total = max(max_slot_total, int(model.slot_total(slot)))
            if kind in ("fill", "retract", "claim"):
                check(queue, base, collateral, model, ids, max_slot_total)
        check(queue, base, collateral, model, ids, max_slot_total)


def check(queue, base, collateral, model: Model, ids, max_slot_total):
    owed_by_contract = 0
    base_by_contract = 0
    for bid_id in ids:
        bid = model.bids[bid_id]
        if bid.deleted:
            continue
        info = queue.bid_info(bid_id)
        exact_claimable = bid.gained - bid.claimed
        slack = Fraction(bid.fills * max_slot_total + max_slot_total, P_FLOOR)  # the floor of S, the carry
        if info.owner == ZERO:
            # deleted: nothing left that the contract could pay
            bid.deleted = True
            assert bid.deposit <= bid.fills
            assert exact_claimable <= bid.fills + slack
            continue
        assert info.pending == bid.waiting
        # base: never more than the exact share, at most one unit per fill less
        assert info.amount <= bid.deposit
        assert bid.deposit - info.amount <= bid.fills
        # collateral: at most one unit per fill less; more only by the carried sub-unit remainder
        assert info.claimable <= exact_claimable + slack
        assert exact_claimable - info.claimable <= bid.fills + slack
        owed_by_contract += info.claimable
        base_by_contract += info.amount

    # the slot totals are the model's exact sums (rounding only ever leaves dust owned by nobody in `active`)
    waiting = [
        sum((b.deposit for b in model.bids.values() if b.waiting and b.slot == k), Fraction(0))
        for k in range(MAX_SLOT + 1)
    ]
    for slot in range(MAX_SLOT + 1):
        info = queue.slot_info(collateral, slot)
        assert info.active + info.pending == model.slot_total(slot) + waiting[slot]
    activated = sum((b.deposit for b in model.bids.values() if not b.waiting), Fraction(0))
    assert queue.total_active(collateral) == activated

    base_balance = base.balanceOf(queue)
    collateral_balance = collateral.balanceOf(queue)
    assert base_balance == sum((b.deposit for b in model.bids.values()), Fraction(0))
    assert base_balance >= base_by_contract
    assert collateral_balance == model.delivered - sum(b.claimed for b in model.bids.values())
    assert collateral_balance >= owed_by_contract


@given(
    base_decimals=st.sampled_from([6, 18]),
    deposit_tokens=st.integers(100, 300),
    fill_tokens=st.integers(0, 99),
    retract_tokens=st.integers(1, 300),
)
def test_retract__partial_retraction_near_the_minimum__refused_exactly_when_it_would_leave_less(
    owner, engine_account, keeper, bidders, markets, chain, base_decimals, deposit_tokens, fill_tokens, retract_tokens
):
    """A minimum bid of 100 tokens, one bid of 100-300 tokens, maybe a fill first (which may leave the bid below
    the minimum): a partial retraction goes through exactly when what it leaves is 0 or at least the minimum."""
    _base, collateral, queue = markets(base_decimals, 18)
    unit = 10**base_decimals
    min_bid = 100 * unit
    with isolated(chain):
        send(chain, queue.set_pool_params, (collateral, STEP, MAX_SLOT, WAIT, 2**200), owner)  # active at once
        send(chain, queue.set_min_bid, (collateral, min_bid), owner)
        bid_id = queue.next_bid_id()
        send(chain, queue.submit_bid, (collateral, 0, deposit_tokens * unit), bidders[0])
        chain.mine()
        if fill_tokens:
            fill = (collateral, 2_000 * WAD, WAD, fill_tokens * unit, NO_CAP, keeper, 0, RECEIVER)
            send(chain, queue.fill, fill, engine_account)
        left = queue.bid_info(bid_id).amount
        amount = min(retract_tokens * unit, left)
        if 0 < left - amount < min_bid:
            with ape.reverts("queue: bid left below minimum"):
                queue.retract_bid(bid_id, amount, sender=bidders[0])
            assert queue.bid_info(bid_id).amount == left
        else:
            send(chain, queue.retract_bid, (bid_id, amount), bidders[0])
            assert queue.bid_info(bid_id).amount == left - amount
