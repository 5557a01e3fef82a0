# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title Liquidation queue: bid pools per (collateral, premium slot)
@notice Bidders park the base asset in the pool of a collateral at a premium slot
        (slot k buys at k * premium_step below the oracle price). The liquidation
        engine fills from the cheapest slot upward; inside a slot every fill is
        shared pro rata over the active bids in O(1) gas with a running product P
        and collateral sums S per (epoch, scale) (Liquity StabilityPool, Anchor
        liquidation queue).
        Same-block rule: a bid never takes part in a fill in the block in which it
        became active. Activated bids join the slot's "incoming" bucket; the first
        touch of the slot in a later block merges the bucket into the active pool.
        A bid's join snapshot is the slot state after the slot's latest fill: every
        bucket that opens between two fills shares one snapshot, keyed by the
        slot's fill count, written by the activation that opens the first of them
        (so the fill that later merges the bucket writes no snapshot). A bucket
        that a fill passes in its own block joins at the state after that fill
        instead (an "overtaken" snapshot recorded by the fill). Views compute as if
        a mergeable bucket had already merged.
        Gas: the bid side writes every storage word a slot's fills will update
        before the first fill does (the product, the remainder, the sum of the
        current (epoch, scale), the active word), so a fill never pays for a fresh
        storage slot but in the rare cases noted in `_fill_slot`.
        Rounding always favours the pool; the remainder of every collateral
        distribution is carried forward in the slot so no collateral is lost.
@license MIT
@custom:contract-name LiquidationQueue
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed

from interfaces import ILiquidationQueue

implements: ILiquidationQueue

from snekmate.auth import ownable
from snekmate.auth import ownable_2step
from snekmate.utils import math

from modules import pool_math
from modules import transfers

initializes: ownable
initializes: ownable_2step[ownable := ownable]

exports: (
    ownable.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
)


# 100% in WAD
WAD: constant(uint256) = 10**18
# highest slot any pool may use (the non-empty-slot bitmap has room for 256)
MAX_SLOT_LIMIT: constant(uint256) = 100
# longest waiting period, seconds
MAX_WAITING_PERIOD: constant(uint256) = 7 * 86400
# largest bid and largest slot total, base units (P stays above its floor for D <= 2**128)
MAX_AMOUNT: constant(uint256) = 2**128
# `_pool` word: the engine as it was when the parameters were set (bits 0-159; 0 if set before the engine,
# which never changes once set: a fill reads the word for its parameters and finds the engine in it)
# | premium_step (160-222, below WAD / 2 < 2**59) | TERMS_QUEUED (223) | waiting_period (224-243, at most
# MAX_WAITING_PERIOD < 2**20) | decimals of the collateral (244-248, at most 18) | max_slot (249-255, at most
# MAX_SLOT_LIMIT; on top, so a shift reads it)
STEP_SHIFT: constant(uint256) = 160
WAIT_SHIFT: constant(uint256) = 224
DECIMALS_SHIFT: constant(uint256) = 244
MAX_SLOT_SHIFT: constant(uint256) = 249
MASK_5: constant(uint256) = 2**5 - 1
MASK_20: constant(uint256) = 2**20 - 1
MASK_63: constant(uint256) = 2**63 - 1
MASK_64: constant(uint256) = 2**64 - 1
# bit of the `_pool` word set while a change of premium_step or max_slot waits in `_queued_terms`: a fill
# learns from the word it reads anyway whether to read the queued terms
TERMS_QUEUED: constant(uint256) = 1 << 223
# the bits of premium_step (with TERMS_QUEUED) and of max_slot in the `_pool` word
TERMS_BITS: constant(uint256) = (MASK_64 << 160) | (127 << 249)
# least notice, seconds, before a new premium_step or max_slot applies to the bids standing in the pool. At
# least a day, as the shortest governance timelocks (Aave's short executor: 1 day; Compound's Timelock: 2 days
# at least), and at least the waiting period, so that a bidder who moves his bid in answer to the change has
# the new bid active before the change bites
TERMS_DELAY: constant(uint256) = 86400
# `_queued_terms` word: premium_step (bits 0-63) | max_slot (64-71) | effective_at (72-135, unix seconds)
QUEUED_SLOT_SHIFT: constant(uint256) = 64
EFFECTIVE_SHIFT: constant(uint256) = 72
MASK_72: constant(uint256) = 2**72 - 1
# highest minimum bid, in whole base tokens (Liquity's minimum trove debt is 2,000 LUSD, so 10,000 leaves room
# above a working floor while an owner cannot price every bidder out)
MAX_MIN_BID_TOKENS: constant(uint256) = 10**4
# `_liquidity` word: bitmap of slots with active or incoming base (bits 0-119, slot k at bit k)
# | total active base of the collateral (120-255: at most 101 slots of MAX_AMOUNT, below 2**135)
TOTAL_SHIFT: constant(uint256) = 120
# bit of a bid's meta word set once the bid is activated (incoming until merged, then active)
ACTIVATED: constant(uint256) = 1 << 167
# offset of the stored ledger word: ledger = LEDGER_BIAS + credit, so it is never zero while the bid lives
LEDGER_BIAS: constant(uint256) = 2**255
# offset of the stored fill remainder (below 2**136, see pool_math._distribute): once a slot has opened,
# a remainder of 0 is not stored as a 0 word, so no fill's write is a 20,000-gas fresh write
ERROR_BIAS: constant(uint256) = 2**255
# offset of a stored S: a sum that a snapshot or a fill has written is SUM_BIAS + S, never a 0 word, so the
# fill after the snapshot that opened the (epoch, scale) does not pay a fresh write; a 0 word means S = 0
SUM_BIAS: constant(uint256) = 1
# `Slot.active` word: the block in which the open incoming bucket opened sits above this bit (0: no
# bucket open), so a fill learns from the word it reads anyway whether to read the bucket
BUCKET_SHIFT: constant(uint256) = 136

