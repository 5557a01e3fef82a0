# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title Mock ERC-20 with a blocklist
@notice Transfers to or from a blocked account revert, as with USDC's and USDT's
        blacklists: a payment to such an account must not freeze the protocol.
        Anyone may mint and block: a test token, never for production.
@license MIT
@custom:contract-name MockBlockingToken
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed

implements: IERC20
implements: IERC20Detailed

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256

# Token decimals.
decimals: public(immutable(uint8))
# Token name and symbol.
name: public(String[25])
symbol: public(String[5])
# Holder -> balance, token units.
balanceOf: public(HashMap[address, uint256])
# Owner -> spender -> allowance, token units.
allowance: public(HashMap[address, HashMap[address, uint256]])
# Σ balances, token units.
totalSupply: public(uint256)
# Account -> whether transfers to or from it revert.
blocked: public(HashMap[address, bool])


@deploy
def __init__(name_: String[25], symbol_: String[5], decimals_: uint8):
    assert decimals_ <= 18, "mock: decimals above 18"
    decimals = decimals_
    self.name = name_
    self.symbol = symbol_


@external
def mint(to: address, amount: uint256):
    assert to != empty(address), "mock: mint to zero address"
    self.balanceOf[to] += amount
    self.totalSupply += amount
    log Transfer(sender=empty(address), receiver=to, value=amount)


@external
def set_blocked(account: address, flag: bool):
    self.blocked[account] = flag


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@external
def transfer(receiver: address, amount: uint256) -> bool:
    self._transfer(msg.sender, receiver, amount)
    return True


@external
def transferFrom(owner: address, receiver: address, amount: uint256) -> bool:
    allowed: uint256 = self.allowance[owner][msg.sender]
    if allowed != max_value(uint256):
        assert allowed >= amount, "mock: allowance exceeded"
        self.allowance[owner][msg.sender] = allowed - amount
    self._transfer(owner, receiver, amount)
    return True


@internal
def _transfer(owner: address, receiver: address, amount: uint256):
    assert not self.blocked[owner] and not self.blocked[receiver], "mock: blocked"
    assert self.balanceOf[owner] >= amount, "mock: balance exceeded"
    self.balanceOf[owner] -= amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=owner, receiver=receiver, value=amount)
