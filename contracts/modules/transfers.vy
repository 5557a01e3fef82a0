# pragma version ~=0.4.3
"""
@title Checked token transfers
@notice Every token movement of the vault, the queue, the engine and the auction house, written once:
        `_pull` takes tokens from an account and checks that the whole amount arrived (a fee-on-transfer
        token is refused, so no contract ever books more than it holds); `_push` sends tokens and
        `_pull_to` moves them from an account straight to another. Each reverts with a reason when the
        token returns false; tokens that return nothing are accepted (`default_return_value`).
@license MIT
@custom:contract-name transfers
"""

from ethereum.ercs import IERC20


@internal
def _pull(token: address, sender: address, amount: uint256):
    """
    @notice Take `amount` of `token` from `sender` into this contract; revert unless all of it arrived.
    """
    before: uint256 = staticcall IERC20(token).balanceOf(self)
    assert extcall IERC20(token).transferFrom(sender, self, amount, default_return_value=True), (
        "transfers: transfer failed"
    )
    assert staticcall IERC20(token).balanceOf(self) - before == amount, "transfers: fee-on-transfer token"


@internal
def _pull_to(token: address, sender: address, receiver: address, amount: uint256):
    """
    @notice Move `amount` of `token` from `sender` to `receiver` (this contract holds an allowance).
    """
    assert extcall IERC20(token).transferFrom(sender, receiver, amount, default_return_value=True), (
        "transfers: transfer failed"
    )


@internal
def _push(token: address, receiver: address, amount: uint256):
    """
    @notice Send `amount` of `token` from this contract to `receiver`.
    """
    assert extcall IERC20(token).transfer(receiver, amount, default_return_value=True), "transfers: transfer failed"