# the vault's lending asset that bidders deposit
_BASE: immutable(address)
# 10**decimals of the base asset
_BASE_UNIT: immutable(uint256)


struct Slot:
    # base in the active pool, fillable now (bits 0-135, base units) | block in which the incoming
    # bucket opened (136-255), 0 while no bucket holds bids not yet merged; 0 for a drained slot with
    # no bucket, so a draining fill gets the storage refund
    active: uint256
    # running product P (bits 0-127, 1e36 at epoch start) | epoch (128-159) | scale (160-191)
    # | number of fills so far (192-255); 0 until the slot's first bucket opens
    state: uint256
    # ERROR_BIAS + collateral the S sums have not yet distributed, in collateral units * P of the
    # current state (0 until the slot's first bucket opens)
    error: uint256
    # incoming bucket: amount (bits 0-135, base units) | fill count when the bucket opened, its
    # snapshot key (192-255); stale while the active word shows no open bucket
    incoming: uint256
    # base in bids still waiting out their activation period (base units)
    waiting: uint256


struct Snapshot:
    # P | epoch | scale (bits 0-191) of the slot after the fill the key counts; 0 until written.
    # In `_snapshots` bits 192-255 hold the block of the bucket that a fill overtook, if any.
    state: uint256
    # S of that (epoch, scale) at that moment (collateral units * P, without SUM_BIAS)
    sum: uint256


struct Bid:
    # owner (bits 0-159) | slot (160-166) | activated flag (167) | snapshot key (168-207)
    # | activation block (208-255; 0 for a bid re-snapshotted by a retraction)
    meta: uint256
    # collateral (bits 0-159) | activates_at (160-223, unix seconds)
    origin: uint256
    # base deposited at the bid's snapshot (waiting or incoming: the whole bid), base units
    deposit: uint256
    # LEDGER_BIAS + collateral owed beyond the gains since the snapshot (below the bias: gains
    # already paid), collateral units; written at submission so that claims never write a fresh slot
    ledger: uint256


# engine allowed to fill
_engine: address
# each collateral's parameters but `bid_threshold`, one word (see STEP_SHIFT): the engine, premium_step,
# waiting_period, its decimals and max_slot; 0 while the collateral is not enabled
_pool: HashMap[address, uint256]
# per collateral: while its total active base is below this (base units), new bids skip the wait
_bid_threshold: HashMap[address, uint256]
# per collateral: the smallest bid `submit_bid` takes and the least a partial retraction may leave, base units
_min_bid: HashMap[address, uint256]
# per collateral, one word (see EFFECTIVE_SHIFT): the premium_step and max_slot that replace the ones in force
# at effective_at; stale while the `_pool` word's TERMS_QUEUED bit is clear
_queued_terms: HashMap[address, uint256]
# per collateral, one word (see TOTAL_SHIFT): bit k set when slot k has active or incoming base, and the
# base in activated bids (active and incoming) across all slots, base units
_liquidity: HashMap[address, uint256]
# per collateral and slot: the pool
_slots: HashMap[address, HashMap[uint256, Slot]]
# SUM_BIAS + S per collateral, slot and (epoch | scale << 32), or 0 while S = 0 and unwritten: collateral
# per unit of deposit, collateral units * P
_sums: HashMap[address, HashMap[uint256, HashMap[uint256, uint256]]]
# last scale of each finished epoch per collateral and slot
_epoch_last_scale: HashMap[address, HashMap[uint256, HashMap[uint256, uint256]]]
# join snapshots per collateral, slot and fill count: the slot after that many fills
_snapshots: HashMap[address, HashMap[uint256, HashMap[uint256, Snapshot]]]
# per collateral, slot and fill count: the slot after the last fill that overtook the bucket opened
# at that fill count, in the bucket's own block
_overtaken: HashMap[address, HashMap[uint256, HashMap[uint256, Snapshot]]]
# bids by id
_bids: HashMap[uint256, Bid]
# id of the next bid
_next_bid_id: uint256


@deploy
def __init__(base_asset: address):
    """
    @notice Deploy the queue of `base_asset`, the vault's lending asset.
    """
    assert base_asset != empty(address), "queue: zero address"
    decimals: uint256 = convert(staticcall IERC20Detailed(base_asset).decimals(), uint256)
    assert decimals <= 18, "queue: decimals above 18"
    ownable.__init__()
    ownable_2step.__init__()
    _BASE = base_asset
    _BASE_UNIT = 10**decimals
    self._next_bid_id = 1


@external
def set_engine(engine: address):
    """
    @notice Owner only, once. Set the liquidation engine, the only caller of `fill`. Set for
            good, as on the vault: an engine that could be repointed would let the owner spend
            every active bid at prices of its choosing.
    """
    ownable._check_owner()
    assert engine != empty(address), "queue: zero address"
    assert self._engine == empty(address), "queue: engine already set"
    self._engine = engine
    log ILiquidationQueue.EngineSet(engine=engine)


