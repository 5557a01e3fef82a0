# pragma version ~=0.4.3
"""
@title Mock flash taker of the DutchAuction
@notice Buys collateral with no base of its own: `buy` calls `take` with itself as the receiver;
        in `on_auction_take` it sells the collateral to `market` (an account that has approved
        this contract for the base asset) for exactly `owe`, and approves the auction to pull it.
        `data` is abi_encode(collateral, mode): mode 0 sells; mode 1 first tries to re-enter
        `take`, mode 2 first tries to read `auction_price`, and records whether that succeeded.
        No nonreentrancy pragma: the auction calls back into this contract while `buy` runs.
@license MIT
@custom:contract-name MockTakeCallee
"""

from ethereum.ercs import IERC20

from interfaces import IAuctionCallee
from interfaces import IDutchAuction

implements: IAuctionCallee

MODE_SELL: constant(uint256) = 0
MODE_REENTER_TAKE: constant(uint256) = 1
MODE_REENTER_VIEW: constant(uint256) = 2

# The auction house this taker buys from.
auction: public(immutable(address))
# The base asset the auction is paid in.
base: public(immutable(address))
# Buys the collateral for base in the callback (approved this contract for the base asset).
market: public(immutable(address))

# Whether the last callback tried to call back into the auction, and whether that call succeeded.
reentry_attempted: public(bool)
reentry_succeeded: public(bool)
# Auction id of the running `buy`, for the re-entry attempt.
_current_id: uint256
# Arguments of the last callback: (sender, owe, bought).
last_sender: public(address)
last_owe: public(uint256)
last_bought: public(uint256)


@deploy
def __init__(auction_: address, base_: address, market_: address):
    auction = auction_
    base = base_
    market = market_


@external
def buy(
    auction_id: uint256, amount: uint256, max_price: uint256, collateral: address, mode: uint256
) -> (uint256, uint256):
    """
    @notice Flash-buy up to `amount` collateral of `auction_id`; returns the auction's (bought, owe).
    """
    self._current_id = auction_id
    return extcall IDutchAuction(auction).take(auction_id, amount, max_price, self, abi_encode(collateral, mode))


@external
def on_auction_take(sender: address, owe: uint256, bought: uint256, data: Bytes[1024]):
    assert msg.sender == auction, "mock: not the auction"
    assert sender == self, "mock: not my take"
    collateral: address = empty(address)
    mode: uint256 = 0
    collateral, mode = abi_decode(data, (address, uint256))
    self.last_sender = sender
    self.last_owe = owe
    self.last_bought = bought

    if mode == MODE_REENTER_TAKE:
        self.reentry_attempted = True
        self.reentry_succeeded = raw_call(
            auction,
            abi_encode(
                self._current_id,
                convert(1, uint256),
                max_value(uint256),
                self,
                b"",
                method_id=method_id("take(uint256,uint256,uint256,address,bytes)"),
            ),
            max_outsize=64,
            revert_on_failure=False,
        )[0]
    elif mode == MODE_REENTER_VIEW:
        self.reentry_attempted = True
        self.reentry_succeeded = raw_call(
            auction,
            abi_encode(self._current_id, method_id=method_id("auction_price(uint256)")),
            max_outsize=32,
            is_static_call=True,
            revert_on_failure=False,
        )[0]

    # sell the collateral to the market for exactly what the auction asks, then let the auction pull it
    assert extcall IERC20(collateral).transfer(market, bought, default_return_value=True), "mock: transfer failed"
    assert extcall IERC20(base).transferFrom(market, self, owe, default_return_value=True), "mock: market did not pay"
    assert extcall IERC20(base).approve(auction, owe, default_return_value=True), "mock: approve failed"
