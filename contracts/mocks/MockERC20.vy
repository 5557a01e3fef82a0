# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title Mock ERC-20 with configurable decimals
@notice A snekmate ERC-20 whose decimals are set at deployment (0 to 18) and
        that anyone may mint: a test and demo token, never for production.
@license MIT
@custom:contract-name MockERC20
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed

implements: IERC20
implements: IERC20Detailed

from snekmate.auth import ownable
from snekmate.tokens import erc20

initializes: ownable
initializes: erc20[ownable := ownable]

exports: (
    erc20.IERC20,
    erc20.IERC20Detailed,
    erc20.burn,
    erc20.burn_from,
)


@deploy
def __init__(name_: String[25], symbol_: String[5], decimals_: uint8):
    assert decimals_ <= 18, "mock: decimals above 18"
    ownable.__init__()
    erc20.__init__(name_, symbol_, decimals_, name_, "1")


@external
def mint(to: address, amount: uint256):
    """
    @notice Mint `amount` to `to`; open to anyone because this is a mock.
    """
    assert to != empty(address), "mock: mint to zero address"
    erc20._mint(to, amount)