@external
def set_pool_params(
    collateral: address, premium_step: uint256, max_slot: uint256, waiting_period: uint256, bid_threshold: uint256
):
    """
    @notice Owner only. Set the pool parameters of `collateral`; the first call enables it and
            applies them at once. Later, a new `premium_step` or `max_slot` changes what the
            standing bids buy and whether they fill, so it is queued (`PoolTermsQueued`,
            `pending_pool_terms`) and applies `max(TERMS_DELAY, waiting_period)` seconds later;
            the bidders may retract meanwhile. The same terms sent again keep their time (pushed
            back only as far as a longer waiting period needs); the terms in force sent again
            cancel the change. `waiting_period` and `bid_threshold`
            apply at once: they decide only when bids submitted from now on activate (a
            standing bid's activation time is fixed at submission). Lowering `max_slot` leaves
            bids above it unfillable but retractable.
    """
    ownable._check_owner()
    assert collateral != empty(address), "queue: zero address"
    assert collateral != _BASE, "queue: collateral is the base asset"
    assert premium_step != 0, "queue: zero premium step"
    assert max_slot != 0 and max_slot <= MAX_SLOT_LIMIT, "queue: max slot out of range"
    assert premium_step < WAD // 2 and max_slot * premium_step < WAD // 2, "queue: premium cap too high"
    assert waiting_period <= MAX_WAITING_PERIOD, "queue: waiting period too long"
    pool: uint256 = self._pool[collateral]
    decimals: uint256 = (pool >> DECIMALS_SHIFT) & MASK_5
    # the terms in force after this call, with TERMS_QUEUED when a change waits
    terms: uint256 = (premium_step << STEP_SHIFT) | (max_slot << MAX_SLOT_SHIFT)
    if pool == 0:
        assert collateral.is_contract, "queue: collateral not a contract"
        decimals = convert(staticcall IERC20Detailed(collateral).decimals(), uint256)
        assert decimals <= 18, "queue: decimals above 18"
    else:
        # dev: a due change counts as applied; the comparison leaves TERMS_QUEUED out
        in_force: uint256 = self._terms(collateral, pool) & TERMS_BITS & ~TERMS_QUEUED
        queued: uint256 = 0
        if terms != in_force:
            queued = self._queued_terms[collateral]
            new_terms: uint256 = premium_step | (max_slot << QUEUED_SLOT_SHIFT)
            effective_at: uint256 = block.timestamp + max(TERMS_DELAY, waiting_period)
            same: bool = pool & TERMS_QUEUED != 0 and queued & MASK_72 == new_terms
            if same:
                # dev: the same terms again keep their time, unless a bid moved now could not be active by then
                effective_at = max(queued >> EFFECTIVE_SHIFT, block.timestamp + waiting_period)
            if not same or effective_at != queued >> EFFECTIVE_SHIFT:
                queued = new_terms | (effective_at << EFFECTIVE_SHIFT)
                log ILiquidationQueue.PoolTermsQueued(
                    collateral=collateral, premium_step=premium_step, max_slot=max_slot, effective_at=effective_at
                )
            in_force |= TERMS_QUEUED
        terms = in_force
        self._queued_terms[collateral] = queued
    self._pool[collateral] = (
        convert(self._engine, uint256) | terms | (waiting_period << WAIT_SHIFT) | (decimals << DECIMALS_SHIFT)
    )
    self._bid_threshold[collateral] = bid_threshold
    log ILiquidationQueue.PoolParamsSet(
        collateral=collateral,
        premium_step=(terms >> STEP_SHIFT) & MASK_63,
        max_slot=terms >> MAX_SLOT_SHIFT,
        waiting_period=waiting_period,
        bid_threshold=bid_threshold,
    )


@external
def set_min_bid(collateral: address, min_bid: uint256):
    """
    @notice Owner only. Set the smallest bid of `collateral`'s pool, in base units: bids below it
            are refused, and a partial retraction may not leave less (Maker's `dust`, Liquity's
            minimum debt). It prices the griefing of many tiny bids, each a slot a liquidation
            walks. It applies at once: it never changes what a standing bid buys, fills may
            leave any remainder, and a bid below it can always be retracted whole.
    @param collateral An enabled collateral.
    @param min_bid At most MAX_MIN_BID_TOKENS whole base tokens.
    """
    ownable._check_owner()
    assert self._pool[collateral] != 0, "queue: collateral not enabled"
    assert min_bid <= MAX_MIN_BID_TOKENS * _BASE_UNIT, "queue: min bid too high"
    self._min_bid[collateral] = min_bid
    log ILiquidationQueue.MinBidSet(collateral=collateral, min_bid=min_bid)


@external
def submit_bid(collateral: address, slot: uint256, amount: uint256) -> uint256:
    """
    @notice Deposit `amount` base into the pool of `collateral` at `slot`. The bid waits
            `waiting_period` seconds, unless the collateral's active bids are below
            `bid_threshold`: then it is activated at once (and fills from the next block).
    @return The bid id.
    """
    pool: uint256 = self._settle_terms(collateral)
    assert pool != 0, "queue: collateral not enabled"
    assert slot <= pool >> MAX_SLOT_SHIFT, "queue: slot above max slot"
    assert amount != 0, "queue: zero amount"
    assert amount >= self._min_bid[collateral], "queue: bid below minimum"
    assert amount <= MAX_AMOUNT, "queue: amount too large"
    active: uint256 = 0
    incoming: uint256 = 0
    active, incoming = self._slot_amounts(collateral, slot)
    assert active + incoming + self._slots[collateral][slot].waiting + amount <= MAX_AMOUNT, "queue: slot full"

    transfers._pull(_BASE, msg.sender, amount)

    bid_id: uint256 = self._next_bid_id
    self._next_bid_id = bid_id + 1
    immediate: bool = self._liquidity[collateral] >> TOTAL_SHIFT < self._bid_threshold[collateral]
    activates_at: uint256 = block.timestamp
    meta: uint256 = convert(msg.sender, uint256) | (slot << 160)
    if immediate:
        meta |= self._add_incoming(collateral, slot, amount, self._touch(collateral, slot))
    else:
        activates_at += (pool >> WAIT_SHIFT) & MASK_20
        self._slots[collateral][slot].waiting += amount
    self._bids[bid_id] = Bid(
        meta=meta,
        origin=convert(collateral, uint256) | (activates_at << 160),
        deposit=amount,
        ledger=LEDGER_BIAS,
    )

    log ILiquidationQueue.BidSubmitted(
        bid_id=bid_id,
        owner=msg.sender,
        collateral=collateral,
        slot=slot,
        amount=amount,
        activates_at=activates_at,
        immediate=immediate,
    )
    return bid_id


