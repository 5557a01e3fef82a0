# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title Mock fee-on-transfer ERC-20
@notice Burns 1% of every transfer, like the deflationary tokens that break
        naive accounting: the vault and the queue must refuse it.
@license MIT
@custom:contract-name MockFeeToken
"""

from ethereum.ercs import IERC20

implements: IERC20

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
# Holder -> balance, token units.
balanceOf: public(HashMap[address, uint256])
# Owner -> spender -> allowance, token units.
allowance: public(HashMap[address, HashMap[address, uint256]])
# Σ balances, token units.
totalSupply: public(uint256)

# 1% of every transfer is burned.
FEE_BPS: constant(uint256) = 100


@deploy
def __init__(decimals_: uint8):
    decimals = decimals_


@external
def mint(to: address, amount: uint256):
    self.balanceOf[to] += amount
    self.totalSupply += amount
    log Transfer(sender=empty(address), receiver=to, value=amount)


@external
def transfer(receiver: address, amount: uint256) -> bool:
    self._transfer(msg.sender, receiver, amount)
    return True


@external
def transferFrom(sender: address, receiver: address, amount: uint256) -> bool:
    assert self.allowance[sender][msg.sender] >= amount, "mock: allowance"
    self.allowance[sender][msg.sender] -= amount
    self._transfer(sender, receiver, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@internal
def _transfer(sender: address, receiver: address, amount: uint256):
    assert self.balanceOf[sender] >= amount, "mock: balance"
    fee: uint256 = amount * FEE_BPS // 10_000
    self.balanceOf[sender] -= amount
    self.balanceOf[receiver] += amount - fee
    self.totalSupply -= fee
    log Transfer(sender=sender, receiver=receiver, value=amount - fee)
