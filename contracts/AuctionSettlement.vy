# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title ALA auction settlement: the engine's side of the Dutch auction
@notice Opens the Dutch auctions the engine orders (the engine has had the vault send the lot to the
        auction house), receives what they raise (it is the house's `engine` and `beneficiary`), books
        it on the vault as repayment of the account's debt through the vault's public `repay`, and
        sends any surplus to the borrower (held for `claim_refund` when that transfer fails).
        Once an auction has ended the account is released, and a shortfall left with no collateral
        value is written off by the engine's `write_off` (the engine alone judges that: it holds the
        risk parameters). It moved out of the engine, which reached 20,460 of its 20,480 bytes: the
        auction bookkeeping is a boundary of its own (Maker keeps its Clipper apart from its Dog the same
        way), and the liquidation hot path only pays one call into it.
@license MIT
@custom:contract-name AuctionSettlement
"""

from interfaces import IAuctionSettlement
from interfaces import ILiquidationEngine
from interfaces import ILendingVault
from interfaces import IDutchAuction
from ethereum.ercs import IERC20

implements: IAuctionSettlement

from snekmate.auth import ownable
from snekmate.auth import ownable_2step
from modules import transfers

initializes: ownable
initializes: ownable_2step[ownable := ownable]

exports: (
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
)


# The engine whose liquidations open the auctions; the only caller of `kick` and `settle_account`.
engine: public(immutable(address))
# The engine's vault, whose debt the proceeds repay.
vault: public(immutable(address))
# The vault's asset, which this contract holds only between a take and its settlement.
base_asset: public(immutable(address))

# The Dutch-auction house; empty: no fallback. Wired once by the owner (the house is deployed after
# this contract: it needs its address as its engine and beneficiary).
auction_house: public(address)
# Account -> id of its auction not yet settled to the end; 0: none. At most one per account.
auction_of: public(HashMap[address, uint256])
# Auction id -> base it raised that has been booked on the vault, base units.
auction_booked: public(HashMap[uint256, uint256])
# Account -> auction surplus it could not be sent (its transfer failed), base units; `claim_refund` pays it.
refunds: public(HashMap[address, uint256])


@deploy
def __init__(engine_: address):
    assert engine_ != empty(address), "auctions: zero engine"
    ownable.__init__()
    ownable_2step.__init__()
    engine = engine_
    vault = staticcall ILiquidationEngine(engine_).vault()
    base_asset = staticcall ILiquidationEngine(engine_).base_asset()
    # dev: the vault pulls each repayment from here (`repay`); the base asset is the vault's own asset
    assert extcall IERC20(base_asset).approve(vault, max_value(uint256), default_return_value=True), (
        "auctions: approve failed"
    )


@external
def kick(account: address, collateral: address, lot: uint256, tab: uint256, top: uint256) -> uint256:
    """
    @notice Engine only. Start the auction of `lot` `collateral` of `account` (already sent to the house)
            to raise `tab` base from `top`. Returns its id.
    """
    assert msg.sender == engine, "auctions: not engine"
    auction_id: uint256 = extcall IDutchAuction(self.auction_house).kick(account, collateral, lot, tab, top)
    self.auction_of[account] = auction_id
    return auction_id


@external
def settle_account(account: address) -> bool:
    """
    @notice Engine only (the start of a liquidation): book what the account's auction raised so far.
            Returns whether the auction still runs. A shortfall is not written off here: the
            liquidation that follows judges the account as it is.
    """
    assert msg.sender == engine, "auctions: not engine"
    running: uint256 = self.auction_of[account]
    if running == 0:
        return False
    self._settle(running, staticcall IDutchAuction(self.auction_house).auction_info(running))
    return self.auction_of[account] != 0


@external
def settle_auction(auction_id: uint256) -> uint256:
    """
    @notice Book what auction `auction_id` raised since the last settlement as repayment of its
            account's debt (anyone may call; `liquidate` settles the account's auction first).
            Base beyond the current debt (the borrower repaid meanwhile) goes to the borrower.
            Once the auction has ended, the account may be liquidated again, and a shortfall
            left with no collateral value is written off as bad debt. Returns the debt repaid.
    """
    house: address = self.auction_house
    assert house != empty(address), "auctions: no auction house"
    info: IDutchAuction.AuctionInfo = staticcall IDutchAuction(house).auction_info(auction_id)
    assert info.account != empty(address), "auctions: unknown auction"
    assert self.auction_of[info.account] == auction_id, "auctions: auction already settled"
    return self._settle_and_close(auction_id, info)


@external
def yank_auction(auction_id: uint256) -> uint256:
    """
    @notice Owner only. End a running auction (for example when the borrower can no longer receive
            the collateral its final take would return, which makes that take revert) and settle it.
            Its unsold lot goes back to the account's collateral in the vault's ledger (invariant 13: the
            owner names no receiver, as Maker's `yank` returns a lot to its Dog), so the collateral covers
            the debt again and nothing it covers is written off. Returns the debt repaid.
    """
    ownable._check_owner()
    return self._end(auction_id)


@external
def end_auction(auction_id: uint256) -> uint256:
    """
    @notice End running auction `auction_id` once its account owes nothing (it repaid, or other collateral
            was sold): anyone may call. The unsold lot returns to the account's collateral in the vault's
            ledger, and whatever the auction raised goes to the borrower. Returns the debt repaid (0).
    """
    house: address = self.auction_house
    assert house != empty(address), "auctions: no auction house"
    info: IDutchAuction.AuctionInfo = staticcall IDutchAuction(house).auction_info(auction_id)
    assert info.account != empty(address), "auctions: unknown auction"
    assert staticcall ILendingVault(vault).debt_of(info.account) == 0, "auctions: debt not covered"
    return self._end(auction_id)


@external
def claim_refund(receiver: address) -> uint256:
    """
    @notice Send the caller's held auction surplus (`refunds`) to `receiver`. Returns the amount.
    """
    assert receiver != empty(address), "auctions: zero receiver"
    amount: uint256 = self.refunds[msg.sender]
    assert amount != 0, "auctions: no refund"
    self.refunds[msg.sender] = 0
    transfers._push(base_asset, receiver, amount)
    log IAuctionSettlement.RefundClaimed(account=msg.sender, receiver=receiver, amount=amount)
    return amount


@external
def set_auction_house(auction_house: address):
    """
    @notice Owner only, once: wire the Dutch-auction house (its engine and beneficiary must be
            this contract, and its base asset the vault's).
    """
    ownable._check_owner()
    assert self.auction_house == empty(address), "auctions: auction house already set"
    assert auction_house != empty(address), "auctions: zero auction house"
    assert staticcall IDutchAuction(auction_house).engine() == self, "auctions: auction house of another engine"
    assert staticcall IDutchAuction(auction_house).beneficiary() == self, "auctions: auction proceeds go elsewhere"
    assert staticcall IDutchAuction(auction_house).base_asset() == base_asset, "auctions: auction base mismatch"
    self.auction_house = auction_house
    log IAuctionSettlement.AuctionHouseSet(auction_house=auction_house)


@internal
def _end(auction_id: uint256) -> uint256:
    """
    @notice Stop running auction `auction_id`, credit its unsold lot to the account's collateral in the ledger
            (before the settlement judges the account), and settle it.
    """
    house: address = self.auction_house
    assert house != empty(address), "auctions: no auction house"
    info: IDutchAuction.AuctionInfo = staticcall IDutchAuction(house).auction_info(auction_id)
    assert self.auction_of[info.account] == auction_id, "auctions: auction already settled"
    extcall IDutchAuction(house).yank(auction_id, self)
    info = staticcall IDutchAuction(house).auction_info(auction_id)
    # dev: `add_collateral` pulls exactly the lot from here
    if info.lot != 0:
        assert extcall IERC20(info.collateral).approve(vault, info.lot, default_return_value=True), (
            "auctions: approve failed"
        )
        extcall ILendingVault(vault).add_collateral(info.collateral, info.lot, info.account)
    return self._settle_and_close(auction_id, info)


@internal
def _settle_and_close(auction_id: uint256, info: IDutchAuction.AuctionInfo) -> uint256:
    """
    @notice Settle, and when the auction ended with debt left, have the engine close the account if
            what it holds is dust (invariant 9); the engine refuses otherwise, and then the account is
            simply liquidatable again.
    """
    repaid: uint256 = self._settle(auction_id, info)
    if info.finished and staticcall ILendingVault(vault).debt_of(info.account) != 0:
        # dev: the engine reverts unless the account is liquidatable, every asset priced and its collateral dust;
        # that refusal must not undo the settlement (anyone may call `write_off` later)
        success: bool = raw_call(
            engine,
            abi_encode(info.account, method_id=method_id("write_off(address)")),
            revert_on_failure=False,
        )
    return repaid


@internal
def _settle(auction_id: uint256, info: IDutchAuction.AuctionInfo) -> uint256:
    """
    @notice Book the base auction `auction_id` (`info`: its auction_info now) raised since its last
            settlement (the house sent it here) and, once the auction has ended, release its account.
    """
    fresh: uint256 = info.raised - self.auction_booked[auction_id]
    if fresh == 0 and not info.finished:
        return 0
    self.auction_booked[auction_id] = info.raised
    repaid: uint256 = 0
    if fresh != 0:
        debt: uint256 = staticcall ILendingVault(vault).debt_of(info.account)
        repaid = min(fresh, debt)
        if repaid != 0:
            # dev: the vault accrues first and pulls exactly `repaid` (at most the debt it just computed)
            repaid = extcall ILendingVault(vault).repay(repaid, info.account)
    if fresh > repaid:
        self._refund(info.account, fresh - repaid)
    if info.finished:
        self.auction_of[info.account] = 0
    log IAuctionSettlement.AuctionSettled(
        auction_id=auction_id,
        account=info.account,
        repaid=repaid,
        refunded=fresh - repaid,
        finished=info.finished,
    )
    return repaid


@internal
def _refund(account: address, amount: uint256):
    """
    @notice Send an auction surplus to its borrower; when the transfer fails (a token that blocks the
            account), keep it for `claim_refund`, so that the settlement itself never fails.
    """
    success: bool = False
    response: Bytes[32] = b""
    success, response = raw_call(
        base_asset,
        abi_encode(account, amount, method_id=method_id("transfer(address,uint256)")),
        max_outsize=32,
        revert_on_failure=False,
    )
    if success and len(response) != 0:
        success = convert(response, bool)
    if not success:
        self.refunds[account] += amount
        log IAuctionSettlement.RefundHeld(account=account, amount=amount)