@external
def activate_bids(bid_ids: DynArray[uint256, 100]):
    """
    @notice Permissionless. Activate waiting bids whose waiting period is over; they fill from
            the next block on.
    """
    for bid_id: uint256 in bid_ids:
        meta: uint256 = self._bids[bid_id].meta
        assert meta != 0 and meta & ACTIVATED == 0, "queue: bid not pending"
        origin: uint256 = self._bids[bid_id].origin
        assert block.timestamp >= origin >> 160, "queue: bid not due"
        collateral: address = self._address(origin)
        slot: uint256 = (meta >> 160) & 127
        amount: uint256 = self._bids[bid_id].deposit

        self._bids[bid_id].meta = meta | self._add_incoming(collateral, slot, amount, self._touch(collateral, slot))
        self._slots[collateral][slot].waiting -= amount
        log ILiquidationQueue.BidActivated(bid_id=bid_id, collateral=collateral, slot=slot, amount=amount)


@external
def retract_bid(bid_id: uint256, amount: uint256):
    """
    @notice Bid owner only. Take back `amount` of the bid's unspent base (max_value(uint256):
            all of it). Collateral already bought stays claimable. A partial retraction that
            would leave less than the collateral's minimum bid is refused, never widened to
            the whole bid: the caller gets what he asked for or a reason (Maker's `frob`: a
            vault is empty or above dust; Liquity refuses a trove adjustment below its minimum
            debt). The whole bid may always be taken.
    """
    meta: uint256 = self._bids[bid_id].meta
    assert self._address(meta) == msg.sender, "queue: not bid owner"
    assert amount != 0, "queue: zero amount"
    collateral: address = self._address(self._bids[bid_id].origin)
    slot: uint256 = (meta >> 160) & 127
    deposit: uint256 = self._bids[bid_id].deposit
    taken: uint256 = 0
    left: uint256 = 0

    if meta & ACTIVATED == 0:
        taken = self._resolve_amount(amount, deposit)
        left = deposit - taken
        self._slots[collateral][slot].waiting -= taken
        if left == 0:
            self._delete_bid(bid_id)
        else:
            self._bids[bid_id].deposit = left
    else:
        word: uint256 = self._touch(collateral, slot)
        active: uint256 = word & pool_math.MASK_136
        if meta >> 208 == block.number:
            # still in this block's incoming bucket (a due bucket was merged by _touch)
            taken = self._resolve_amount(amount, deposit)
            left = deposit - taken
            incoming: uint256 = self._slots[collateral][slot].incoming - taken
            self._slots[collateral][slot].incoming = incoming
            if incoming & pool_math.MASK_136 == 0:
                # dev: the emptied bucket closes; the next activation opens it again
                word &= pool_math.MASK_136
                self._slots[collateral][slot].active = word
            self._bids[bid_id].deposit = left
        else:
            remaining: uint256 = 0
            gain: uint256 = 0
            remaining, gain = self._position(collateral, slot, deposit, meta)
            # dev: remaining <= active holds exactly (rounding only lowers bids); the clamp keeps
            # the last withdrawal from underflowing should that ever break
            remaining = min(remaining, active)
            taken = self._resolve_amount(amount, remaining)
            left = remaining - taken
            active -= taken
            word -= taken
            self._slots[collateral][slot].active = word
            # the gains so far move into the ledger; the bid restarts from the current state
            self._bids[bid_id].ledger += gain
            if left != 0:
                fills: uint256 = self._write_snapshot(collateral, slot) >> 192
                # dev: block 0 never matches an overtaken bucket
                self._bids[bid_id].meta = (meta & pool_math.MASK_168) | (fills << 168)
            self._bids[bid_id].deposit = left
        liquidity: uint256 = self._liquidity[collateral] - (taken << TOTAL_SHIFT)
        if word == 0:
            liquidity &= ~(1 << slot)
        self._liquidity[collateral] = liquidity
        if left == 0 and self._bids[bid_id].ledger == LEDGER_BIAS:
            self._delete_bid(bid_id)

    assert left == 0 or left >= self._min_bid[collateral], "queue: bid left below minimum"
    transfers._push(_BASE, msg.sender, taken)
    log ILiquidationQueue.BidRetracted(bid_id=bid_id, owner=msg.sender, amount=taken, remaining=left)


@external
def claim(bid_ids: DynArray[uint256, 100]) -> uint256:
    """
    @notice Bid owner only. Pay out the collateral the bids have bought; a bid left with no
            base and nothing to claim is deleted.
    @return Total collateral paid (summed over the bids' collateral tokens).
    """
    total: uint256 = 0
    pay_token: address = empty(address)
    pay_amount: uint256 = 0
    for bid_id: uint256 in bid_ids:
        meta: uint256 = self._bids[bid_id].meta
        assert self._address(meta) == msg.sender, "queue: not bid owner"
        if meta & ACTIVATED == 0:
            continue
        collateral: address = self._address(self._bids[bid_id].origin)
        remaining: uint256 = 0
        gain: uint256 = 0
        remaining, gain = self._position(collateral, (meta >> 160) & 127, self._bids[bid_id].deposit, meta)
        owed: uint256 = gain + self._bids[bid_id].ledger - LEDGER_BIAS
        if remaining == 0:
            self._delete_bid(bid_id)
        elif owed != 0:
            # dev: gain + ledger - LEDGER_BIAS, the claimable amount, is now zero
            self._bids[bid_id].ledger = LEDGER_BIAS - gain
        if owed == 0:
            continue
        if collateral != pay_token:
            self._pay(pay_token, pay_amount)
            pay_token = collateral
            pay_amount = 0
        pay_amount += owed
        total += owed
        log ILiquidationQueue.BidClaimed(bid_id=bid_id, owner=msg.sender, collateral_amount=owed)
    self._pay(pay_token, pay_amount)
    return total


