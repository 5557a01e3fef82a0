# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title ALA Dutch-auction fallback
@notice When the bid queue cannot raise a liquidation's funds, the engine hands the
        collateral lot to this auction house and `kick`s an auction: the price starts
        at `top` (the queue's top-slot price) and falls by a stair-step exponential
        curve, `top * cut^floor(elapsed / step)`, never below `floor * top`. Anyone may
        `take` collateral at the current price, flash-style if they like (the collateral
        is sent first, then the taker's callback runs, then the base is pulled). The base
        raised goes straight to the `beneficiary` (the engine). An auction finishes when
        its tab is raised (the unsold collateral returns to the borrower) or its lot is
        sold out (what the tab still lacks is the shortfall); both appear in
        `AuctionFinished` and in `auction_info`. An auction that is too old (`tail`) or
        too cheap (`cusp`) may be restarted by anyone with `redo` at the oracle price
        times `buf`, for a bounded incentive paid from a separately funded balance.
        An auction keeps for life the terms in force at its kick (the curve: cut, step,
        floor; the dust rule; the redo rules: tail, cusp, buf): the owner's setters shape
        only the auctions kicked afterwards (invariant 12), so no setter can speed up,
        deepen or restart a running sale to buy its lot cheaply.
        After MakerDAO's Clipper (dss/src/clip.sol) and its StairstepExponentialDecrease.
@dev    Token accounting, so that nothing can be stuck: the base raised is never held (it goes
        from the taker to the beneficiary in the take); per collateral, `held` is the sum of the
        running lots and leaves with every purchase, leftover return or yank; the only base held
        is `incentive_balance`, which the owner may withdraw. Anything beyond those two
        (donations, mistaken transfers) is `sweep`able by the owner, and nothing below them is.
        A running auction always ends: anyone may take it (the price needs no oracle) or redo
        it, and the engine may `yank` it (for example when the borrower cannot receive the
        leftover collateral, which would make the final take revert).
@license MIT
@custom:contract-name DutchAuction
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed

from interfaces import IDutchAuction
from interfaces import IAuctionCallee
from interfaces import IPriceOracle

implements: IDutchAuction

from snekmate.auth import ownable
from snekmate.auth import ownable_2step
from snekmate.utils import math
from modules import transfers

initializes: ownable
initializes: ownable_2step[ownable := ownable]

exports: (
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
)


WAD: constant(uint256) = 10**18
# Largest lot, tab and price an auction accepts: each is packed in 128 bits, and every product stays
# below 2**256.
MAX_AMOUNT: constant(uint256) = 2**128 - 1
MAX_DATA: constant(uint256) = 1024
# Hard bounds of the owner's setters (WAD unless stated).
MIN_CUT: constant(uint256) = WAD // 2
MIN_STEP: constant(uint256) = 1
MAX_STEP: constant(uint256) = 3600
MIN_TAIL: constant(uint256) = 300
MAX_TAIL: constant(uint256) = 7 * 86400
MIN_CUSP: constant(uint256) = WAD // 10
MAX_CUSP: constant(uint256) = 95 * 10**16
MIN_BUF: constant(uint256) = WAD
MAX_BUF: constant(uint256) = 2 * WAD
MAX_CHIP: constant(uint256) = 10**16
# A redo pays an incentive only when the auction ran at least this long since its (re)start, seconds:
# whatever the curve, one auction cannot earn more than one incentive per 5 minutes.
MIN_PAID_INTERVAL: constant(uint256) = 300
# Bounds in whole base tokens, scaled by the base asset's decimals at deployment.
MAX_TIP_TOKENS: constant(uint256) = 1_000
MAX_INCENTIVE_TOKENS: constant(uint256) = 2_000
MAX_DUST_TOKENS: constant(uint256) = 10_000
# Bit masks of the packed storage words.
MASK_32: constant(uint256) = 2**32 - 1
MASK_64: constant(uint256) = 2**64 - 1
MASK_128: constant(uint256) = 2**128 - 1
MASK_160: constant(uint256) = 2**160 - 1
FINISHED: constant(uint256) = 1 << 255
# A sale's head holds its terms id in bits 224-254 (31 bits, below FINISHED).
TERMS_SHIFT: constant(uint256) = 224
MAX_TERMS_ID: constant(uint256) = 2**31 - 1

# The base asset the auctions raise (the vault's asset).
base_asset: public(immutable(address))
# 10**decimals of the base asset.
_BASE_UNIT: immutable(uint256)
# Prices of the collateral and the base asset for `redo`, WAD USD per whole token.
oracle: public(immutable(address))
# The only caller of `kick` and `yank`.
engine: public(immutable(address))
# Never called back by `take` (it trusts the engine); not otherwise used.
vault: public(immutable(address))
# Receives the base raised, as it is raised (the engine, which repays the debt).
beneficiary: public(immutable(address))
# Hard bounds in base units: largest tip, largest incentive of one redo, largest dust.
_MAX_TIP: immutable(uint256)
max_incentive: public(immutable(uint256))
_MAX_DUST: immutable(uint256)


struct Sale:
    # account (bits 0-159) | start time (160-223) | terms id (224-254) | FINISHED flag (255); 0 for an unknown id
    head: uint256
    # collateral (bits 0-159) | 10**decimals of the collateral (160-223)
    asset: uint256
    # tab, base still to raise (bits 0-127) | lot, collateral for sale (128-255)
    amounts: uint256
    # top, WAD base per whole collateral token (bits 0-127) | tab at the kick (128-255)
    prices: uint256


# Auction id -> its sale; ids start at 1.
_sales: HashMap[uint256, Sale]
# Read and written by every kick, one slot: id the next kick will get (bits 0-127) | id of the terms in force,
# the terms the next kick snapshots (128-255).
_ids: uint256
# Number of auctions started and not finished.
running_auctions: public(uint256)
# Collateral -> Σ lots of running auctions, token units (what this contract owes out of its balance).
held: public(HashMap[address, uint256])
# Base set aside for redo incentives, base units.
incentive_balance: public(uint256)
# Terms id -> the terms every auction kicked under it keeps for life, written once by a setter and never
# changed: [0] read by every take: cut (WAD, bits 0-63) | floor (WAD fraction of top, 64-127) | step (seconds,
# 128-159) | dust (base units, 160-255); [1] read by redo: tail (seconds after a (re)start when an auction may be
# redone, bits 0-63) | cusp (redo allowed once price / top < cusp, WAD, 64-127) | buf (multiplier of the oracle
# price for the top of a redo, WAD, 128-191).
_terms: HashMap[uint256, uint256[2]]
# Flat part of the redo incentive, base units.
tip: public(uint256)
# Part of the redo incentive proportional to the tab, WAD.
chip: public(uint256)


@deploy
def __init__(base_asset_: address, oracle_: address, engine_: address, vault_: address, beneficiary_: address):
    assert base_asset_ != empty(address), "auction: zero base asset"
    assert oracle_ != empty(address), "auction: zero oracle"
    assert engine_ != empty(address), "auction: zero engine"
    assert vault_ != empty(address), "auction: zero vault"
    assert beneficiary_ != empty(address), "auction: zero beneficiary"
    decimals: uint8 = staticcall IERC20Detailed(base_asset_).decimals()
    assert decimals <= 18, "auction: decimals above 18"
    ownable.__init__()
    ownable_2step.__init__()
    base_asset = base_asset_
    oracle = oracle_
    engine = engine_
    vault = vault_
    beneficiary = beneficiary_
    unit: uint256 = 10 ** convert(decimals, uint256)
    _BASE_UNIT = unit
    _MAX_TIP = MAX_TIP_TOKENS * unit
    max_incentive = MAX_INCENTIVE_TOKENS * unit
    _MAX_DUST = MAX_DUST_TOKENS * unit

    # Maker ETH-A-like defaults: 1% off every 90 s, redo after 140 min or below 40% of top; terms id 1
    self._terms[1] = [self._pack(99 * 10**16, 3 * 10**17, 90, 10 * unit), self._pack_rules(8400, 4 * 10**17, 11 * 10**17)]
    self._ids = 1 | (1 << 128)


# ---------------------------------------------------------------- auctions


@external
def kick(account: address, collateral: address, lot: uint256, tab: uint256, start_price: uint256) -> uint256:
    """
    @notice Engine only. Start an auction of `lot` `collateral` for `account`, to raise `tab` base,
            starting at `start_price`. The engine must have transferred the lot to this contract
            before the call (checked against the balance this contract owes out).
    @param start_price WAD base per whole collateral token; the engine passes the price at which
           the queue stops (its top slot).
    @return The auction id; follow `AuctionFinished` or `auction_info(id)` for the result.
    """
    assert msg.sender == engine, "auction: not engine"
    assert account != empty(address), "auction: zero account"
    assert collateral != empty(address), "auction: zero collateral"
    assert collateral != base_asset, "auction: collateral is base"
    assert lot != 0, "auction: zero lot"
    assert tab != 0, "auction: zero tab"
    assert start_price != 0, "auction: zero price"
    assert lot <= MAX_AMOUNT and tab <= MAX_AMOUNT, "auction: amount too large"
    assert start_price <= MAX_AMOUNT, "auction: price too large"
    decimals: uint8 = staticcall IERC20Detailed(collateral).decimals()
    assert decimals <= 18, "auction: decimals above 18"
    owed: uint256 = self.held[collateral] + lot
    assert staticcall IERC20(collateral).balanceOf(self) >= owed, "auction: lot not received"

    # dev: the terms in force are snapshotted by id: the slot is read anyway, the head written anyway
    ids: uint256 = self._ids
    auction_id: uint256 = ids & MASK_128
    self._ids = ids + 1
    self.running_auctions += 1
    self.held[collateral] = owed
    self._sales[auction_id] = Sale(
        head=convert(account, uint256) | (block.timestamp << 160) | ((ids >> 128) << TERMS_SHIFT),
        asset=convert(collateral, uint256) | ((10 ** convert(decimals, uint256)) << 160),
        amounts=tab | (lot << 128),
        prices=start_price | (tab << 128),
    )
    log IDutchAuction.AuctionKicked(
        auction_id=auction_id, account=account, collateral=collateral, lot=lot, tab=tab, top=start_price
    )
    return auction_id


@external
def take(
    auction_id: uint256, amount: uint256, max_price: uint256, receiver: address, data: Bytes[MAX_DATA]
) -> (uint256, uint256):
    """
    @notice Buy up to `amount` collateral of auction `auction_id` at the current price, which must
            not exceed `max_price`. The purchase is capped at the lot and at what the tab still
            needs. A partial purchase that would leave a tab below `dust` is reduced to leave
            exactly `dust`; when the tab itself is at most `dust`, only a purchase of the whole
            tab or lot is accepted.
            Order: the collateral goes to `receiver`; then, when `data` is not empty,
            `receiver.on_auction_take(msg.sender, owe, bought, data)` runs (sell the collateral
            there); then `owe` base is pulled from the caller and sent to the beneficiary.
            Every function of this contract, views included, is locked during the callback.
    @return (bought, owe): collateral bought (token units) and base paid (base units).
    """
    assert amount != 0, "auction: zero amount"
    assert receiver != empty(address), "auction: zero receiver"
    # dev: collateral sent here would leave the books (sweepable, but lost to the taker)
    assert receiver != self, "auction: receiver is the auction"
    sale: Sale = self._running(auction_id)
    collateral: address = convert(sale.asset & MASK_160, address)
    if len(data) != 0:
        assert receiver not in [engine, vault, beneficiary, base_asset, collateral, oracle], (
            "auction: forbidden callee"
        )

    params: uint256 = self._terms[sale.head >> TERMS_SHIFT & MAX_TERMS_ID][0]
    top: uint256 = sale.prices & MASK_128
    price: uint256 = self._price(top, (sale.head >> 160) & MASK_64, params)
    assert price <= max_price, "auction: too expensive"

    tab: uint256 = sale.amounts & MASK_128
    lot: uint256 = sale.amounts >> 128
    # dev: owe = bought * price in base units; both factors are below 2**128 and 10**18, no overflow
    value_num: uint256 = price * _BASE_UNIT
    value_den: uint256 = ((sale.asset >> 160) & MASK_64) * WAD
    bought: uint256 = min(lot, amount)
    # dev: round up, the taker pays for every unit of collateral in full
    owe: uint256 = math._mul_div(bought, value_num, value_den, True)
    if owe > tab:
        # dev: round down, the taker never gets more collateral than the tab pays for
        owe = tab
        bought = math._mul_div(owe, value_den, value_num, False)
    elif owe < tab and bought < lot:
        dust: uint256 = params >> 160
        if tab - owe < dust:
            assert tab > dust, "auction: no partial purchase"
            owe = tab - dust
            bought = math._mul_div(owe, value_den, value_num, False)
    tab -= owe
    lot -= bought

    finished: bool = lot == 0 or tab == 0
    if finished:
        # dev: the unsold lot (if any) leaves too: it returns to the account below
        self.held[collateral] -= bought + lot
        self._close(auction_id, sale, tab, lot)
    else:
        self.held[collateral] -= bought
        self._sales[auction_id].amounts = tab | (lot << 128)
    log IDutchAuction.AuctionTaken(
        auction_id=auction_id,
        taker=msg.sender,
        receiver=receiver,
        price=price,
        owe=owe,
        bought=bought,
        tab=tab,
        lot=lot,
    )

    if bought != 0:
        transfers._push(collateral, receiver, bought)
    if len(data) != 0:
        extcall IAuctionCallee(receiver).on_auction_take(msg.sender, owe, bought, data)
    transfers._pull_to(base_asset, msg.sender, beneficiary, owe)
    if finished:
        self._finish(auction_id, sale, tab, lot)
    return bought, owe


@external
def redo(auction_id: uint256, keeper: address) -> uint256:
    """
    @notice Restart auction `auction_id` when it is older than `tail` or its price fell below
            `cusp * top`: the new top is the oracle price of the collateral in base times `buf`,
            and the curve starts again. Pays `keeper` min(tip + chip * tab, max_incentive,
            incentive_balance) base; nothing when the tab or the lot's value (at the oracle price)
            is below `dust`, or when the auction started less than 5 minutes ago. So the
            incentive is bounded three ways: per redo by `max_incentive` (an immutable 2,000 whole
            base tokens), per auction to one payment per 5 minutes, and in total by the balance
            funded through `fund_incentives`. It never touches the base raised for the debt.
    @return The incentive paid, base units.
    """
    assert keeper != empty(address), "auction: zero keeper"
    sale: Sale = self._running(auction_id)
    # dev: the auction's own terms: a redo restarts it on the curve, rules and dust it was kicked with
    terms: uint256[2] = self._terms[sale.head >> TERMS_SHIFT & MAX_TERMS_ID]
    params: uint256 = terms[0]
    top: uint256 = sale.prices & MASK_128
    started_at: uint256 = (sale.head >> 160) & MASK_64
    assert self._needs_redo(top, started_at, params, terms[1]), "auction: cannot reset"

    collateral: address = convert(sale.asset & MASK_160, address)
    # dev: market price rounds down (the lot's value for the dust test), the new top rounds up
    market: uint256 = math._mul_div(
        staticcall IPriceOracle(oracle).price(collateral), WAD, staticcall IPriceOracle(oracle).price(base_asset), False
    )
    new_top: uint256 = math._mul_div(market, (terms[1] >> 128) & MASK_64, WAD, True)
    assert new_top != 0, "auction: zero price"
    assert new_top <= MAX_AMOUNT, "auction: price too large"

    tab: uint256 = sale.amounts & MASK_128
    lot: uint256 = sale.amounts >> 128
    dust: uint256 = params >> 160
    incentive: uint256 = 0
    if tab >= dust and block.timestamp - started_at >= MIN_PAID_INTERVAL:
        lot_value: uint256 = math._mul_div(lot, market * _BASE_UNIT, ((sale.asset >> 160) & MASK_64) * WAD, False)
        if lot_value >= dust:
            # dev: round down, the incentive is a cost to the protocol
            incentive = min(min(self.tip + tab * self.chip // WAD, max_incentive), self.incentive_balance)

    # dev: only the start time moves; the account and the terms id stay
    self._sales[auction_id].head = (sale.head & ~(MASK_64 << 160)) | (block.timestamp << 160)
    self._sales[auction_id].prices = (sale.prices & ~MASK_128) | new_top
    if incentive != 0:
        self.incentive_balance -= incentive
        transfers._push(base_asset, keeper, incentive)
    log IDutchAuction.AuctionRedone(
        auction_id=auction_id, keeper=keeper, top=new_top, tab=tab, lot=lot, incentive=incentive
    )
    return incentive


@external
def yank(auction_id: uint256, receiver: address):
    """
    @notice Engine only. End running auction `auction_id` and send its unsold collateral to
            `receiver`; the tab left is reported as the shortfall.
    """
    assert msg.sender == engine, "auction: not engine"
    assert receiver != empty(address), "auction: zero receiver"
    sale: Sale = self._running(auction_id)
    tab: uint256 = sale.amounts & MASK_128
    lot: uint256 = sale.amounts >> 128
    collateral: address = convert(sale.asset & MASK_160, address)
    self.held[collateral] -= lot
    self._close(auction_id, sale, tab, lot)
    transfers._push(collateral, receiver, lot)
    log IDutchAuction.AuctionYanked(auction_id=auction_id, receiver=receiver, lot=lot, tab=tab)
    log IDutchAuction.AuctionFinished(
        auction_id=auction_id,
        account=convert(sale.head & MASK_160, address),
        collateral=collateral,
        raised=(sale.prices >> 128) - tab,
        shortfall=tab,
        returned=0,
    )


# ---------------------------------------------------------------- views


@external
@view
def auction_price(auction_id: uint256) -> uint256:
    """
    @notice Current price of auction `auction_id`, WAD base per whole collateral token; 0 once finished.
    """
    sale: Sale = self._known(auction_id)
    if sale.head & FINISHED != 0:
        return 0
    return self._price(
        sale.prices & MASK_128, (sale.head >> 160) & MASK_64, self._terms[sale.head >> TERMS_SHIFT & MAX_TERMS_ID][0]
    )


@external
@view
def auction_status(auction_id: uint256) -> (bool, uint256, uint256, uint256):
    """
    @notice (needs_redo, price, lot, tab) of auction `auction_id`, as Clipper's getStatus;
            all zero once finished.
    """
    sale: Sale = self._known(auction_id)
    if sale.head & FINISHED != 0:
        return False, 0, 0, 0
    terms: uint256[2] = self._terms[sale.head >> TERMS_SHIFT & MAX_TERMS_ID]
    params: uint256 = terms[0]
    top: uint256 = sale.prices & MASK_128
    tic: uint256 = (sale.head >> 160) & MASK_64
    return (
        self._needs_redo(top, tic, params, terms[1]),
        self._price(top, tic, params),
        sale.amounts >> 128,
        sale.amounts & MASK_128,
    )


@external
@view
def auction_info(auction_id: uint256) -> IDutchAuction.AuctionInfo:
    """
    @notice Everything about auction `auction_id`. Once `finished`: `raised` is what the beneficiary
            received, `tab` the shortfall, `lot` the collateral that left unsold. The engine reads
            this (or `AuctionFinished`) to settle the account.
    """
    sale: Sale = self._known(auction_id)
    tab: uint256 = sale.amounts & MASK_128
    return IDutchAuction.AuctionInfo(
        account=convert(sale.head & MASK_160, address),
        collateral=convert(sale.asset & MASK_160, address),
        lot=sale.amounts >> 128,
        tab=tab,
        due=sale.prices >> 128,
        raised=(sale.prices >> 128) - tab,
        top=sale.prices & MASK_128,
        started_at=(sale.head >> 160) & MASK_64,
        finished=sale.head & FINISHED != 0,
    )


@external
@view
def auction_terms(auction_id: uint256) -> IDutchAuction.AuctionTerms:
    """
    @notice The terms auction `auction_id` runs on for life: those in force at its kick.
    """
    sale: Sale = self._known(auction_id)
    return self._unpack_terms(self._terms[sale.head >> TERMS_SHIFT & MAX_TERMS_ID])


@external
@view
def terms_id() -> uint256:
    """
    @notice Id of the terms in force: the next kick's. Every setter call of the curve, the dust or
            the redo rules writes a new id; the auctions kicked before it keep theirs.
    """
    return self._ids >> 128


@external
@view
def next_auction_id() -> uint256:
    """
    @notice Id the next kick will get.
    """
    return self._ids & MASK_128


@external
@view
def cut() -> uint256:
    """
    @notice Price multiplier per step of the auctions kicked from now on, WAD.
    """
    return self._current()[0] & MASK_64


@external
@view
def floor() -> uint256:
    """
    @notice Lowest price as a fraction of top of the auctions kicked from now on, WAD.
    """
    return (self._current()[0] >> 64) & MASK_64


@external
@view
def step() -> uint256:
    """
    @notice Seconds between two price cuts of the auctions kicked from now on.
    """
    return (self._current()[0] >> 128) & MASK_32


@external
@view
def dust() -> uint256:
    """
    @notice Smallest tab a partial take may leave in the auctions kicked from now on, base units.
    """
    return self._current()[0] >> 160


@external
@view
def tail() -> uint256:
    """
    @notice Seconds after its (re)start when an auction kicked from now on may be redone.
    """
    return self._current()[1] & MASK_64


@external
@view
def cusp() -> uint256:
    """
    @notice Redo allowed once price / top < cusp, WAD (auctions kicked from now on).
    """
    return (self._current()[1] >> 64) & MASK_64


@external
@view
def buf() -> uint256:
    """
    @notice Multiplier of the oracle price for the top of a redo, WAD (auctions kicked from now on).
    """
    return (self._current()[1] >> 128) & MASK_64


# ---------------------------------------------------------------- admin


@external
def set_curve(cut: uint256, step: uint256, floor_: uint256):
    """
    @notice Price curve of the auctions kicked from now on (running ones keep theirs): `cut` in
            [0.5, 1) WAD per `step` in [1, 3600] seconds, never below `floor_ * top` with `floor_`
            (WAD) below `cusp`, so that a too-cheap auction can always be redone before it
            reaches its floor.
    """
    ownable._check_owner()
    assert cut >= MIN_CUT and cut < WAD, "auction: cut out of bounds"
    assert step >= MIN_STEP and step <= MAX_STEP, "auction: step out of bounds"
    terms: uint256[2] = self._current()
    assert floor_ < (terms[1] >> 64) & MASK_64, "auction: floor not below cusp"
    self._new_terms(self._pack(cut, floor_, step, terms[0] >> 160), terms[1])
    log IDutchAuction.CurveSet(cut=cut, step=step, floor=floor_)


@external
def set_reset_rules(tail: uint256, cusp: uint256, buf: uint256):
    """
    @notice Redo rules of the auctions kicked from now on (running ones keep theirs): after `tail`
            in [300 s, 7 days] seconds, or once price / top falls below `cusp` in [0.1, 0.95] WAD
            (and above `floor`); a redo restarts at oracle price times `buf` in [1, 2] WAD.
            They are terms of a sale: a shorter tail or a higher cusp would restart running
            auctions early, a lower buf restart them lower.
    """
    ownable._check_owner()
    assert tail >= MIN_TAIL and tail <= MAX_TAIL, "auction: tail out of bounds"
    assert cusp >= MIN_CUSP and cusp <= MAX_CUSP, "auction: cusp out of bounds"
    terms: uint256[2] = self._current()
    assert cusp > (terms[0] >> 64) & MASK_64, "auction: floor not below cusp"
    assert buf >= MIN_BUF and buf <= MAX_BUF, "auction: buf out of bounds"
    self._new_terms(terms[0], self._pack_rules(tail, cusp, buf))
    log IDutchAuction.ResetRulesSet(tail=tail, cusp=cusp, buf=buf)


@external
def set_incentive(tip: uint256, chip: uint256):
    """
    @notice Redo incentive: `tip` base units (at most 1,000 whole base tokens) plus `chip` (WAD, at
            most 1%) of the tab; each payment is further capped at `max_incentive` and at the
            incentive balance.
    """
    ownable._check_owner()
    assert tip <= _MAX_TIP, "auction: tip above bound"
    assert chip <= MAX_CHIP, "auction: chip above bound"
    self.tip = tip
    self.chip = chip
    log IDutchAuction.IncentiveSet(tip=tip, chip=chip)


@external
def set_dust(dust: uint256):
    """
    @notice Smallest tab a partial take may leave, base units (at most 10,000 whole base tokens),
            in the auctions kicked from now on: a running auction keeps its own, so a higher
            dust cannot turn its partial takes into all-or-nothing ones.
    """
    ownable._check_owner()
    assert dust <= _MAX_DUST, "auction: dust above bound"
    terms: uint256[2] = self._current()
    self._new_terms((terms[0] & MASK_160) | (dust << 160), terms[1])
    log IDutchAuction.DustSet(dust=dust)


@external
def fund_incentives(amount: uint256):
    """
    @notice Add `amount` base to the redo incentive balance (anyone may fund it).
    """
    assert amount != 0, "auction: zero amount"
    transfers._pull(base_asset, msg.sender, amount)
    self.incentive_balance += amount
    log IDutchAuction.IncentivesFunded(funder=msg.sender, amount=amount)


@external
def withdraw_incentives(amount: uint256, receiver: address):
    """
    @notice Owner only: take `amount` base out of the redo incentive balance.
    """
    ownable._check_owner()
    assert amount != 0, "auction: zero amount"
    assert receiver != empty(address), "auction: zero receiver"
    assert amount <= self.incentive_balance, "auction: exceeds incentive balance"
    self.incentive_balance -= amount
    transfers._push(base_asset, receiver, amount)
    log IDutchAuction.IncentivesWithdrawn(receiver=receiver, amount=amount)


@external
def sweep(token: address, receiver: address) -> uint256:
    """
    @notice Owner only: send `receiver` whatever of `token` this contract holds beyond what it owes
            (the lots of running auctions, the incentive balance): donations and mistaken transfers.
            Nothing owed can be swept, so no token can be stuck and no lot can be taken.
    """
    ownable._check_owner()
    assert receiver != empty(address), "auction: zero receiver"
    owed: uint256 = self.held[token]
    if token == base_asset:
        owed = self.incentive_balance
    balance: uint256 = staticcall IERC20(token).balanceOf(self)
    assert balance > owed, "auction: nothing to sweep"
    amount: uint256 = balance - owed
    transfers._push(token, receiver, amount)
    log IDutchAuction.Swept(token=token, receiver=receiver, amount=amount)
    return amount


# ---------------------------------------------------------------- internal


@internal
@view
def _known(auction_id: uint256) -> Sale:
    sale: Sale = self._sales[auction_id]
    assert sale.head != 0, "auction: unknown auction"
    return sale


@internal
@view
def _running(auction_id: uint256) -> Sale:
    sale: Sale = self._known(auction_id)
    assert sale.head & FINISHED == 0, "auction: finished"
    return sale


@internal
@view
def _price(top: uint256, started_at: uint256, params: uint256) -> uint256:
    """
    @notice top * cut^floor(elapsed / step), at least floor * top. Every product rounds up: the
            curve never undercuts its exact value, so rounding favours the borrower and the
            protocol, not the taker.
    """
    steps: uint256 = (block.timestamp - started_at) // ((params >> 128) & MASK_32)
    price: uint256 = math._mul_div(top, self._wpow_up(params & MASK_64, steps), WAD, True)
    return max(price, math._mul_div(top, (params >> 64) & MASK_64, WAD, True))


@internal
@view
def _needs_redo(top: uint256, started_at: uint256, params: uint256, rules: uint256) -> bool:
    """
    @notice Older than `tail`, or price / top below `cusp` (compared without division), both from
            the auction's own redo `rules`.
    """
    if block.timestamp - started_at > rules & MASK_64:
        return True
    return self._price(top, started_at, params) * WAD < ((rules >> 64) & MASK_64) * top


@internal
@view
def _current() -> uint256[2]:
    """
    @notice The terms in force, which the next kick snapshots.
    """
    return self._terms[self._ids >> 128]


@internal
def _new_terms(params: uint256, rules: uint256):
    """
    @notice Write a new terms id and put it in force; the terms of every older id stay as they were,
            so the auctions kicked under them keep running on them.
    """
    ids: uint256 = self._ids
    terms_id: uint256 = (ids >> 128) + 1
    # dev: 31 bits in a sale's head; two billion setter calls are out of reach, but never wrap into FINISHED
    assert terms_id <= MAX_TERMS_ID, "auction: too many term changes"
    self._terms[terms_id] = [params, rules]
    self._ids = (ids & MASK_128) | (terms_id << 128)


@internal
@pure
def _unpack_terms(terms: uint256[2]) -> IDutchAuction.AuctionTerms:
    return IDutchAuction.AuctionTerms(
        cut=terms[0] & MASK_64,
        step=(terms[0] >> 128) & MASK_32,
        floor=(terms[0] >> 64) & MASK_64,
        dust=terms[0] >> 160,
        tail=terms[1] & MASK_64,
        cusp=(terms[1] >> 64) & MASK_64,
        buf=(terms[1] >> 128) & MASK_64,
    )


@internal
@pure
def _wpow_up(x: uint256, n: uint256) -> uint256:
    """
    @notice x^n for a WAD x <= 1, by squaring, every product rounded up (an upper bound of the
            exact power, never below 1 wei). n < 2**64, so 64 rounds suffice.
    """
    result: uint256 = WAD
    base: uint256 = x
    exponent: uint256 = n
    for _: uint256 in range(64):
        if exponent == 0:
            break
        if exponent & 1 != 0:
            # dev: both factors <= WAD, the product fits; ceiling division
            result = unsafe_div(result * base + WAD - 1, WAD)
        exponent >>= 1
        if exponent != 0:
            base = unsafe_div(base * base + WAD - 1, WAD)
    return result


@internal
def _close(auction_id: uint256, sale: Sale, tab: uint256, lot: uint256):
    """
    @notice Mark the auction finished; `tab` stays as the shortfall, `lot` as the unsold collateral.
    """
    self._sales[auction_id].head = sale.head | FINISHED
    self._sales[auction_id].amounts = tab | (lot << 128)
    self.running_auctions -= 1


@internal
def _finish(auction_id: uint256, sale: Sale, tab: uint256, lot: uint256):
    """
    @notice After the last take: return the unsold collateral to the account and report the result.
    """
    account: address = convert(sale.head & MASK_160, address)
    collateral: address = convert(sale.asset & MASK_160, address)
    if lot != 0:
        transfers._push(collateral, account, lot)
    log IDutchAuction.AuctionFinished(
        auction_id=auction_id,
        account=account,
        collateral=collateral,
        raised=(sale.prices >> 128) - tab,
        shortfall=tab,
        returned=lot,
    )


@internal
@pure
def _pack(cut: uint256, floor_: uint256, step: uint256, dust: uint256) -> uint256:
    # dev: the setters bound cut and floor below WAD < 2**64, step to 3600 < 2**32, dust below 2**96
    return cut | (floor_ << 64) | (step << 128) | (dust << 160)


@internal
@pure
def _pack_rules(tail: uint256, cusp: uint256, buf: uint256) -> uint256:
    # dev: the setter bounds tail to 7 days < 2**64, cusp below WAD and buf to 2 WAD < 2**64
    return tail | (cusp << 64) | (buf << 128)
