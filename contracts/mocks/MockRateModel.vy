# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title Rate model quoting whatever the test sets, whatever the utilisation
@notice Lets tests reach the vault's clamp on the borrow rate and its check of a new model.
@license MIT
@custom:contract-name MockRateModel
"""

# Annual borrow rate quoted at every utilisation, WAD.
rate: public(uint256)


@deploy
def __init__(rate: uint256):
    self.rate = rate


@external
def set_rate(rate: uint256):
    self.rate = rate


@external
@view
def borrow_rate(utilisation: uint256) -> uint256:
    return self.rate