@external
def fill(
    collateral: address,
    collateral_price: uint256,
    base_price: uint256,
    funds: uint256,
    max_collateral: uint256,
    keeper: address,
    keeper_fee: uint256,
    base_receiver: address,
) -> ILiquidationQueue.FillResult:
    """
    @notice Engine only. Take up to `funds` base from the slots of `collateral`, cheapest first,
            giving each slot collateral at its discounted price, never more than
            `max_collateral` in all. Sends `keeper_cut` of the base to `keeper` and the rest to
            `base_receiver`. The caller must deliver the collateral to this contract in the same
            transaction. Gas grows with the number of slots used, never with the number of bids.
    """
    pool: uint256 = self._settle_terms(collateral)
    engine: address = self._address(pool)
    if engine == empty(address):
        # dev: parameters set before the engine (or none): the engine's own word
        engine = self._engine
    assert msg.sender == engine, "queue: caller is not the engine"
    self._check_fill_args(collateral_price, base_price, keeper_fee)
    result: ILiquidationQueue.FillResult = empty(ILiquidationQueue.FillResult)
    if pool == 0:
        return result
    premium_step: uint256 = (pool >> STEP_SHIFT) & MASK_63
    liquidity: uint256 = self._liquidity[collateral]
    bits: uint256 = liquidity & self._slot_mask(pool)
    base_value: uint256 = base_price * self._unit(pool)
    funds_left: uint256 = funds
    collateral_left: uint256 = max_collateral

    for _: uint256 in range(MAX_SLOT_LIMIT + 1):
        if bits == 0 or funds_left == 0 or collateral_left == 0:
            break
        lowest: uint256 = bits & unsafe_sub(0, bits)  # dev: two's complement isolates the lowest bit
        bits ^= lowest
        slot: uint256 = math._log2(lowest, False)
        # dev: a due bucket counts as merged; `_fill_slot` writes the merged word
        word: uint256 = self._active_word(collateral, slot)
        active: uint256 = word & pool_math.MASK_136
        if active == 0:
            continue
        spent: uint256 = 0
        bought: uint256 = 0
        price: uint256 = 0
        spent, bought, price = self._quote_slot(
            active, slot, collateral_price, premium_step, base_value, funds_left, collateral_left
        )
        if spent == 0:
            if active < funds_left:
                continue  # dev: a slot too small to buy one collateral unit never blocks the deeper ones
            break
        # dev: a drained slot with no bucket leaves the bitmap, with the total, in one write below
        liquidity &= ~self._fill_slot(collateral, slot, word, spent, bought)
        log ILiquidationQueue.SlotFilled(
            collateral=collateral, slot=slot, base_spent=spent, collateral_bought=bought, price=price
        )
        if result.raised == 0:
            result.first_slot = slot
        result.last_slot = slot
        result.raised += spent
        result.collateral += bought
        funds_left -= spent
        collateral_left -= bought

    if result.raised != 0:
        self._liquidity[collateral] = liquidity - (result.raised << TOTAL_SHIFT)
    # rounds down: the keeper's cut never exceeds its fee
    result.keeper_cut = result.raised * keeper_fee // WAD
    if result.keeper_cut != 0:
        transfers._push(_BASE, keeper, result.keeper_cut)
    if result.raised != result.keeper_cut:
        transfers._push(_BASE, base_receiver, result.raised - result.keeper_cut)
    return result


@external
@view
def preview_fill(
    collateral: address,
    collateral_price: uint256,
    base_price: uint256,
    funds: uint256,
    max_collateral: uint256,
    keeper_fee: uint256,
) -> ILiquidationQueue.FillResult:
    """
    @notice Exactly what `fill` would do now with the same arguments (both walk the slots with
            `_quote_slot`).
    """
    self._check_fill_args(collateral_price, base_price, keeper_fee)
    result: ILiquidationQueue.FillResult = empty(ILiquidationQueue.FillResult)
    pool: uint256 = self._terms(collateral, self._pool[collateral])
    if pool == 0:
        return result
    premium_step: uint256 = (pool >> STEP_SHIFT) & MASK_63
    bits: uint256 = self._liquidity[collateral] & self._slot_mask(pool)
    base_value: uint256 = base_price * self._unit(pool)
    funds_left: uint256 = funds
    collateral_left: uint256 = max_collateral

    for _: uint256 in range(MAX_SLOT_LIMIT + 1):
        if bits == 0 or funds_left == 0 or collateral_left == 0:
            break
        lowest: uint256 = bits & unsafe_sub(0, bits)  # dev: two's complement isolates the lowest bit
        bits ^= lowest
        slot: uint256 = math._log2(lowest, False)
        active: uint256 = self._active_word(collateral, slot) & pool_math.MASK_136
        if active == 0:
            continue
        spent: uint256 = 0
        bought: uint256 = 0
        price: uint256 = 0
        spent, bought, price = self._quote_slot(
            active, slot, collateral_price, premium_step, base_value, funds_left, collateral_left
        )
        if spent == 0:
            if active < funds_left:
                continue  # dev: a slot too small to buy one collateral unit never blocks the deeper ones
            break
        if result.raised == 0:
            result.first_slot = slot
        result.last_slot = slot
        result.raised += spent
        result.collateral += bought
        funds_left -= spent
        collateral_left -= bought

    # rounds down: the keeper's cut never exceeds its fee
    result.keeper_cut = result.raised * keeper_fee // WAD
    return result


@external
@view
def bid_info(bid_id: uint256) -> ILiquidationQueue.BidInfo:
    """
    @notice A bid as it stands now; all fields empty for an unknown or deleted bid.
            `activates_at` is set for waiting bids only.
    """
    meta: uint256 = self._bids[bid_id].meta
    if meta == 0:
        return empty(ILiquidationQueue.BidInfo)
    origin: uint256 = self._bids[bid_id].origin
    collateral: address = self._address(origin)
    slot: uint256 = (meta >> 160) & 127
    info: ILiquidationQueue.BidInfo = ILiquidationQueue.BidInfo(
        owner=self._address(meta),
        collateral=collateral,
        slot=slot,
        amount=self._bids[bid_id].deposit,
        claimable=0,
        pending=True,
        activates_at=origin >> 160,
    )
    if meta & ACTIVATED == 0:
        return info
    info.pending = False
    info.activates_at = 0
    info.amount, info.claimable = self._bid_amounts(bid_id, meta, collateral, slot)
    return info


