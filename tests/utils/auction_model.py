"""Python model of the DutchAuction's price curve and take arithmetic.

`contract_*` functions replay the contract's integer formulas, rounding included, so tests can pin views to the
last wei; `exact_price` is the curve in rational arithmetic, which the contract's price must never undercut.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

WAD = 10**18


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def mul_div(x: int, y: int, denominator: int, round_up: bool) -> int:
    return ceil_div(x * y, denominator) if round_up else x * y // denominator


def wpow_up(x: int, n: int) -> int:
    """x**n for a WAD x by squaring, every product rounded up: the contract's `_wpow_up`."""
    result, base = WAD, x
    while n:
        if n & 1:
            result = ceil_div(result * base, WAD)
        n >>= 1
        if n:
            base = ceil_div(base * base, WAD)
    return result


@dataclass(frozen=True)
class Curve:
    cut: int
    step: int
    floor: int

    def price(self, top: int, elapsed: int) -> int:
        """The contract's `_price`: top * cut^(elapsed // step), at least floor * top, rounded up."""
        stepped = mul_div(top, wpow_up(self.cut, elapsed // self.step), WAD, True)
        return max(stepped, mul_div(top, self.floor, WAD, True))

    def exact_price(self, top: int, elapsed: int) -> Fraction:
        """The curve with no rounding at all."""
        stepped = Fraction(top) * Fraction(self.cut, WAD) ** (elapsed // self.step)
        return max(stepped, Fraction(top * self.floor, WAD))


def contract_take(
    price: int, amount: int, tab: int, lot: int, dust: int, base_decimals: int, collateral_decimals: int
) -> tuple[int, int]:
    """(bought, owe) of `take`, as the contract rounds; raises ValueError where the contract reverts."""
    num, den = price * 10**base_decimals, 10**collateral_decimals * WAD
    bought = min(lot, amount)
    owe = mul_div(bought, num, den, True)
    if owe > tab:
        owe = tab
        bought = mul_div(owe, den, num, False)
    elif owe < tab and bought < lot and tab - owe < dust:
        if tab <= dust:
            raise ValueError("auction: no partial purchase")
        owe = tab - dust
        bought = mul_div(owe, den, num, False)
    return bought, owe
