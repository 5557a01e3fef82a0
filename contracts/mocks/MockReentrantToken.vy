# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title Mock re-entrant ERC-20
@notice An ERC-20 with any decimals and an open mint whose `transfer` and
        `transferFrom` call a configurable target with configurable calldata
        once the tokens have moved, the way ERC-777 hooks or a malicious token
        hand control to an attacker in the middle of a protocol's function.
        Strict mode: a failed callback reverts the transfer ("mock: callback
        failed"). Lenient mode: the outcome is recorded and the transfer goes
        on, so a test can show the callback itself was refused.
        A test token, never for production.
@license MIT
@custom:contract-name MockReentrantToken
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
    erc20.balanceOf,
    erc20.allowance,
    erc20.totalSupply,
    erc20.decimals,
    erc20.name,
    erc20.symbol,
    erc20.approve,
)


# Longest callback calldata and longest recorded result, bytes.
MAX_DATA: constant(uint256) = 1024

# Contract called back after every transfer; empty: no callback.
target: public(address)
# Calldata of the callback.
callback: public(Bytes[MAX_DATA])
# True: a failed callback reverts the transfer; False: it is recorded and the transfer goes on.
strict: public(bool)
# Callbacks made so far.
callbacks: public(uint256)
# Whether the last callback succeeded.
last_success: public(bool)
# What the last callback returned, or its revert data.
last_result: public(Bytes[MAX_DATA])


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


@external
def set_callback(target: address, data: Bytes[MAX_DATA], strict: bool):
    """
    @notice Call `target` with `data` after every transfer (an empty target turns the callback off).
    """
    self.target = target
    self.callback = data
    self.strict = strict


@external
def transfer(to: address, amount: uint256) -> bool:
    erc20._transfer(msg.sender, to, amount)
    self._call_back()
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    erc20._spend_allowance(owner, msg.sender, amount)
    erc20._transfer(owner, to, amount)
    self._call_back()
    return True


@internal
def _call_back():
    target: address = self.target
    if target == empty(address):
        return
    success: bool = False
    result: Bytes[MAX_DATA] = b""
    success, result = raw_call(target, self.callback, max_outsize=MAX_DATA, revert_on_failure=False)
    assert success or not self.strict, "mock: callback failed"
    self.callbacks += 1
    self.last_success = success
    self.last_result = result