@external
@view
def claimable(bid_id: uint256) -> uint256:
    """
    @notice Collateral the bid has bought and not yet claimed.
    """
    meta: uint256 = self._bids[bid_id].meta
    if meta & ACTIVATED == 0:
        return 0
    return self._bid_amounts(bid_id, meta, self._address(self._bids[bid_id].origin), (meta >> 160) & 127)[1]


@external
@view
def slot_info(collateral: address, slot: uint256) -> ILiquidationQueue.SlotInfo:
    """
    @notice `active`: base a fill may use now; `pending`: base waiting for its activation period
            or its activation block.
    """
    active: uint256 = 0
    pending: uint256 = 0
    active, pending = self._slot_amounts(collateral, slot)
    return ILiquidationQueue.SlotInfo(
        active=active,
        pending=pending + self._slots[collateral][slot].waiting,
        premium=slot * ((self._terms(collateral, self._pool[collateral]) >> STEP_SHIFT) & MASK_63),
    )


@external
@view
def pool_params(collateral: address) -> ILiquidationQueue.PoolParams:
    """
    @notice The parameters in force (a queued change of terms counts from its effective time).
    """
    pool: uint256 = self._terms(collateral, self._pool[collateral])
    return ILiquidationQueue.PoolParams(
        premium_step=(pool >> STEP_SHIFT) & MASK_63,
        max_slot=pool >> MAX_SLOT_SHIFT,
        waiting_period=(pool >> WAIT_SHIFT) & MASK_20,
        bid_threshold=self._bid_threshold[collateral],
    )


@external
@view
def total_active(collateral: address) -> uint256:
    """
    @notice Base in activated bids over all slots of `collateral`, including bids activated in
            this block (which fill from the next one); this is the sum `bid_threshold` is
            compared with.
    """
    return self._liquidity[collateral] >> TOTAL_SHIFT


@external
@view
def usable_liquidity(collateral: address) -> uint256:
    """
    @notice Base that a fill could take now from all slots up to max_slot.
    """
    bits: uint256 = self._liquidity[collateral] & self._slot_mask(self._terms(collateral, self._pool[collateral]))
    total: uint256 = 0
    for _: uint256 in range(MAX_SLOT_LIMIT + 1):
        if bits == 0:
            break
        lowest: uint256 = bits & unsafe_sub(0, bits)  # dev: two's complement isolates the lowest bit
        bits ^= lowest
        total += self._slot_amounts(collateral, math._log2(lowest, False))[0]
    return total


@external
@view
def pending_pool_terms(collateral: address) -> ILiquidationQueue.PendingTerms:
    """
    @notice The premium_step and max_slot that replace the ones in force at `effective_at`; all
            zero when no change waits (or once it applies: `pool_params` then shows it).
    """
    pool: uint256 = self._pool[collateral]
    queued: uint256 = self._queued_terms[collateral]
    if pool & TERMS_QUEUED == 0 or block.timestamp >= queued >> EFFECTIVE_SHIFT:
        return empty(ILiquidationQueue.PendingTerms)
    return ILiquidationQueue.PendingTerms(
        premium_step=queued & MASK_64,
        max_slot=(queued >> QUEUED_SLOT_SHIFT) & 255,
        effective_at=queued >> EFFECTIVE_SHIFT,
    )


@external
@view
def min_bid(collateral: address) -> uint256:
    """
    @notice The smallest bid of `collateral`'s pool, base units (0: none).
    """
    return self._min_bid[collateral]


@external
@view
def next_bid_id() -> uint256:
    return self._next_bid_id


@external
@view
def base_asset() -> address:
    return _BASE


@external
@view
def engine() -> address:
    return self._engine


@internal
@view
def _terms(collateral: address, pool: uint256) -> uint256:
    """
    @notice `collateral`'s `_pool` word `pool` with its queued terms in place once they are due
            (TERMS_QUEUED cleared then).
    """
    if pool & TERMS_QUEUED == 0:
        return pool
    queued: uint256 = self._queued_terms[collateral]
    if block.timestamp < queued >> EFFECTIVE_SHIFT:
        return pool
    return (
        (pool & ~TERMS_BITS)
        | ((queued & MASK_64) << STEP_SHIFT)
        | (((queued >> QUEUED_SLOT_SHIFT) & 255) << MAX_SLOT_SHIFT)
    )


@internal
def _settle_terms(collateral: address) -> uint256:
    """
    @notice `collateral`'s `_pool` word, a due change of terms written into it first (lazily, on
            the first fill or bid after its effective time; the views count it from that time).
    """
    pool: uint256 = self._pool[collateral]
    if pool & TERMS_QUEUED != 0:
        terms: uint256 = self._terms(collateral, pool)
        if terms != pool:
            self._pool[collateral] = terms
            self._queued_terms[collateral] = 0
        return terms
    return pool


@internal
@pure
def _slot_mask(pool: uint256) -> uint256:
    """
    @notice Bits 0 to max_slot set, of the collateral whose `_pool` word is `pool`: masks the
            `_liquidity` bitmap to the slots a fill may use.
    """
    return (2 << (pool >> MAX_SLOT_SHIFT)) - 1


@internal
@pure
def _unit(pool: uint256) -> uint256:
    """
    @notice 10**decimals of the collateral whose `_pool` word is `pool`.
    """
    # dev: decimals <= 18, so the power never wraps
    return pow_mod256(10, (pool >> DECIMALS_SHIFT) & MASK_5)


@internal
def _touch(collateral: address, slot: uint256) -> uint256:
    """
    @notice Merge the slot's incoming bucket into the active pool if it was opened in an
            earlier block (its join snapshot was written when it opened).
    @return The slot's active word after the merge (a bucket still open is this block's).
    """
    word: uint256 = self._active_word(collateral, slot)
    # dev: a merged word differs from the stored one (the block goes)
    if word != self._slots[collateral][slot].active:
        self._slots[collateral][slot].active = word
    return word


@internal
def _write_snapshot(collateral: address, slot: uint256) -> uint256:
    """
    @notice Record the slot's current state as the join snapshot of its current fill count
            unless that was done since the count's fill. The first snapshot of a slot also
            starts its product and its remainder word, and every snapshot starts the S of its
            (epoch, scale): the bid side pays those fresh storage writes, not the next fill.
    @return The slot's state word.
    """
    state: uint256 = self._slots[collateral][slot].state
    if state == 0:
        # dev: the slot's first bucket: the product starts at PRECISION, the remainder at 0
        state = pool_math.PRECISION
        self._slots[collateral][slot].state = state
        self._slots[collateral][slot].error = ERROR_BIAS
    fills: uint256 = state >> 192
    if self._snapshots[collateral][slot][fills].state & pool_math.MASK_128 != 0:
        return state
    key: uint256 = pool_math._sum_key(state)
    stored: uint256 = self._sums[collateral][slot][key]
    if stored == 0:
        self._sums[collateral][slot][key] = SUM_BIAS
    # dev: no overtaken flag can exist yet: a fill that sets one moves the fill count past `fills`
    self._snapshots[collateral][slot][fills].state = state & pool_math.MASK_192
    if stored > SUM_BIAS:
        self._snapshots[collateral][slot][fills].sum = stored - SUM_BIAS
    return state


@internal
def _add_incoming(collateral: address, slot: uint256, amount: uint256, word: uint256) -> uint256:
    """
    @notice Add an activated bid to the slot's incoming bucket; `word` is the slot's active
            word after `_touch`, so a bucket still open is this block's.
    @return The bits of the bid's meta word that record the activation: flag, snapshot key, block.
    """
    key: uint256 = 0
    if word >> BUCKET_SHIFT == 0:
        # dev: a closed bucket (merged, emptied or never used) opens at the current fill count;
        # the opener writes that count's join snapshot
        key = self._write_snapshot(collateral, slot) >> 192
        self._slots[collateral][slot].incoming = amount | (key << 192)
        self._slots[collateral][slot].active = word | (block.number << BUCKET_SHIFT)
    else:
        incoming: uint256 = self._slots[collateral][slot].incoming
        key = incoming >> 192
        self._slots[collateral][slot].incoming = incoming + amount
    self._liquidity[collateral] = (self._liquidity[collateral] + (amount << TOTAL_SHIFT)) | (1 << slot)
    return ACTIVATED | (key << 168) | (block.number << 208)


@internal
def _fill_slot(collateral: address, slot: uint256, word: uint256, spent: uint256, bought: uint256) -> uint256:
    """
    @notice Book a fill of `spent` base for `bought` collateral on a slot whose active word,
            a due bucket merged, is `word`. The caller books `spent` in `_liquidity`.
    @return The slot's bit if the fill left it with no active or incoming base, else 0.
    @dev Fresh storage writes left here, all rare: the S of an (epoch, scale) that a fill
         opened by rescaling, or by draining the slot while this block's bucket waits (written by
         the next fill unless a snapshot comes first), the last scale of an epoch that drained
         after rescaling, and the overtaken snapshot of a fill in the block of an activation.
    """
    active: uint256 = word & pool_math.MASK_136
    state: uint256 = self._slots[collateral][slot].state
    p: uint256 = 0
    epoch: uint256 = 0
    scale: uint256 = 0
    p, epoch, scale = pool_math._unpack_state(state)
    sum_increase: uint256 = 0
    error: uint256 = 0
    # dev: every filled slot has opened a bucket, which stored ERROR_BIAS; the max only guards that
    stored: uint256 = max(self._slots[collateral][slot].error, ERROR_BIAS)
    sum_increase, error = pool_math._distribute(bought, p, active, stored - ERROR_BIAS)
    liquidity_bit: uint256 = 0
    if sum_increase != 0:
        key: uint256 = pool_math._sum_key(state)
        self._sums[collateral][slot][key] = max(self._sums[collateral][slot][key], SUM_BIAS) + sum_increase
    new_p: uint256 = pool_math.PRECISION
    if spent == active:
        # total drain: every bid of the epoch is spent; a new epoch restarts the product
        if scale != 0:
            self._epoch_last_scale[collateral][slot][epoch] = scale
        epoch += 1
        scale = 0
        if word >> BUCKET_SHIFT == 0:
            liquidity_bit = 1 << slot
    else:
        steps: uint256 = 0
        new_p, steps = pool_math._next_product(p, active, spent)
        scale += steps
    # rounds down: the carried remainder, re-expressed at the new product, never grows in value
    self._slots[collateral][slot].error = ERROR_BIAS + math._mul_div(error, new_p, p, False)
    state = pool_math._pack_state(new_p, epoch, scale, (state >> 192) + 1)
    self._slots[collateral][slot].state = state
    self._slots[collateral][slot].active = word - spent
    if word >> BUCKET_SHIFT != 0:
        # dev: a bucket still open is this block's: its bids sit this fill out and join at the
        # state after it (rare: a fill in the block of an activation)
        key: uint256 = self._slots[collateral][slot].incoming >> 192
        self._overtaken[collateral][slot][key] = Snapshot(
            state=state & pool_math.MASK_192, sum=self._sum(collateral, slot, pool_math._sum_key(state))
        )
        self._snapshots[collateral][slot][key].state = (
            self._snapshots[collateral][slot][key].state & pool_math.MASK_192
        ) | (block.number << 192)
    return liquidity_bit


@internal
def _delete_bid(bid_id: uint256):
    self._bids[bid_id] = empty(Bid)


@internal
def _pay(token: address, amount: uint256):
    if amount != 0:
        transfers._push(token, msg.sender, amount)


@internal
@view
def _slot_amounts(collateral: address, slot: uint256) -> (uint256, uint256):
    """
    @notice Active base of a slot as if a mergeable bucket had merged, and the incoming base that
            may not fill yet (activated in this block).
    """
    word: uint256 = self._slots[collateral][slot].active
    active: uint256 = word & pool_math.MASK_136
    opened: uint256 = word >> BUCKET_SHIFT
    if opened == 0:
        return active, 0
    amount: uint256 = self._slots[collateral][slot].incoming & pool_math.MASK_136
    if opened < block.number:
        return active + amount, 0
    return active, amount


@internal
@view
def _active_word(collateral: address, slot: uint256) -> uint256:
    """
    @notice The slot's active word as if a bucket opened in an earlier block had merged (its
            amount added, its block cleared).
    """
    word: uint256 = self._slots[collateral][slot].active
    opened: uint256 = word >> BUCKET_SHIFT
    if opened != 0 and opened < block.number:
        # dev: active + incoming <= MAX_AMOUNT < 2**136: the sum stays in the amount's bits
        return (word & pool_math.MASK_136) + (self._slots[collateral][slot].incoming & pool_math.MASK_136)
    return word


@internal
@view
def _sum(collateral: address, slot: uint256, key: uint256) -> uint256:
    """
    @notice S of the slot at sum key `key` (see `_sums`).
    """
    return max(self._sums[collateral][slot][key], SUM_BIAS) - SUM_BIAS


@internal
@view
def _snapshot(collateral: address, slot: uint256, meta: uint256) -> Snapshot:
    """
    @notice Join snapshot of an activated bid (written when its bucket opened, or by the
            retraction that re-snapshotted it).
    """
    key: uint256 = (meta >> 168) & pool_math.MASK_40
    snapshot: Snapshot = self._snapshots[collateral][slot][key]
    activation_block: uint256 = meta >> 208
    if activation_block != 0 and snapshot.state >> 192 == activation_block:
        return self._overtaken[collateral][slot][key]
    return snapshot


@internal
@view
def _position(collateral: address, slot: uint256, deposit: uint256, meta: uint256) -> (uint256, uint256):
    """
    @notice Base left of an activated bid and the collateral it bought since its snapshot.
    """
    if deposit == 0:
        return 0, 0
    snapshot: Snapshot = self._snapshot(collateral, slot, meta)
    p0: uint256 = 0
    epoch0: uint256 = 0
    scale0: uint256 = 0
    p0, epoch0, scale0 = pool_math._unpack_state(snapshot.state)
    if p0 == 0:
        # dev: unreachable (every activation writes its snapshot); a missing one means no fill since
        return deposit, 0
    p: uint256 = 0
    epoch: uint256 = 0
    last_scale: uint256 = 0
    p, epoch, last_scale = pool_math._unpack_state(self._slots[collateral][slot].state)
    remaining: uint256 = 0
    if epoch == epoch0:
        remaining = pool_math._compounded(deposit, p0, p, last_scale - scale0)
    else:
        # dev: a later epoch started with a total drain: nothing is left, gains stop at that epoch
        last_scale = self._epoch_last_scale[collateral][slot][epoch0]
    gain: uint256 = 0
    key: uint256 = pool_math._sum_key(snapshot.state)
    for steps: uint256 in range(pool_math.MAX_GAIN_SCALES + 1):
        if scale0 + steps > last_scale:
            break
        sum_delta: uint256 = self._sum(collateral, slot, key + (steps << 32))
        if steps == 0:
            sum_delta -= snapshot.sum
        gain += pool_math._scale_gain(deposit, sum_delta, p0, steps)
    return remaining, gain


@internal
@view
def _bid_amounts(bid_id: uint256, meta: uint256, collateral: address, slot: uint256) -> (uint256, uint256):
    """
    @notice Base left (as `retract_bid` would see it) and claimable collateral of an activated bid.
    """
    remaining: uint256 = 0
    gain: uint256 = 0
    remaining, gain = self._position(collateral, slot, self._bids[bid_id].deposit, meta)
    if meta >> 208 != block.number:
        # dev: merged (or mergeable) bids are part of the slot's active base
        remaining = min(remaining, self._slot_amounts(collateral, slot)[0])
    return remaining, gain + self._bids[bid_id].ledger - LEDGER_BIAS


@internal
@view
def _quote_slot(
    active: uint256,
    slot: uint256,
    collateral_price: uint256,
    premium_step: uint256,
    base_value: uint256,
    funds_left: uint256,
    collateral_left: uint256,
) -> (uint256, uint256, uint256):
    """
    @notice One slot of a fill with `active` base (a due bucket merged; this block's incoming
            bids sit the fill out): (base taken, collateral given, slot price). Base taken 0: the
            slot's funds (or the funds left) buy less than one collateral unit, or nothing is left
            to buy; the walk skips a slot too small and stops otherwise.
    """
    price: uint256 = pool_math._slot_price(collateral_price, slot, premium_step)
    if price == 0:
        return 0, 0, 0
    spent: uint256 = 0
    bought: uint256 = 0
    spent, bought = pool_math._quote(active, funds_left, collateral_left, base_value, price * _BASE_UNIT)
    return spent, bought, price


@internal
@view
def _check_fill_args(collateral_price: uint256, base_price: uint256, keeper_fee: uint256):
    assert collateral_price != 0 and base_price != 0, "queue: zero price"
    assert keeper_fee <= WAD, "queue: keeper fee above 100%"


@internal
@pure
def _resolve_amount(amount: uint256, available: uint256) -> uint256:
    """
    @notice `amount`, or everything for max_value(uint256); checked against `available`.
    """
    taken: uint256 = amount
    if amount == max_value(uint256):
        taken = available
    assert taken != 0, "queue: zero amount"
    assert taken <= available, "queue: amount exceeds bid"
    return taken


@internal
@pure
def _address(word: uint256) -> address:
    """
    @notice The address in the low 160 bits of a packed word.
    """
    return convert(convert(word & pool_math.MASK_160, uint160), address)
